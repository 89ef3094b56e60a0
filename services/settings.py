"""The deploy bot's settings: one object, read from the environment (and `.env`) at start.

Every variable is documented in `.env.example`. A missing or invalid setting stops the bot before it
does anything, with one line naming the variable (`SettingsError`). Secrets are `SecretStr`, so
they never show in a repr, a log line or an error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.etherscan import MAX_PAGE_SIZE
from services.spheron import DEFAULT_BASE_URL as DEFAULT_SPHERON_API_URL

DEFAULT_ETHERSCAN_API_URL = "https://api.etherscan.io/v2/api"

LogSourceName = Literal["etherscan", "rpc"]


class SettingsError(ValueError):
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

    deploybot_db: Path | None = Field(None, validation_alias="DEPLOYBOT_DB")
    """SQLite ledger path; default `~/.spheron-dao-deploy/ledger-<chain id>-<dao>.sqlite3`."""

    deploybot_policy: Path | None = Field(None, validation_alias="DEPLOYBOT_POLICY")
    """Policy file (YAML or JSON) limiting what may be deployed; default limits when unset."""

    deploybot_cors_origins: str | None = Field(None, validation_alias="DEPLOYBOT_CORS_ORIGINS")
    """Comma-separated origins of web pages (the members' web app) that may read the status
    server from a browser; none when unset."""

    deploybot_deploy_timeout_s: float = Field(
        900.0, gt=0, validation_alias="DEPLOYBOT_DEPLOY_TIMEOUT"
    )
    """Seconds to follow a deployment before recording it as failed (timed out)."""

    @field_validator("deploybot_policy")
    @classmethod
    def _policy_file_exists(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    def secret_values(self) -> list[str]:
        """Every secret this object holds, for log redaction."""
        secrets = (self.etherscan_api_key, self.spheron_access_token)
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]


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
