"""The Dockerfile and the service files: no Docker engine runs here, so check that everything they
refer to exists and that they follow the same install path as `make`."""

import re
import shlex
from pathlib import Path

from services.common import exit_codes

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(keyword: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [
        line.split(None, 1)[1]
        for line in joined.splitlines()
        if line.strip().upper().startswith(keyword + " ")
    ]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, flags=re.M))


def test_every_copied_path_exists():
    sources = []
    for args in instructions("COPY"):
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        sources += parts[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source


def test_copied_files_cover_what_make_install_needs():
    copied = {p for args in instructions("COPY") for p in shlex.split(args)}
    for needed in ("requirements.txt", "pyproject.toml", "package-lock.json", "Makefile", "tools"):
        assert needed in copied or f"./{needed}" in copied, needed


def test_install_uses_the_makefile_targets():
    used = {
        match
        for run in instructions("RUN")
        for match in re.findall(r"(?:^|&&|;)\s*make\s+([\w.-]+)", run)
    }
    assert used, "the image installs with make"
    assert used <= makefile_targets()


def test_runs_as_a_non_root_user():
    users = instructions("USER")
    assert users and users[-1] not in {"root", "0"}


def test_entrypoint_is_the_watcher_script():
    entrypoint = instructions("ENTRYPOINT")[0]
    assert '"watcher"' in entrypoint
    assert (ROOT / "scripts" / "watcher.py").is_file()


def test_settings_are_not_baked_into_the_image():
    """Neither secrets nor defaults go in ENV: `docker run --env-file .env` with an empty
    `NAME=` line would override an image default (it did, for the ledger path)."""
    env = " ".join(instructions("ENV"))
    for setting in ("ETHERSCAN_", "SPHERON_", "DAO_", "DEPLOYBOT_"):
        assert setting not in env


def test_the_ledger_and_ape_data_live_on_the_volume():
    """The bot's home is the volume, so its default ledger location survives a new container."""
    (useradd,) = [run for run in instructions("RUN") if "useradd" in run]
    assert "--home-dir /data" in useradd and "--create-home" in useradd
    volume_in_recipe = re.search(r"-v \S+:/data", DOCKERFILE)
    assert volume_in_recipe, "the documented docker run mounts a volume on /data"


def test_the_status_server_is_reachable_from_outside_the_container():
    entrypoint = instructions("ENTRYPOINT")[0]
    assert '"--status-host", "0.0.0.0"' in entrypoint
    assert "EXPOSE 9464" in DOCKERFILE


def test_systemd_does_not_restart_a_configuration_error():
    unit = (ROOT / "deploy" / "spheron-dao-watcher.service").read_text()
    assert re.search(rf"^RestartPreventExitStatus={exit_codes.CONFIG}$", unit, flags=re.M)
    assert re.search(r"^Restart=on-failure$", unit, flags=re.M)
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, flags=re.M).group(1))
    assert stop >= 10  # the bot stops within about two seconds


def test_optional_settings_in_the_env_example_are_never_empty_assignments():
    """An uncommented `NAME=` line for a setting with a default would be copied into .env as is;
    empty values are ignored, but the example shows the defaults commented out instead."""
    text = (ROOT / ".env.example").read_text()
    active_empty = re.findall(r"^([A-Z][A-Z0-9_]+)=$", text, flags=re.M)
    required = {
        "WEB3_INFURA_PROJECT_ID",
        "DAO_CONTRACT_ADDRESS",
        "NFT_CONTRACT_ADDRESS",
        "ETHERSCAN_API_KEY",
        "SPHERON_ACCESS_TOKEN",
    }
    assert set(active_empty) <= required


def test_service_files_run_the_watcher():
    unit = (ROOT / "deploy" / "spheron-dao-watcher.service").read_text()
    assert "ape run watcher" in unit
    assert "EnvironmentFile=" in unit
    cron = (ROOT / "deploy" / "crontab").read_text()
    assert "ape run watcher" in cron and "--once" in cron


def test_every_env_example_variable_is_documented_once():
    text = (ROOT / ".env.example").read_text()
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M)
    assert len(names) == len(set(names))
    for required in (
        "DAO_CONTRACT_ADDRESS",
        "ETHERSCAN_API_KEY",
        "ETHERSCAN_API_URL",
        "SPHERON_ACCESS_TOKEN",
        "SPHERON_API_URL",
        "DEPLOYBOT_DB",
        "DEPLOYBOT_POLICY",
        "DEPLOYBOT_DEPLOY_TIMEOUT",
        "DEPLOYBOT_INFLIGHT_MARGIN",
        "DEPLOYBOT_STATUS_HOST",
        "SPHERON_TIMEOUT",
        "WEB3_INFURA_PROJECT_ID",
        "APE_DATA_FOLDER",
    ):
        assert required in names, required


def test_every_bot_setting_is_in_the_env_example():
    from services.bot.settings import BotSettings

    text = (ROOT / ".env.example").read_text()
    for field in BotSettings.model_fields.values():
        assert re.search(rf"^#?\s*{field.validation_alias}=", text, flags=re.M), field
