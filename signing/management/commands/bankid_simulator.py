"""manage.py bankid_simulator [--host 127.0.0.1] [--port 8765]: the BankID simulator."""

from __future__ import annotations

import ssl
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.bankid.client import is_loopback_host
from portal.bankid.simulator import API_PREFIX, Simulator, SimulatorServer


class Command(BaseCommand):
    help = (
        "Serve a BankID simulator: the relying-party API v6 (auth, sign, collect, cancel under "
        f"{API_PREFIX}) and, at /, a page standing in for the BankID app. Development and tests "
        "only: it approves whatever you tell it to. Refuses to run with PORTAL_DEBUG false unless "
        "--allow-production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback by default)")
        parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
        parser.add_argument(
            "--expiry", type=float, default=180, help="seconds until an unanswered order expires"
        )
        parser.add_argument("--certfile", default="", help="serve HTTPS with this PEM certificate (chain)")
        parser.add_argument("--keyfile", default="", help="the private key of --certfile")
        parser.add_argument(
            "--client-ca",
            default="",
            help="with --certfile: require a client certificate issued by this CA (mutual TLS)",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run even though PORTAL_DEBUG is false (a simulator approves anything: never "
            "point a production portal at it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "The BankID simulator approves whatever it is told to, so it does not run with "
                "PORTAL_DEBUG false. Set PORTAL_DEBUG=true for development, or pass "
                "--allow-production if you really mean it."
            )
        if not is_loopback_host(options["host"]) and not options["allow_production"]:
            raise CommandError("Listen on a loopback address (--host 127.0.0.1), or pass --allow-production.")
        context = None
        if options["certfile"]:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(options["certfile"], options["keyfile"] or None)
            if options["client_ca"]:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(options["client_ca"])
        elif options["client_ca"]:
            raise CommandError("--client-ca needs --certfile and --keyfile (HTTPS).")
        server = SimulatorServer(
            (options["host"], options["port"]), Simulator(expiry_seconds=options["expiry"]), context
        )
        self.stdout.write(
            f"BankID simulator: the app page at {server.base_url}/, the API at "
            f"{server.base_url}{API_PREFIX} (Ctrl-C stops it)"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
