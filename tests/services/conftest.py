"""Fixtures for the Spheron client and emulator tests; every name starts with `spheron_`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.emulators.spheron import SpheronEmulator
from services.spheron import SpheronClient, SpheronTarget

# Distinctive, so that a leak into a message or a repr is easy to detect.
_SPHERON_TEST_TOKEN = "spheron-test-token-Zq8v3K"


@pytest.fixture
def spheron_token() -> str:
    return _SPHERON_TEST_TOKEN


@pytest.fixture
def spheron_emulator_factory(spheron_token: str) -> Iterator[Callable[..., SpheronEmulator]]:
    """Start emulators on loopback (tiny delays by default); all are stopped at teardown."""
    started: list[SpheronEmulator] = []

    def start(**options: Any) -> SpheronEmulator:
        options.setdefault("token", spheron_token)
        options.setdefault("queued_s", 0.01)
        options.setdefault("pending_s", 0.01)
        emulator = SpheronEmulator(**options).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def spheron_emulator(
    spheron_emulator_factory: Callable[..., SpheronEmulator],
) -> SpheronEmulator:
    return spheron_emulator_factory(fail_images=["example/always-fails"])


@pytest.fixture
def spheron_client_factory(spheron_token: str) -> Iterator[Callable[..., SpheronClient]]:
    """Clients for an emulator, with fast retries by default; all are closed at teardown."""
    clients: list[SpheronClient] = []

    def make(emulator: SpheronEmulator, **options: Any) -> SpheronClient:
        token = options.pop("token", spheron_token)
        options.setdefault("timeout_s", 2)
        options.setdefault("max_retries", 3)
        options.setdefault("backoff_s", 0.001)
        client = SpheronClient(emulator.url, token, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def spheron_client(
    spheron_emulator: SpheronEmulator, spheron_client_factory: Callable[..., SpheronClient]
) -> SpheronClient:
    return spheron_client_factory(spheron_emulator)


@pytest.fixture
def spheron_target(spheron_client: SpheronClient) -> SpheronTarget:
    return SpheronTarget(spheron_client)
