"""Validators and normalisers for Swedish identifiers and phone numbers.

python-stdnum holds the rules (format, date and Luhn check); these wrap it in
Django's ValidationError with our own translated messages.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_errors
from stdnum.se import orgnr, personnummer


def normalize_personnummer(value: str) -> str:
    """Return the 12-digit form YYYYMMDDNNNN that BankID uses, or raise ValidationError."""
    raw = (value or "").strip()
    if not re.fullmatch(r"\d{6,8}[-+]?\d{4}", raw.replace(" ", "")):
        raise ValidationError(_("Enter a personal identity number as YYYYMMDD-NNNN."), code="format")
    try:
        compact = personnummer.validate(raw)
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            _("The personal identity number is not valid (the check digit is wrong)."), code="checksum"
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("The personal identity number is not valid."), code="invalid") from None
    # stdnum returns YYYYMMDD-NNNN when the century was given, else YYMMDD-NNNN with the century implied.
    birth = personnummer.get_birth_date(compact)
    return f"{birth:%Y%m%d}{compact[-4:]}"


def validate_personnummer(value: str) -> None:
    normalize_personnummer(value)


def normalize_orgnr(value: str) -> str:
    """Return an organisation number as NNNNNN-NNNN, or raise ValidationError."""
    raw = (value or "").strip()
    try:
        return str(orgnr.format(orgnr.validate(raw)))
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            _("The organisation number is not valid (the check digit is wrong)."), code="checksum"
        ) from None
    except stdnum_errors.ValidationError:
        raise ValidationError(_("Enter an organisation number as NNNNNN-NNNN."), code="invalid") from None


def validate_orgnr(value: str) -> None:
    normalize_orgnr(value)


def normalize_mobile(value: str) -> str:
    """Return a mobile number in E.164 form (+46701234567). Swedish 07x numbers get +46."""
    raw = re.sub(r"[\s\-()]", "", value or "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("0"):
        raw = "+46" + raw[1:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", raw):
        raise ValidationError(
            _("Enter a mobile number such as 070-123 45 67 or +46 70 123 45 67."), code="invalid"
        )
    return raw
