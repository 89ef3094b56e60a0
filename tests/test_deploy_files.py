"""The Dockerfile and the service files: no Docker engine runs here, so check that everything they
refer to exists and that they follow the same install path as `make`."""

import re
import shlex
from pathlib import Path

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
    env = " ".join(instructions("ENV"))
    for secret in ("ETHERSCAN_API_KEY", "SPHERON_ACCESS_TOKEN", "DAO_SECRET_"):
        assert secret not in env


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
        "WEB3_INFURA_PROJECT_ID",
    ):
        assert required in names, required
