"""The token of an emailed collaboration invitation, kept out of the database.

Only the token's hash is stored on the collaboration (customers.access finds the invitation by
it), and the invitation email goes through the outbox, whose row must not hold the token either.
So the row holds a random nonce and the token is an HMAC of it under the SECRET_KEY: the database
alone opens no invitation, and the service (which returns the token) and the task (which emails
it) make the same one.
"""

from __future__ import annotations

import hashlib
import secrets

from django.utils.crypto import salted_hmac


def new_invitation_nonce() -> str:
    return secrets.token_urlsafe(32)


def invitation_token(nonce: str) -> str:
    return salted_hmac("customers.invitation", nonce, algorithm="sha256").hexdigest()


def invitation_token_hash(token: str) -> str:
    """What the collaboration stores of its invitation's token, and what a link is looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()
