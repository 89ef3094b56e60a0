"""BotSettings: one object from the environment; clear errors; secrets never shown."""

import pytest

from services.bot.settings import (
    DEFAULT_ETHERSCAN_API_URL,
    SettingsError,
    load_settings,
    require,
)

VARIABLES = (
    "DAO_CONTRACT_ADDRESS",
    "ETHERSCAN_API_KEY",
    "ETHERSCAN_API_URL",
    "ETHERSCAN_CALLS_PER_SECOND",
    "ETHERSCAN_PAGE_SIZE",
    "SPHERON_ACCESS_TOKEN",
    "SPHERON_API_URL",
    "DEPLOYBOT_DB",
    "DEPLOYBOT_POLICY",
    "DEPLOYBOT_DEPLOY_TIMEOUT",
    "DEPLOYBOT_INFLIGHT_MARGIN",
    "DEPLOYBOT_STATUS_HOST",
    "SPHERON_TIMEOUT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_environment):
    settings = load_settings()
    assert str(settings.etherscan_api_url) == DEFAULT_ETHERSCAN_API_URL
    assert str(settings.spheron_api_url).startswith("https://api-v2.spheron.network")
    assert settings.etherscan_calls_per_second == 3
    assert settings.etherscan_page_size == 1000
    assert settings.deploybot_db is None
    assert settings.secret_values() == []


def test_values_come_from_the_documented_variables(clean_environment, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("max_replicas: 2\n")
    clean_environment.setenv("ETHERSCAN_API_KEY", "key-123456")
    clean_environment.setenv("SPHERON_ACCESS_TOKEN", "tok-abcdef")
    clean_environment.setenv("ETHERSCAN_CALLS_PER_SECOND", "2.5")
    clean_environment.setenv("DEPLOYBOT_DB", str(tmp_path / "l.sqlite3"))
    clean_environment.setenv("DEPLOYBOT_POLICY", str(policy))
    settings = load_settings()
    assert settings.etherscan_calls_per_second == 2.5
    assert settings.deploybot_policy == policy
    assert sorted(settings.secret_values()) == ["key-123456", "tok-abcdef"]
    assert "key-123456" not in repr(settings)
    assert "tok-abcdef" not in repr(settings)


def test_empty_values_from_an_env_file_count_as_unset(clean_environment):
    clean_environment.setenv("DEPLOYBOT_DB", "")
    clean_environment.setenv("DAO_CONTRACT_ADDRESS", "")
    settings = load_settings()
    assert settings.deploybot_db is None
    assert settings.dao_contract_address is None


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("ETHERSCAN_API_URL", "not a url", "ETHERSCAN_API_URL"),
        ("ETHERSCAN_CALLS_PER_SECOND", "0", "ETHERSCAN_CALLS_PER_SECOND"),
        ("ETHERSCAN_PAGE_SIZE", "5000", "ETHERSCAN_PAGE_SIZE"),
        ("DEPLOYBOT_POLICY", "/nonexistent/policy.yaml", "no such file"),
        ("DEPLOYBOT_DEPLOY_TIMEOUT", "-1", "DEPLOYBOT_DEPLOY_TIMEOUT"),
    ],
)
def test_invalid_setting_is_one_line_naming_the_variable(
    clean_environment, variable, value, expected
):
    clean_environment.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert expected in message
    assert variable in message
    assert "\n" not in message


def test_require_names_the_missing_variable(clean_environment):
    settings = load_settings()
    with pytest.raises(SettingsError, match="SPHERON_ACCESS_TOKEN is not set: needed"):
        require(settings.spheron_access_token, "SPHERON_ACCESS_TOKEN", "needed")


def test_an_empty_variable_never_overrides_a_default(clean_environment):
    for name in ("DEPLOYBOT_DB", "DEPLOYBOT_STATUS_HOST", "SPHERON_TIMEOUT", "ETHERSCAN_API_URL"):
        clean_environment.setenv(name, "")
    settings = load_settings()
    assert settings.deploybot_db is None
    assert settings.deploybot_status_host == "127.0.0.1"
    assert settings.spheron_timeout_s == 30
    assert str(settings.etherscan_api_url) == DEFAULT_ETHERSCAN_API_URL


def test_redaction_covers_the_bot_s_secrets_and_secret_looking_variables(clean_environment):
    clean_environment.setenv("SPHERON_ACCESS_TOKEN", "tok-abcdef")
    environ = {"WEB3_INFURA_PROJECT_ID": "infura-123", "DAO_SECRET_X": "xsecret", "HOME": "/h"}
    secrets = load_settings().redaction_secrets(environ)
    assert {"tok-abcdef", "infura-123", "xsecret"} <= set(secrets)
    assert "/h" not in secrets


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("mysql://bot@db:3306/ledger", "unsupported ledger URL scheme 'mysql'"),
        ("postgresql://bot:pw-Zk31@db:notaport/ledger", "not a valid PostgreSQL URL"),
        ("postgresql://bot@db:5432", "names no database"),
    ],
)
def test_a_malformed_ledger_url_is_one_clear_error_without_its_password(
    clean_environment, value, problem
):
    clean_environment.setenv("DEPLOYBOT_DB", value)
    with pytest.raises(SettingsError, match="DEPLOYBOT_DB") as refused:
        load_settings()
    assert problem in str(refused.value)
    assert "pw-Zk31" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_ledger_url_selects_postgresql_and_its_password_is_redacted(clean_environment):
    clean_environment.setenv("DEPLOYBOT_DB", "postgresql://bot:pw-Zk31@db.example:5432/ledger")
    settings = load_settings()
    assert settings.deploybot_db == "postgresql://bot:pw-Zk31@db.example:5432/ledger"
    assert "pw-Zk31" in settings.redaction_secrets({})
    clean_environment.setenv("DEPLOYBOT_DB", "/var/lib/bot/ledger.sqlite3")
    assert load_settings().redaction_secrets({}) == []
