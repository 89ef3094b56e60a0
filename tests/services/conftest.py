"""Fixtures for the service tests: `cleanup`, the Etherscan stand-in (`etherscan_...`) and the
Spheron client and emulator (`spheron_...`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from typing import Any

import pytest

from services.emulators.etherscan import EtherscanStandIn, LogSource
from services.emulators.spheron import SpheronEmulator
from services.spheron import SpheronClient, SpheronTarget
from tests.services.helpers import CHAIN_ID

# Distinctive, so that a leak into a message or a repr is easy to detect.
_SPHERON_TEST_TOKEN = "spheron-test-token-Zq8v3K"


@pytest.fixture
def spheron_token() -> str:
    return _SPHERON_TEST_TOKEN


@pytest.fixture
def cleanup() -> Iterator[ExitStack]:
    """Factories enter what they start or open here; all of it is stopped or closed at teardown."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def etherscan_standin_factory(cleanup: ExitStack) -> Callable[..., EtherscanStandIn]:
    """Start Etherscan stand-ins on loopback (chain id `CHAIN_ID` by default) over a log source."""

    def start(log_source: LogSource, **options: Any) -> EtherscanStandIn:
        options.setdefault("chain_id", CHAIN_ID)
        return cleanup.enter_context(EtherscanStandIn(log_source=log_source, **options))

    return start


@pytest.fixture
def spheron_emulator_factory(
    spheron_token: str, cleanup: ExitStack
) -> Callable[..., SpheronEmulator]:
    """Start emulators on loopback (tiny delays by default); all are stopped at teardown."""

    def start(**options: Any) -> SpheronEmulator:
        options.setdefault("token", spheron_token)
        options.setdefault("queued_s", 0.01)
        options.setdefault("pending_s", 0.01)
        return cleanup.enter_context(SpheronEmulator(**options))

    return start


@pytest.fixture
def spheron_emulator(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
) -> SpheronEmulator:
    return spheron_emulator_factory(fail_images=["example/always-fails"])


@pytest.fixture
def spheron_client_factory(spheron_token: str, cleanup: ExitStack) -> Callable[..., SpheronClient]:
    """Clients for an emulator, with fast retries by default; all are closed at teardown."""

    def make(emulator: SpheronEmulator, **options: Any) -> SpheronClient:
        token = options.pop("token", spheron_token)
        options.setdefault("timeout_s", 2)
        options.setdefault("max_retries", 3)
        options.setdefault("backoff_s", 0.001)
        return cleanup.enter_context(closing(SpheronClient(emulator.url, token, **options)))

    return make


@pytest.fixture
def spheron_client(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> SpheronClient:
    return spheron_client_factory(spheron_emulator)


@pytest.fixture
def spheron_target(spheron_client: SpheronClient) -> SpheronTarget:
    return SpheronTarget(spheron_client)
