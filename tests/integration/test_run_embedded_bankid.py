"""`make run` with PORTAL_BANKID_URL on the simulator's loopback address (as the Makefile sets it):
run_embedded starts the BankID simulator as one more supervised child, the login page offers
BankID, and SIGTERM stops the simulator with the rest."""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
import urllib.request

import pytest

from tests.integration import harness
from tests.integration.test_run_embedded import STARTED, _alive, _answers, start_run_embedded

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_run_embedded_runs_the_bankid_simulator(database_url: str) -> None:
    port, sim_port = harness.free_port(), harness.free_port()
    var_dir = tempfile.mkdtemp(prefix="run-embedded-bankid-")
    process, log = start_run_embedded(
        database_url, port, var_dir, PORTAL_BANKID_URL=f"http://127.0.0.1:{sim_port}/rp/v6.0/"
    )

    login = f"http://127.0.0.1:{port}/accounts/login/"
    try:
        assert harness.wait_for(lambda: _answers(login) or process.poll() is not None, 60), log()
        assert harness.wait_for(lambda: _answers(f"http://127.0.0.1:{sim_port}/"), 30), log()
        assert harness.wait_for(lambda: "Log in with BankID: approve" in log(), 30), log()
        assert f"http://127.0.0.1:{sim_port}/" in log() and "karin@kund.example" in log()
        with urllib.request.urlopen(login, timeout=5) as response:
            page = response.read().decode()
        assert 'name="flow" value="qr"' in page
        assert "started bankid simulator" in log()

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0, log()
        pids = [int(pid) for _, pid in STARTED.findall(log())]
        simulator_pids = [int(p) for p in re.findall(r"started bankid simulator \(pid (\d+)\)", log())]
        assert simulator_pids and not [pid for pid in pids + simulator_pids if _alive(pid)], log()
        assert not _answers(f"http://127.0.0.1:{sim_port}/")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(var_dir, ignore_errors=True)
