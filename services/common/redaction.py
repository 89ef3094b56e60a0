"""Keeping secrets out of everything the project prints: the bot's log lines and the scripts'
error lines go through the same rules.

A secret is masked wherever it appears:
- every value the caller knows to be secret (the bot's tokens and keys, `DAO_SECRET_*` values);
- the value of every environment variable whose name says it holds one (`*KEY*`, `*TOKEN*`,
  `*SECRET*`, `*PASSWORD*`, `*PASSPHRASE*`, `*MNEMONIC*`, `*PROJECT_ID*`, `DAO_SECRET_*`);
- credentials inside URLs, whatever their source: Infura and Alchemy keys in the path, Slack and
  Discord webhook paths, a password in `user:password@host`, and `apikey`/`api_key`/`key`/`token`
  query parameters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

#: The bot reads a spec's ``${secret:NAME}`` from its environment variable ``DAO_SECRET_NAME``.
SECRET_ENV_PREFIX = "DAO_SECRET_"
MASK = "***"
#: Values shorter than this are not masked: masking "1" or "ab" everywhere would ruin the text.
MIN_SECRET_CHARS = 4

_SECRET_NAME_RE = re.compile(
    r"(KEY|SECRET|TOKEN|PASSPHRASE|PASSWORD|MNEMONIC|PROJECT_ID)", re.IGNORECASE
)
_URL_SECRETS = (
    re.compile(r"(infura\.io/v3/)[0-9A-Za-z]+"),
    re.compile(r"(alchemy\.com/v2/)[0-9A-Za-z_-]+"),
    re.compile(r"(hooks\.slack\.com/services/)[^\s'\"]+"),
    re.compile(r"(discord(?:app)?\.com/api/webhooks/)[^\s'\"]+"),
    re.compile(r"(://[^/\s:@]+:)[^/\s@]+(?=@)"),
    re.compile(r"([?&](?:apikey|api_key|key|token|access_token)=)[^&\s'\"]+", re.IGNORECASE),
)


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of the environment variables whose names say they hold a secret."""
    return [
        value
        for name, value in environ.items()
        if value and (name.startswith(SECRET_ENV_PREFIX) or _SECRET_NAME_RE.search(name))
    ]


class Redactor:
    """Masks a fixed set of secret values, and credentials in URLs, in any text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}
        self._secrets = sorted(values, key=len, reverse=True)  # longer ones before prefixes

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        for pattern in _URL_SECRETS:
            text = pattern.sub(r"\g<1>" + MASK, text)
        return text


def redact(text: str, environ: Mapping[str, str]) -> str:
    """`text` without the secrets of `environ` or credentials in URLs."""
    return Redactor(environment_secrets(environ))(text)


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in each record's final message and traceback."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self._redact(record.getMessage()), None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True
