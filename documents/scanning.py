"""Virus scanning of uploads with clamd, over its INSTREAM command.

A plain socket client (the PyPI `clamd` package is unmaintained since 2014): the file goes to clamd
in chunks, each prefixed with its length as 4 bytes big-endian, ended by a zero-length chunk, and
clamd answers `stream: OK`, `stream: <signature> FOUND` or `... ERROR`. clamd is reached at
PORTAL_CLAMD_SOCKET, a unix socket path or host:port; without it nothing is scanned.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.conf import settings

CHUNK = 1024 * 1024  # must stay below clamd's StreamMaxLength, which bounds the whole stream anyway
MAX_REPLY = 4096


class ScannerUnavailable(Exception):
    """clamd could not be reached, went away mid-scan, or answered with an error: the file is unchecked."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""  # clamd's name for what it found, when infected


def scanning_enabled() -> bool:
    return bool(settings.CLAMD_SOCKET)


def _connect(address: str, timeout: float) -> socket.socket:
    """A unix socket for a path (anything with a slash, or without a port), TCP for host:port."""
    host, sep, port = address.rpartition(":")
    if "/" in address or not sep or not port.isdigit():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connect_to: str | tuple[str, int] = address
    else:
        sock = socket.socket(socket.AF_INET6 if host.startswith("[") else socket.AF_INET, socket.SOCK_STREAM)
        connect_to = (host.strip("[]"), int(port))
    sock.settimeout(timeout)
    try:
        sock.connect(connect_to)
    except OSError:
        sock.close()
        raise
    return sock


def _read_reply(sock: socket.socket) -> str:
    reply = b""
    while b"\0" not in reply and len(reply) < MAX_REPLY:
        data = sock.recv(MAX_REPLY)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def _parse(reply: str) -> ScanResult:
    if reply == "stream: OK":
        return ScanResult(infected=False)
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        return ScanResult(infected=True, signature=reply[len("stream: ") : -len(" FOUND")].strip())
    raise ScannerUnavailable(f"clamd answered {reply!r}" if reply else "clamd closed the connection")


def _stream(sock: socket.socket, handle: IO[bytes]) -> None:
    sock.sendall(b"zINSTREAM\0")
    while chunk := handle.read(CHUNK):
        sock.sendall(struct.pack("!L", len(chunk)) + chunk)
    sock.sendall(struct.pack("!L", 0))


def scan_file(
    file: str | os.PathLike[str] | IO[bytes], *, address: str | None = None, timeout: float | None = None
) -> ScanResult:
    """Send a file (a path, or a binary file object read from its start and left at its start) to
    clamd. Raises ScannerUnavailable when no verdict came back, whatever the reason."""
    address = address or settings.CLAMD_SOCKET
    timeout = float(settings.CLAMD_TIMEOUT if timeout is None else timeout)
    if not address:
        raise ScannerUnavailable("no clamd address is configured")
    if isinstance(file, (str, os.PathLike)):
        with Path(file).open("rb") as handle:
            return scan_file(handle, address=address, timeout=timeout)
    try:
        sock = _connect(address, timeout)
    except OSError as error:
        raise ScannerUnavailable(f"cannot connect to clamd at {address}: {error}") from error
    file.seek(0)
    try:
        with sock:
            try:
                _stream(sock, file)
            except OSError as error:
                # clamd closes the stream early on its own errors (StreamMaxLength exceeded) and
                # says why first; a killed clamd says nothing.
                try:
                    reply = _read_reply(sock)
                except OSError:
                    reply = ""
                raise ScannerUnavailable(f"clamd stopped reading the file: {reply or error}") from error
            try:
                return _parse(_read_reply(sock))
            except OSError as error:
                raise ScannerUnavailable(f"no answer from clamd: {error}") from error
    finally:
        file.seek(0)


class StreamScan:
    """A scan fed chunk by chunk while the upload is written to storage (storage.receive's tee), so
    the file is read once and the verdict is ready when the last byte is: clamd keeps the stream
    itself until the end. A failure on the way (no clamd, clamd closing early past its
    StreamMaxLength) is kept and raised by `verdict`, so the upload's own refusals (empty, too
    large) still come first. `close` (also on leaving a `with` block) drops the connection."""

    def __init__(self, *, address: str | None = None, timeout: float | None = None) -> None:
        self.address = address or settings.CLAMD_SOCKET
        self.timeout = float(settings.CLAMD_TIMEOUT if timeout is None else timeout)
        self.sock: socket.socket | None = None
        self.error: ScannerUnavailable | None = None
        if not self.address:
            self.error = ScannerUnavailable("no clamd address is configured")
            return
        try:
            self.sock = _connect(self.address, self.timeout)
            self.sock.sendall(b"zINSTREAM\0")
        except OSError as error:
            self.close()
            self.error = ScannerUnavailable(f"cannot connect to clamd at {self.address}: {error}")

    def feed(self, chunk: bytes) -> None:
        if self.sock is None:
            return
        view = memoryview(chunk)
        try:
            for start in range(0, len(view), CHUNK):
                piece = view[start : start + CHUNK]
                self.sock.sendall(struct.pack("!L", len(piece)))
                self.sock.sendall(piece)
        except OSError as error:
            self._stopped(error)

    def _stopped(self, error: OSError) -> None:
        # clamd closes the stream early on its own errors and says why first; a killed one says nothing.
        assert self.sock is not None
        try:
            reply = _read_reply(self.sock)
        except OSError:
            reply = ""
        self.close()
        self.error = ScannerUnavailable(f"clamd stopped reading the file: {reply or error}")

    def verdict(self) -> ScanResult:
        """clamd's verdict on everything fed; raises ScannerUnavailable when there is none."""
        if self.sock is not None:
            try:
                self.sock.sendall(struct.pack("!L", 0))
            except OSError as error:
                self._stopped(error)
        if self.error is not None or self.sock is None:
            raise self.error or ScannerUnavailable("the scan was closed")
        try:
            return _parse(_read_reply(self.sock))
        except OSError as error:
            raise ScannerUnavailable(f"no answer from clamd: {error}") from error
        finally:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            sock, self.sock = self.sock, None
            sock.close()

    def __enter__(self) -> StreamScan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ping(*, address: str | None = None, timeout: float = 2.0) -> bool:
    """Whether clamd answers PING with PONG (for tests and health checks)."""
    try:
        with _connect(address or settings.CLAMD_SOCKET, timeout) as sock:
            sock.sendall(b"zPING\0")
            return _read_reply(sock) == "PONG"
    except OSError:
        return False
