"""Logging for the deploy bot: one line per event, and no secret ever printed.

Secrets are kept out of messages by construction (tokens are `SecretStr`, clients mask keys); the
`RedactingFilter` (see `services.common.redaction`) is the second line of defence: it masks any
known secret, and credentials in URLs, that still reach a log record — the bot's own and those of
the libraries under it (Ape, web3, requests).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from services.common.redaction import RedactingFilter

#: Loggers whose records reach the bot's stderr through a redacting handler.
_LOGGERS = ("services", "ape", "web3", "urllib3", "requests", "sqlalchemy", "psycopg")


def configure_logging(secrets: Iterable[str], *, verbose: bool = False) -> None:
    """Send the bot's log lines to stderr, redacted, at INFO (DEBUG with `verbose`).

    The libraries' loggers keep their levels but write through the same redacting handler.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    redacting = RedactingFilter(secrets)
    handler.addFilter(redacting)
    for name in _LOGGERS:
        library = logging.getLogger(name)
        for existing in library.handlers:
            existing.addFilter(redacting)
    root = logging.getLogger("services")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    for existing in logging.getLogger().handlers:
        existing.addFilter(redacting)
