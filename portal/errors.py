from __future__ import annotations


class ServiceError(Exception):
    """A rule of the domain said no. The message is translated and safe to show to the user.

    Services raise it before they change anything (or inside the transaction
    that is then rolled back), so a refused action leaves no trace.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
