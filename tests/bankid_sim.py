"""The BankID simulator for tests: started as a real HTTP server on a free loopback port, and
driven as a person would, through the forms on its page standing in for the BankID app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from portal.bankid.simulator import Simulator, SimulatorServer, start_in_thread


@contextmanager
def running_simulator() -> Iterator[SimulatorServer]:
    server = start_in_thread(simulator=Simulator(expiry_seconds=180))
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def press(server: SimulatorServer, order_ref: str, action: str, **form: str) -> requests.Response:
    """Find the button's form on the simulator's page and post it, as a person would."""
    page = requests.get(server.base_url + "/", timeout=5).text
    actions = re.findall(r'<form method="post" action="([^"]+)"', page)
    wanted = f"/sim/orders/{order_ref}/{action}"
    assert wanted in actions, f"no {action} form for {order_ref} on the page"
    return requests.post(server.base_url + wanted, data=form, allow_redirects=False, timeout=5)


def approve(server: SimulatorServer, order_ref: str, number: str) -> None:
    """Approve the order in the "app" as the test identity `number`."""
    response = press(server, order_ref, "approve", personalNumber=number)
    assert response.status_code == 303, response.text


def scenario(server: SimulatorServer, **body: Any) -> None:
    response = requests.post(server.base_url + "/sim/scenario", json=body, timeout=5)
    assert response.status_code == 200, response.text


def calls(server: SimulatorServer) -> dict[str, int]:
    return dict(requests.get(server.base_url + "/sim/stats", timeout=5).json()["calls"])
