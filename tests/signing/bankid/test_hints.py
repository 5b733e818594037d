"""Every hint code shows BankID's recommended message."""

from __future__ import annotations

import pytest
from django.utils.translation import override

from portal.bankid import errors, hints
from portal.bankid.hints import message_for


@pytest.mark.parametrize("flow", ["qr", "same_device"])
@pytest.mark.parametrize("hint_code", hints.PENDING_HINT_CODES)
def test_every_pending_hint_has_its_own_message(hint_code: str, flow: str) -> None:
    with override("en"):
        message = message_for("pending", hint_code, flow)  # type: ignore[arg-type]
        assert message and message != str(hints.RFA21)


@pytest.mark.parametrize("flow", ["qr", "same_device"])
@pytest.mark.parametrize("hint_code", hints.FAILED_HINT_CODES)
def test_every_failure_hint_has_its_own_message(hint_code: str, flow: str) -> None:
    with override("en"):
        message = message_for("failed", hint_code, flow)  # type: ignore[arg-type]
        assert message and message != str(hints.RFA22)


def test_the_recommended_message_per_hint_and_flow() -> None:
    with override("en"):
        assert message_for("pending", "outstandingTransaction", "qr") == "Start your BankID app."
        assert (
            message_for("pending", "outstandingTransaction", "same_device")
            == "Trying to start your BankID app."
        )
        assert message_for("pending", "noClient", "same_device") == "Start your BankID app."
        assert message_for("pending", "userSign", "qr") == (
            "Enter your security code in the BankID app and select Identify or Sign."
        )
        assert message_for("failed", "userCancel", "qr") == "Action cancelled."
        assert message_for("failed", "cancelled", "qr") == "Action cancelled. Please try again."
        assert message_for("failed", "startFailed", "qr").startswith("Failed to scan the QR code.")
        assert message_for("failed", "startFailed", "same_device").startswith(
            "The BankID app couldn't be found"
        )
        assert message_for("failed", "expiredTransaction", "qr").startswith(
            "The BankID app is not responding."
        )
        assert message_for("failed", "certificateErr", "qr").startswith(
            "The BankID you are trying to use is blocked"
        )
        assert message_for("pending", "userMrtd", "qr") == (
            "Process your machine-readable travel document using the BankID app."
        )


def test_unknown_hint_codes_fall_back_as_bankid_asks() -> None:
    with override("en"):
        assert message_for("pending", "somethingNew", "qr") == "Identification or signing in progress."
        assert message_for("pending", None, "qr") == "Identification or signing in progress."
        assert message_for("failed", "somethingNew", "same_device") == "Unknown error. Please try again."


def test_every_error_class_has_a_message_for_the_person() -> None:
    with override("en"):
        for error_class in (*errors.ERRORS_BY_CODE.values(), errors.BankIDUnavailable, errors.BankIDError):
            assert error_class("x").user_message
        assert errors.Maintenance().user_message.startswith("The BankID service is temporarily unavailable")
        assert errors.InternalError().user_message == "Internal error. Please try again."
