"""Logging for the deploy bot: one line per event, and no secret ever printed.

Secrets are kept out of messages by construction (tokens are `SecretStr`, clients mask keys); the
`RedactingFilter` is the second line of defence: it replaces any known secret value that still
reaches a log record, including in arguments and exception text.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping

from services.spec import SECRET_ENV_PREFIX

MASK = "***"
#: Values shorter than this are not redacted: masking "1" or "ab" everywhere would ruin the logs.
MIN_SECRET_LENGTH = 4


class RedactingFilter(logging.Filter):
    """Replaces every known secret value in a record's final message with `MASK`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(values, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, MASK)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, MASK)
        record.msg, record.args = message, None
        return True


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The values of every `DAO_SECRET_*` variable: what secret references resolve to."""
    return [value for key, value in environ.items() if key.startswith(SECRET_ENV_PREFIX)]


def configure_logging(secrets: Iterable[str], *, verbose: bool = False) -> None:
    """Send the bot's log lines to stderr, redacted, at INFO (DEBUG with `verbose`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger("services")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
