"""deploy/nginx.conf run by a real nginx in front of a loopback upstream that echoes what nginx
passes on: the scheme reaches Django as the TLS proxy in front of nginx reported it, so that
PORTAL_SSL_REDIRECT behind it does not redirect for ever."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.transfer import nginx_config
from tests.integration.harness import free_port

pytestmark = pytest.mark.integration

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (self.headers.get("X-Forwarded-Proto") or "-").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def nginx_port(tmp_path: Path) -> Iterator[int]:
    assert NGINX is not None, "nginx is not installed (make system-deps installs it)"
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    (tmp_path / "static").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        nginx_config(tmp=tmp_path, media=tmp_path, nginx_port=port, web_port=upstream.server_address[1])
    )
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf)], process_group=0)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read()
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "nginx-error.log").read_text()
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        upstream.shutdown()


def _forwarded_proto(port: int, **headers: str) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def test_the_scheme_the_tls_proxy_reports_reaches_the_portal(nginx_port: int) -> None:
    assert _forwarded_proto(nginx_port, **{"X-Forwarded-Proto": "https"}) == "https"


def test_without_a_proxy_in_front_it_is_nginxs_own_scheme(nginx_port: int) -> None:
    assert _forwarded_proto(nginx_port) == "http"
