"""The BankID simulator as a real HTTP server on a free loopback port, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from portal.bankid.client import BankIDClient
from portal.bankid.simulator import SimulatorServer
from tests.bankid_sim import running_simulator


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator() as server:
        yield server


@pytest.fixture
def api_url(simulator: SimulatorServer) -> str:
    return simulator.base_url + "/rp/v6.0/"


@pytest.fixture
def client(api_url: str) -> Iterator[BankIDClient]:
    with BankIDClient(api_url, attempts=3, retry_pause=0, read_timeout=5) as bankid:
        yield bankid
