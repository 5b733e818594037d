"""The one exception a service raises when a rule of the domain refuses an action."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django import forms


class ServiceError(Exception):
    """A rule of the domain said no. The message is translated and safe to show to the user.

    Services raise it before they change anything (or inside the transaction
    that is then rolled back), so a refused action leaves no trace.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def add_to(self, form: forms.BaseForm) -> None:
        """Show the refusal on `form`: next to the field it names, or above the form when it names
        none (or one the form does not have)."""
        form.add_error(self.field if self.field in form.fields else None, self.message)
