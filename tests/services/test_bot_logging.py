"""Log redaction: no known secret reaches a log line, even through arguments or tracebacks."""

import io
import logging

from services.bot_logging import MASK, RedactingFilter, environment_secrets


def make_logger(secrets):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(secrets))
    logger = logging.getLogger(f"test-redaction-{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_secret_in_message_arguments_and_traceback_is_masked():
    logger, stream = make_logger(["tok-SECRET-123", "db-pass-456"])
    logger.info("token %s and %s", "tok-SECRET-123", "db-pass-456")
    try:
        raise RuntimeError("failed with tok-SECRET-123")
    except RuntimeError:
        logger.exception("boom")
    text = stream.getvalue()
    assert "tok-SECRET-123" not in text
    assert "db-pass-456" not in text
    assert text.count(MASK) >= 3
    assert "RuntimeError" in text


def test_longer_secrets_are_masked_before_their_prefixes():
    logger, stream = make_logger(["abcd", "abcdefgh"])
    logger.info("value abcdefgh")
    assert stream.getvalue().strip() == f"value {MASK}"


def test_very_short_values_are_not_treated_as_secrets():
    logger, stream = make_logger(["1", "ab"])
    logger.info("block 1 ab")
    assert stream.getvalue().strip() == "block 1 ab"


def test_environment_secrets_are_the_dao_secret_values():
    environ = {"DAO_SECRET_DB_PASSWORD": "pw-1", "PATH": "/bin", "DAO_SECRET_API": "k-2"}
    assert sorted(environment_secrets(environ)) == ["k-2", "pw-1"]
