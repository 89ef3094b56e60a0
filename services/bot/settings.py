"""The deploy bot's settings: one object, read from the environment (and `.env`) at start.

Every variable is documented in `.env.example`. A missing or invalid setting stops the bot before it
does anything, with one line naming the variable (`SettingsError`, exit code 78). An empty variable
counts as unset, so `DEPLOYBOT_DB=` in an env file never overrides a default. Secrets are
`SecretStr`, so they never show in a repr, a log line or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.bot.deployer import DEFAULT_INFLIGHT_MARGIN_S, DEFAULT_LEASE_S
from services.bot.ledger_store import LedgerConfigurationError, LedgerLocation
from services.bot.notify import NotifySettingError, Sink, parse_sinks
from services.chain.etherscan import MAX_PAGE_SIZE
from services.common.errors import ConfigurationError
from services.common.redaction import environment_secrets
from services.targets.spheron import DEFAULT_BASE_URL as DEFAULT_SPHERON_API_URL
from services.targets.spheron import DEFAULT_TIMEOUT_S as DEFAULT_SPHERON_TIMEOUT_S

DEFAULT_ETHERSCAN_API_URL = "https://api.etherscan.io/v2/api"


class SettingsError(ConfigurationError, ValueError):
    """A setting is missing or invalid; the message names it and says what is expected."""


class BotSettings(BaseSettings):
    """Environment settings of `ape run watcher` (variable names as in `.env.example`)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True)

    dao_contract_address: str | None = Field(None, validation_alias="DAO_CONTRACT_ADDRESS")
    """The DAO to watch; else the `deployments:` entry of ape-config.yaml for the network."""

    etherscan_api_key: SecretStr | None = Field(None, validation_alias="ETHERSCAN_API_KEY")
    """Etherscan API key; required with `--source etherscan`."""

    etherscan_api_url: AnyHttpUrl = Field(
        AnyHttpUrl(DEFAULT_ETHERSCAN_API_URL), validation_alias="ETHERSCAN_API_URL"
    )
    """Etherscan V2 endpoint (the V1 hosts are dead)."""

    etherscan_calls_per_second: float = Field(
        3.0, gt=0, le=100, validation_alias="ETHERSCAN_CALLS_PER_SECOND"
    )
    """Client-side rate limit; the free tier allows 3 calls per second."""

    etherscan_page_size: int = Field(
        MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, validation_alias="ETHERSCAN_PAGE_SIZE"
    )
    """Records per getLogs call (1,000 at most on the free tier)."""

    spheron_access_token: SecretStr | None = Field(None, validation_alias="SPHERON_ACCESS_TOKEN")
    """Compute-scoped token of exactly one Spheron organisation; required unless `--dry-run`."""

    spheron_api_url: AnyHttpUrl = Field(
        AnyHttpUrl(DEFAULT_SPHERON_API_URL), validation_alias="SPHERON_API_URL"
    )
    """Spheron Compute API base URL (the hosted service was discontinued in 2025)."""

    spheron_timeout_s: float = Field(
        DEFAULT_SPHERON_TIMEOUT_S, gt=0, le=600, validation_alias="SPHERON_TIMEOUT"
    )
    """Seconds the client waits for Spheron (to connect, and for each read) before giving up."""

    deploybot_inflight_margin_s: float = Field(
        DEFAULT_INFLIGHT_MARGIN_S, ge=0, le=3600, validation_alias="DEPLOYBOT_INFLIGHT_MARGIN"
    )
    """Seconds after the client gave up on a create during which Spheron is assumed to possibly
    still complete it; a create that may be in flight is looked up only after
    `SPHERON_TIMEOUT` + this margin."""

    deploybot_db: str | None = Field(None, validation_alias="DEPLOYBOT_DB")
    """The ledger: a SQLite file path (default
    `~/.spheron-dao-deploy/ledger-<chain id>-<dao>.sqlite3`), or
    `postgresql://user@host:port/database` for PostgreSQL (several replicas)."""

    deploybot_lease_s: float = Field(
        DEFAULT_LEASE_S, ge=1, le=3600, validation_alias="DEPLOYBOT_LEASE"
    )
    """Replicas on PostgreSQL: seconds a replica's claim on a ledger row lasts unless renewed,
    and within which the database notices a leader whose host vanished. A replica that dies
    leaves its rows to the others after this long."""

    deploybot_policy: Path | None = Field(None, validation_alias="DEPLOYBOT_POLICY")
    """Policy file (YAML or JSON) limiting what may be deployed; default limits when unset."""

    deploybot_cors_origins: str | None = Field(None, validation_alias="DEPLOYBOT_CORS_ORIGINS")
    """Comma-separated origins of web pages (the members' web app) that may read the status
    server from a browser; none when unset."""

    deploybot_deploy_timeout_s: float = Field(
        900.0, gt=0, validation_alias="DEPLOYBOT_DEPLOY_TIMEOUT"
    )
    """Seconds to follow a deployment before recording it as failed (timed out), counted from
    the time Spheron accepted it (stored in the ledger, so restarts do not reset it)."""

    deploybot_notify: SecretStr | None = Field(None, validation_alias="DEPLOYBOT_NOTIFY")
    """Notification webhooks, `FORMAT:URL,...` with FORMAT json, slack or discord (see
    `services.bot.notify`). Webhook URLs are credentials: never logged."""

    deploybot_drift_interval_s: float = Field(
        600.0, ge=1, validation_alias="DEPLOYBOT_DRIFT_INTERVAL"
    )
    """Seconds between two comparisons of every live instance with its voted state."""

    deploybot_status_host: str = Field("127.0.0.1", validation_alias="DEPLOYBOT_STATUS_HOST")
    """Address the status server binds (`--status-host`); 0.0.0.0 to serve other hosts."""

    @field_validator("deploybot_db")
    @classmethod
    def _ledger_location_is_valid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                LedgerLocation.parse(value)
            except LedgerConfigurationError as error:
                raise ValueError(str(error)) from None
        return value

    @field_validator("deploybot_policy")
    @classmethod
    def _policy_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    def secret_values(self) -> list[str]:
        """Every secret this object holds, for log redaction (a password in `DEPLOYBOT_DB` too)."""
        secrets = (self.etherscan_api_key, self.spheron_access_token)
        values = [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]
        if self.deploybot_db and (password := LedgerLocation.parse(self.deploybot_db).password):
            values.append(password)
        return values + [sink.url for sink in self.notify_sinks()]

    def notify_sinks(self) -> list[Sink]:
        """The notification sinks of `DEPLOYBOT_NOTIFY` (a `SettingsError` if it is malformed)."""
        if self.deploybot_notify is None:
            return []
        try:
            return parse_sinks(self.deploybot_notify.get_secret_value())
        except NotifySettingError as error:
            raise SettingsError(str(error)) from None

    def redaction_secrets(self, environ: Mapping[str, str]) -> list[str]:
        """What the bot's logs must never show: its own secrets and every secret-looking variable
        of its environment (the Infura key, `DAO_SECRET_*` values, ...)."""
        return [*self.secret_values(), *environment_secrets(environ)]


def load_settings() -> BotSettings:
    """Read the settings from the environment, or raise `SettingsError` naming the variable."""
    try:
        return BotSettings()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            variable = ".".join(str(part) for part in item["loc"]) or "settings"
            problems.append(f"{variable}: {item['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None


def require(value: SecretStr | None, variable: str, why: str) -> str:
    """The secret's value, or `SettingsError` saying which variable to set and why."""
    if value is None or not value.get_secret_value().strip():
        raise SettingsError(f"{variable} is not set: {why}")
    return value.get_secret_value().strip()
