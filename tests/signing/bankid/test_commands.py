"""manage.py bankid_check and bankid_simulator, in this process and as real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from portal.bankid.client import BankIDClient
from portal.bankid.simulator import SimulatorServer
from tests.bankid_sim import calls, scenario

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(debug: str = "true") -> dict[str, str]:
    # The portal's own settings, as an operator runs the command (not the test settings).
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DEBUG": debug,
        "PORTAL_LOG_LEVEL": "WARNING",
    }


def _manage(*args: str, debug: str = "true") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_env(debug),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_prints_the_outcome_of_an_approved_order(simulator: SimulatorServer, api_url: str) -> None:
    scenario(simulator, next="complete", personalNumber="")
    out = StringIO()
    call_command("bankid_check", "--url", api_url, "--interval", "0.1", stdout=out)
    text = out.getvalue()
    assert "orderRef: " in text
    assert "pending  userSign" in text
    assert "outcome: complete, Karin Karlsson (198503122387)" in text


def test_check_as_a_process_exits_0_when_approved(simulator: SimulatorServer, api_url: str) -> None:
    scenario(simulator, next="complete")
    result = _manage("bankid_check", "--url", api_url, "--interval", "0.1")
    assert result.returncode == 0, result.stderr
    assert "outcome: complete" in result.stdout


def test_check_exits_non_zero_when_nothing_listens() -> None:
    result = _manage("bankid_check", "--url", f"http://127.0.0.1:{_free_port()}/rp/v6.0/")
    assert result.returncode != 0
    assert "could not be reached" in result.stderr


def test_check_fails_when_the_service_refuses(simulator: SimulatorServer, api_url: str) -> None:
    scenario(simulator, error="unauthorized", times=1)
    with pytest.raises(CommandError, match="unauthorized"):
        call_command("bankid_check", "--url", api_url, stdout=StringIO())


def test_check_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(CommandError, match="not loopback"):
        call_command("bankid_check", "--url", "http://bankid.example/rp/v6.0/", stdout=StringIO())


def test_check_cancels_an_order_nobody_answers(simulator: SimulatorServer, api_url: str) -> None:
    out = StringIO()
    call_command("bankid_check", "--url", api_url, "--seconds", "0.5", "--interval", "0.1", stdout=out)
    assert "pending  outstandingTransaction" in out.getvalue()
    assert "cancelled" in out.getvalue()
    assert calls(simulator)["cancel"] == 1
    assert "No pending orders." in requests.get(simulator.base_url + "/", timeout=5).text


def test_check_reports_a_failed_order(simulator: SimulatorServer, api_url: str) -> None:
    scenario(simulator, next="certificateErr")
    out = StringIO()
    call_command("bankid_check", "--url", api_url, "--interval", "0.1", stdout=out)
    assert "outcome: failed, certificateErr" in out.getvalue()


def test_simulator_refuses_to_run_without_debug(settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="PORTAL_DEBUG"):
        call_command("bankid_simulator", "--port", "0")
    with pytest.raises(CommandError, match="loopback"):
        settings.DEBUG = True
        call_command("bankid_simulator", "--host", "0.0.0.0", "--port", "0")


def test_simulator_command_serves_the_api() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "bankid_simulator", "--port", str(port), "--expiry", "60"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        with BankIDClient(f"http://127.0.0.1:{port}/rp/v6.0/") as bankid:
            order = bankid.auth(end_user_ip="127.0.0.1")
            assert bankid.collect(order.order_ref).hint_code == "outstandingTransaction"
        page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert order.order_ref in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert "<script" not in page.text
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/rp/v6.0/" in out


def test_simulator_without_debug_exits_non_zero_as_a_process() -> None:
    result = _manage("bankid_simulator", "--port", "0", debug="false")
    assert result.returncode != 0
    assert "PORTAL_DEBUG" in result.stderr
