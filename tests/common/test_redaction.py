"""Redaction: no known secret, and no credential in a URL, reaches a log line or an error line."""

import io
import logging

import pytest

from services.bot.log_setup import configure_logging
from services.common.redaction import MASK, RedactingFilter, Redactor, environment_secrets, redact


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


def test_environment_secrets_are_the_secret_looking_variables_and_dao_secrets():
    environ = {
        "DAO_SECRET_DB": "pw-1",
        "PATH": "/bin",
        "DAO_SECRET_API": "k-2",
        "WEB3_INFURA_PROJECT_ID": "infura-id",
        "APE_ACCOUNTS_alice_PASSPHRASE": "horse",
        "SPHERON_ACCESS_TOKEN": "tok",
        "DEPLOYBOT_DB": "/data/l.sqlite3",
        "EMPTY_KEY": "",
    }
    assert sorted(environment_secrets(environ)) == ["horse", "infura-id", "k-2", "pw-1", "tok"]


def test_redact_masks_secret_values_and_infura_keys():
    environ = {
        "WEB3_INFURA_PROJECT_ID": "0123456789abcdef0123456789abcdef",
        "APE_ACCOUNTS_alice_PASSPHRASE": "correct horse battery",
        "ETHERSCAN_API_KEY": "SCANKEY123456",
        "SHORT_KEY": "abc",
        "HOME": "/root",
    }
    text = (
        "failed: https://sepolia.infura.io/v3/0123456789abcdef0123456789abcdef; passphrase "
        "correct horse battery; key SCANKEY123456; https://mainnet.infura.io/v3/ffff0000; abc /root"
    )
    assert redact(text, environ) == (
        "failed: https://sepolia.infura.io/v3/***; passphrase ***; key ***; "
        "https://mainnet.infura.io/v3/***; abc /root"
    )


def test_credentials_in_any_url_are_masked_even_when_unknown():
    redactor = Redactor([])
    text = (
        "GET https://eth-sepolia.g.alchemy.com/v2/AbC-123_x failed; "
        "postgresql://bot:s3cret-pw@db:5432/ledger down; "
        "https://api.etherscan.io/v2/api?chainid=1&apikey=KEY999&module=logs; "
        "https://h.example/x?token=t0k&x=1"
    )
    assert redactor(text) == (
        "GET https://eth-sepolia.g.alchemy.com/v2/*** failed; "
        "postgresql://bot:***@db:5432/ledger down; "
        "https://api.etherscan.io/v2/api?chainid=1&apikey=***&module=logs; "
        "https://h.example/x?token=***&x=1"
    )


@pytest.fixture
def restore_logging():
    """configure_logging changes process-wide loggers: put them back for the other tests."""
    names = ["", "services", "ape", "web3", "urllib3", "requests"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (
            list(logger.handlers),
            {id(h): list(h.filters) for h in logger.handlers},
            logger.level,
            logger.propagate,
        )
    yield
    for name, (handlers, filters, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        for handler in handlers:
            handler.filters[:] = filters[id(handler)]
        logger.setLevel(level)
        logger.propagate = propagate


def test_the_bot_logging_masks_library_records_too(restore_logging):
    """An RPC error logged by web3 or Ape (through the root logger) is masked as well."""
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        configure_logging(["infura-key-0123456789"], verbose=False)
        ours = io.StringIO()
        logging.getLogger("services").handlers[0].setStream(ours)
        logging.getLogger("web3.providers").warning(
            "request to https://sepolia.infura.io/v3/infura-key-0123456789 failed"
        )
        logging.getLogger("services.bot.watcher").info("key infura-key-0123456789 in a message")
        library = handler.stream.getvalue()
    finally:
        root.removeHandler(handler)
    ours = ours.getvalue()
    assert "infura-key-0123456789" not in library + ours
    assert "sepolia.infura.io/v3/***" in library
    assert f"key {MASK} in a message" in ours
