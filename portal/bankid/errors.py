"""What can go wrong talking to BankID, one exception class per v6 errorCode.

Every class carries `user_message`, the text to show the person (BankID's recommended message,
translated); `str(error)` is the technical detail for logs and operators.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

from portal.bankid import hints


class BankIDConfigurationError(ImproperlyConfigured):
    """The PORTAL_BANKID_* settings can't work (plain HTTP to a remote host, a missing file...)."""


class BankIDError(Exception):
    """A call to the BankID service did not give an answer we can use."""

    error_code = "unknown"
    status = 0  # the HTTP status the service answers this error code with
    retryable = False
    user_message_lazy: Promise = hints.RFA22

    def __init__(self, details: str = "", *, http_status: int | None = None) -> None:
        self.details = details
        self.http_status = http_status
        super().__init__(f"BankID {self.error_code}" + (f": {details}" if details else ""))

    @property
    def user_message(self) -> str:
        return str(self.user_message_lazy)


class BankIDUnavailable(BankIDError):
    """The service could not be reached: connection refused, TLS refused, or a timeout."""

    error_code = "unreachable"
    user_message_lazy = hints.MAINTENANCE


class AlreadyInProgress(BankIDError):
    error_code = "alreadyInProgress"
    status = 400
    user_message_lazy = hints.RFA4


class InvalidParameters(BankIDError):
    error_code = "invalidParameters"
    status = 400
    user_message_lazy = hints.RFA22


class Unauthorized(BankIDError):
    error_code = "unauthorized"
    status = 401
    user_message_lazy = hints.RFA22


class NotFound(BankIDError):
    error_code = "notFound"
    status = 404
    user_message_lazy = hints.RFA22


class MethodNotAllowed(BankIDError):
    error_code = "methodNotAllowed"
    status = 405
    user_message_lazy = hints.RFA22


class RequestTimeout(BankIDError):
    error_code = "requestTimeout"
    status = 408
    user_message_lazy = hints.RFA5


class UnsupportedMediaType(BankIDError):
    error_code = "unsupportedMediaType"
    status = 415
    user_message_lazy = hints.RFA22


class InternalError(BankIDError):
    error_code = "internalError"
    status = 500
    retryable = True
    user_message_lazy = hints.RFA5


class Maintenance(BankIDError):
    error_code = "maintenance"
    status = 503
    retryable = True
    user_message_lazy = hints.MAINTENANCE


ERRORS_BY_CODE: dict[str, type[BankIDError]] = {
    cls.error_code: cls
    for cls in (
        AlreadyInProgress,
        InvalidParameters,
        Unauthorized,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        UnsupportedMediaType,
        InternalError,
        Maintenance,
    )
}
