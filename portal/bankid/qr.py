"""The animated QR code: its content for a given second of the order, and that content as SVG.

The content changes every second and is computed on the server; `qr_start_secret` never leaves it.
"""

from __future__ import annotations

import hashlib
import hmac

import segno


def qr_content(qr_start_token: str, qr_start_secret: str, seconds: int) -> str:
    """`bankid.<qrStartToken>.<seconds>.<hex HMAC-SHA256(key=qrStartSecret, msg=str(seconds))>`,
    `seconds` counted (whole) from the moment the order was started."""
    auth_code = hmac.new(
        qr_start_secret.encode("ascii"), str(int(seconds)).encode("ascii"), hashlib.sha256
    ).hexdigest()
    return f"bankid.{qr_start_token}.{int(seconds)}.{auth_code}"


def qr_svg(content: str, *, title: str = "", scale: int = 5) -> str:
    """The QR code as inline SVG (no script or style), for a page to embed."""
    return str(segno.make(content, error="l").svg_inline(scale=scale, title=title or None))
