"""A real clamd for the scanning tests (Debian's clamav-daemon), with no virus database download.

Its database is one signature made at test time: the MD5 of the EICAR test file, by `sigtool --md5`,
renamed `Portal-Test.EICAR` (clamd reports it as `Portal-Test.EICAR.UNOFFICIAL`). It listens on a
unix socket in a temporary directory and runs in the foreground as our child, never as Debian's
service, so freshclam never starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from documents import scanning

# The standard antivirus test file: harmless, and detected by every scanner as if it were a virus.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SIGNATURE = "Portal-Test.EICAR.UNOFFICIAL"
START_SECONDS = 30.0


@dataclass
class Clamd:
    socket: str
    directory: Path
    process: subprocess.Popen[bytes]

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def scanning_now(self) -> bool:
        """Whether clamd is receiving a stream: it spools INSTREAM data into its TemporaryDirectory."""
        return any((self.directory / "tmp").iterdir())


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        pytest.fail(f"{name} is not installed: `make system-deps` installs clamav-daemon")
    return path


@contextmanager
def running_clamd(
    *, stream_max: str = "200M", more_signatures: dict[str, bytes] | None = None
) -> Iterator[Clamd]:
    """clamd with the EICAR signature and `more_signatures` (name -> the exact bytes it detects)."""
    directory = Path(tempfile.mkdtemp(prefix="clamd-test-"))
    (directory / "db").mkdir()
    (directory / "tmp").mkdir()
    (directory / "eicar.com").write_bytes(EICAR)
    made = subprocess.run(
        [_binary("sigtool"), "--md5", str(directory / "eicar.com")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    md5, size, _name = made.split(":")
    lines = [f"{md5}:{size}:Portal-Test.EICAR"]
    for name, data in (more_signatures or {}).items():
        lines.append(f"{hashlib.md5(data).hexdigest()}:{len(data)}:{name}")  # the .hdb format sigtool writes
    (directory / "db" / "test.hdb").write_text("\n".join(lines) + "\n")
    sock = str(directory / "clamd.sock")
    (directory / "clamd.conf").write_text(
        f"DatabaseDirectory {directory / 'db'}\n"
        f"LocalSocket {sock}\n"
        f"TemporaryDirectory {directory / 'tmp'}\n"
        f"StreamMaxLength {stream_max}\n"
        "Foreground yes\n" + ("User root\n" if os.geteuid() == 0 else "")
        # As root clamd wants to be told to stay root; as anyone else it runs as that user.
    )
    log = (directory / "clamd.log").open("wb")
    process = subprocess.Popen(
        [_binary("clamd"), "-c", str(directory / "clamd.conf")], stdout=log, stderr=subprocess.STDOUT
    )
    clamd = Clamd(socket=sock, directory=directory, process=process)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not scanning.ping(address=sock):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"clamd did not start: {(directory / 'clamd.log').read_text()}")
            time.sleep(0.05)
        yield clamd
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        log.close()
        shutil.rmtree(directory, ignore_errors=True)
