"""The BankID simulator as a real HTTP server on a free loopback port, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from signing.bankid.client import BankIDClient
from signing.bankid.simulator import Simulator, SimulatorServer, start_in_thread


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    server = start_in_thread(simulator=Simulator(expiry_seconds=180))
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api_url(simulator: SimulatorServer) -> str:
    return simulator.base_url + "/rp/v6.0/"


@pytest.fixture
def client(api_url: str) -> Iterator[BankIDClient]:
    with BankIDClient(api_url, attempts=3, retry_pause=0, read_timeout=5) as bankid:
        yield bankid


def scenario(server: SimulatorServer, **body: Any) -> None:
    response = requests.post(server.base_url + "/sim/scenario", json=body, timeout=5)
    assert response.status_code == 200, response.text


def calls(server: SimulatorServer) -> dict[str, int]:
    return dict(requests.get(server.base_url + "/sim/stats", timeout=5).json()["calls"])
