"""manage.py bankid_check [--url URL]: start an auth order and follow it, to check that the
portal's certificate and the network reach a BankID service (any service speaking the v6 API)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.bankid.client import BankIDClient, CollectResult
from portal.bankid.errors import BankIDConfigurationError, BankIDError
from portal.bankid.qr import qr_content


class Command(BaseCommand):
    help = (
        "Start a BankID auth order against PORTAL_BANKID_URL (or --url) with the configured client "
        "certificate, collect it every --interval seconds until it ends or --seconds pass, cancel "
        "it if still pending, and print what happened. Exits non-zero when the service can't be "
        "reached or refuses a call; an order the person did not answer is not an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default="", help="base URL, e.g. https://appapi2.test.bankid.com/rp/v6.0/"
        )
        parser.add_argument("--seconds", type=float, default=30, help="how long to follow the order")
        parser.add_argument("--interval", type=float, default=2, help="seconds between collects")
        parser.add_argument("--end-user-ip", default="127.0.0.1", help="endUserIp to send")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = BankIDClient.from_settings(base_url=options["url"] or None)
        except BankIDConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        with client:
            self.stdout.write(f"BankID service: {client.base_url}")
            try:
                self._follow(client, options)
            except BankIDError as exc:
                raise CommandError(f"The BankID service refused or could not be reached: {exc}") from exc

    def _follow(self, client: BankIDClient, options: dict[str, Any]) -> None:
        order = client.auth(end_user_ip=options["end_user_ip"], user_visible_data="Connectivity check")
        self.stdout.write(f"orderRef: {order.order_ref}")
        self.stdout.write(f"autostart: {order.autostart_url()}")
        self.stdout.write(f"QR now: {qr_content(order.qr_start_token, order.qr_start_secret, 0)}")
        try:
            result = self._collect(client, order.order_ref, options["seconds"], options["interval"])
        except KeyboardInterrupt:
            client.cancel(order.order_ref)
            raise CommandError("Interrupted; the order was cancelled.") from None
        if result.status == "complete" and result.completion_data:
            user = result.completion_data.user
            self.stdout.write(f"outcome: complete, {user.name} ({user.personal_number})")
        elif result.status == "failed":
            self.stdout.write(f"outcome: failed, {result.hint_code}")
        else:
            client.cancel(order.order_ref)
            self.stdout.write(f"outcome: still {result.hint_code} after {options['seconds']:g} s; cancelled")
        self.stdout.write("The service answered every call: certificate and connection work.")

    def _collect(
        self, client: BankIDClient, order_ref: str, seconds: float, interval: float
    ) -> CollectResult:
        """Collect until the order ends or `seconds` pass, printing each new hint code."""
        started = time.monotonic()
        last_hint: str | None = None
        while True:
            result = client.collect(order_ref)
            if result.hint_code != last_hint or result.done:
                elapsed = time.monotonic() - started
                self.stdout.write(f"{elapsed:5.1f} s  {result.status}  {result.hint_code or ''}".rstrip())
                last_hint = result.hint_code
            if result.done or time.monotonic() - started + interval > seconds:
                return result
            time.sleep(interval)
