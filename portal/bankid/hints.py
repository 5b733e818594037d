"""BankID's recommended user messages (the RFA texts) and which one each hintCode shows.

The English texts are the msgids; the Swedish ones, BankID's official wording, are in the catalogue.
Texts for the hint codes newer than BankID's numbered list (userCallConfirm, userDeclinedCall,
notSupportedByUserApp, transactionRiskBlocked) are our own, in the same voice.
"""

from __future__ import annotations

from typing import Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Flow = Literal["qr", "same_device"]

RFA1 = _("Start your BankID app.")
RFA2 = _("The BankID app is not installed. Please contact your bank.")
RFA3 = _("Action cancelled. Please try again.")
RFA4 = _("An identification or signing for this personal number is already started. Please try again.")
RFA5 = _("Internal error. Please try again.")
RFA6 = _("Action cancelled.")
RFA8 = _(
    "The BankID app is not responding. Please check that it is started and that you have internet "
    "access. If you don't have a valid BankID you can get one from your bank. Try again."
)
RFA9 = _("Enter your security code in the BankID app and select Identify or Sign.")
RFA13 = _("Trying to start your BankID app.")
RFA14 = _(
    "Searching for BankID, it may take a little while … If a few seconds have passed and still no "
    "BankID has been found, you probably don't have a BankID which can be used for this "
    "identification/signing on this device. If you don't have a BankID you can get one from your "
    "bank. If you have a BankID on another device you can start the BankID app on that device."
)
RFA15 = _(
    "Searching for BankID, it may take a little while … If a few seconds have passed and still no "
    "BankID has been found, you probably don't have a BankID which can be used for this "
    "identification/signing on this device. If you don't have a BankID you can get one from your bank."
)
RFA16 = _(
    "The BankID you are trying to use is blocked or too old. Please use another BankID or get a new "
    "one from your bank."
)
RFA17_SAME_DEVICE = _(
    "The BankID app couldn't be found on your computer or mobile device. Please install it and get a "
    "BankID from your bank. Install the app from your app store or https://install.bankid.com."
)
RFA17_QR = _(
    "Failed to scan the QR code. Start the BankID app and scan the QR code. Check that the BankID app "
    "is up to date. If you don't have the BankID app, you need to install it and get a BankID from "
    "your bank. Install the app from your app store or https://install.bankid.com."
)
RFA19 = _("Would you like to identify yourself or sign with a BankID on this device or on another device?")
RFA21 = _("Identification or signing in progress.")
RFA22 = _("Unknown error. Please try again.")
RFA23 = _("Process your machine-readable travel document using the BankID app.")
MAINTENANCE = _("The BankID service is temporarily unavailable. Please try again later.")
USER_CALL_CONFIRM = _("Answer the question in the BankID app about whether you are in a call with us.")
USER_DECLINED_CALL = _(
    "Action cancelled, since you said in the BankID app that nobody from us has called you."
)
NOT_SUPPORTED_BY_USER_APP = _(
    "Your BankID app does not support this action. Please update the BankID app and try again."
)
TRANSACTION_RISK_BLOCKED = _(
    "BankID stopped the action for security reasons. If you think this is wrong, contact your bank."
)
COMPLETE = _("Done: BankID has confirmed it.")

PENDING_HINT_CODES = (
    "outstandingTransaction",
    "noClient",
    "started",
    "userMrtd",
    "userCallConfirm",
    "userSign",
)
FAILED_HINT_CODES = (
    "expiredTransaction",
    "certificateErr",
    "userCancel",
    "cancelled",
    "startFailed",
    "userDeclinedCall",
    "notSupportedByUserApp",
    "transactionRiskBlocked",
)

# (hintCode, flow) -> message; a flow of None means either.
_PENDING: dict[tuple[str, Flow | None], Promise] = {
    ("outstandingTransaction", "same_device"): RFA13,
    ("outstandingTransaction", "qr"): RFA1,
    ("noClient", None): RFA1,
    ("started", "same_device"): RFA14,
    ("started", "qr"): RFA15,
    ("userMrtd", None): RFA23,
    ("userCallConfirm", None): USER_CALL_CONFIRM,
    ("userSign", None): RFA9,
}
_FAILED: dict[tuple[str, Flow | None], Promise] = {
    ("expiredTransaction", None): RFA8,
    ("certificateErr", None): RFA16,
    ("userCancel", None): RFA6,
    ("cancelled", None): RFA3,
    ("startFailed", "same_device"): RFA17_SAME_DEVICE,
    ("startFailed", "qr"): RFA17_QR,
    ("userDeclinedCall", None): USER_DECLINED_CALL,
    ("notSupportedByUserApp", None): NOT_SUPPORTED_BY_USER_APP,
    ("transactionRiskBlocked", None): TRANSACTION_RISK_BLOCKED,
}


def message_for(status: str, hint_code: str | None, flow: Flow) -> str:
    """The message to show the person for a collect result, in the active language.

    `flow` is how the order was started: "qr" (BankID on another device) or "same_device"
    (autostart link). An unknown pending hint shows RFA21 and an unknown failure RFA22, as
    BankID asks, so a hint code added later still gives the person something true to read.
    """
    if status == "complete":
        return str(COMPLETE)
    table, fallback = (_PENDING, RFA21) if status == "pending" else (_FAILED, RFA22)
    code = hint_code or ""
    message = table.get((code, flow)) or table.get((code, None)) or fallback
    return str(message)
