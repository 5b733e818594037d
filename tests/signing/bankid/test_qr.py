"""The animated QR code against BankID's published algorithm."""

from __future__ import annotations

import hashlib
import hmac

from portal.bankid.qr import qr_content, qr_svg


def test_published_example_vector() -> None:
    # The example in BankID's documentation of the animated QR code (time 0).
    assert qr_content("67df3917-fa0d-44e5-b327-edcc928297f8", "d28db9a7-4cde-429e-a983-359be676944c", 0) == (
        "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0."
        "dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"
    )


def test_matches_hmac_computed_by_hand_for_every_second() -> None:
    token, secret = "1f0b1f5e-1b1a-4d6b-9c55-0f4f9a0b8e1c", "0c4f3b8e-9a7d-4b2e-8f1a-6d5c4b3a2918"
    seen = set()
    for seconds in (1, 2, 9, 10, 59, 179):
        expected = hmac.new(secret.encode(), str(seconds).encode(), hashlib.sha256).hexdigest()
        content = qr_content(token, secret, seconds)
        assert content == f"bankid.{token}.{seconds}.{expected}"
        seen.add(content)
    assert len(seen) == 6  # the code changes every second
    assert secret not in "".join(seen)


def test_svg_is_inline_and_scriptless() -> None:
    svg = qr_svg("bankid.a.1.b", title="BankID")
    assert svg.startswith("<svg")
    assert "<title>BankID</title>" in svg
    assert "script" not in svg.lower()
    assert "style=" not in svg.lower()
    assert qr_svg("bankid.a.2.b") != qr_svg("bankid.a.1.b")
