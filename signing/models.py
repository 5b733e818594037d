"""E-signing: a request to sign one PDF version, its parties in order, its attachments, its timeline.

Every state change is a conditional UPDATE in signing.services (status from one value to the
next, a party's `acted_at` from NULL), so a repeated click, callback or task changes nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Collaboration
from documents.models import Document, DocumentVersion


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for signatures")
    COMPLETED = "completed", _("Signed")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class Role(models.TextChoices):
    SIGNER = "signer", _("Signer")
    APPROVER = "approver", _("Approver")
    VIEWER = "viewer", _("Gets a copy")


class Method(models.TextChoices):
    EMAIL_CODE = "email_code", _("Code by email")
    BANKID = "bankid", _("BankID")


class Language(models.TextChoices):
    SWEDISH = "sv", _("Swedish")
    ENGLISH = "en", _("English")


class SigningRequest(models.Model):
    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="signings")
    # The evidence outlives the file: deleting the document (or its folder) leaves the request, its
    # parties and timeline, with the name and sha256 of what was signed kept on the rows. A pending
    # request's document cannot be deleted (documents.locks asks selectors.documents_signing_locks).
    document = models.ForeignKey(
        Document, on_delete=models.SET_NULL, null=True, blank=True, related_name="signings"
    )
    # The exact bytes sent: a later version of the document does not change what is signed.
    version = models.ForeignKey(
        DocumentVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version_sha256 = models.CharField(max_length=64, blank=True)
    # What sending changed in the files to make them fit for signing, and the embedded files they
    # carry (signing.prepare): {"files": [{"name", "decrypted", "trailing_bytes", "removed",
    # "embedded", ...}]}; empty when nothing needed saying.
    prepared = models.JSONField(default=dict, blank=True)
    title = models.CharField(_("title"), max_length=255)
    pages = models.PositiveIntegerField(_("pages"), default=0)  # of the document, from the PDF check
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    message = models.TextField(_("message"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    reminder_days = models.PositiveSmallIntegerField(_("reminder every (days)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    # A draft's last save and by whom (anyone who may start signings for the customer edits it).
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)  # completed, declined, expired or cancelled
    last_reminder_at = models.DateTimeField(null=True, blank=True)
    # Sealing: the task id that claimed it, and the sealed document's version when done.
    seal_claim = models.CharField(max_length=64, blank=True)
    seal_claimed_at = models.DateTimeField(null=True, blank=True)
    sealed_version = models.ForeignKey(
        DocumentVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sealed_at = models.DateTimeField(null=True, blank=True)  # stays when the sealed file is deleted
    # The last failed sealing (kept until one succeeds): the sender sees "sealing failed" and the
    # beat sweeper (tasks.seal_unsealed) tries again.
    seal_failed_at = models.DateTimeField(null=True, blank=True)
    seal_error = models.CharField(max_length=300, blank=True)
    # The wizard's one-time key: a second click on Send (or a resent form) finds this request.
    send_key = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("signing request")
        verbose_name_plural = _("signing requests")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["collaboration", "status"], name="signing_collaboration_status"),
            models.Index(
                fields=["deadline"], condition=models.Q(status="pending"), name="signing_pending_deadline"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_sealing(self) -> bool:
        """Everyone signed but the sealed PDF is not stored yet: not done."""
        return self.status == Status.COMPLETED and self.sealed_at is None

    @property
    def charge_reference(self) -> str:
        """The ledger reference of the one signature this request costs."""
        return f"signing:{self.pk}"


class Party(models.Model):
    """Someone who signs, approves or gets the final copy. Equal `order` numbers act in parallel."""

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="parties")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    mobile = models.CharField(_("mobile"), max_length=30, blank=True)
    personnummer = models.CharField(_("personal identity number"), max_length=13, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.SIGNER)
    method = models.CharField(
        _("signing method"), max_length=12, choices=Method.choices, default=Method.EMAIL_CODE
    )
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    # A portal user with this email, if any: they also see the request inside the portal.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="signing_parties",
    )
    # The personal link's token is an HMAC of this salt with the secret key (so a later email can
    # carry it again); only the token's sha256 is stored for looking it up.
    token_salt = models.CharField(max_length=32)
    token_hash = models.CharField(max_length=64, unique=True)
    notified_at = models.DateTimeField(null=True, blank=True)  # its turn came and it was told
    reminded_at = models.DateTimeField(null=True, blank=True)  # the last "remind now" (once an hour)
    # Email code: its hash, when it was sent, tries of this code, when it was verified.
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    code_verified_at = models.DateTimeField(null=True, blank=True)
    # Limits that a new code does not reset: codes sent in the hour from `code_window_start`, and
    # wrong codes in all; too many of those lock the link until the sender revokes it.
    code_window_start = models.DateTimeField(null=True, blank=True)
    code_window_sends = models.PositiveSmallIntegerField(default=0)
    code_failures = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    # What the party did, once.
    action = models.CharField(max_length=10, blank=True)  # signed | approved | declined
    acted_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    decline_reason = models.TextField(blank=True)
    sealed_sent_at = models.DateTimeField(null=True, blank=True)  # the sealed PDF was emailed
    # BankID: the completed order's reference (one order proves one signature, never two) and its
    # completionData as BankID sent it (user, device, bankIdIssueDate, stepUp, signature, ocspResponse).
    bankid_order_ref = models.CharField(max_length=64, blank=True)
    bankid_evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        ordering = ["request", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "email"], name="party_email_once_per_request"),
            models.UniqueConstraint(
                fields=["bankid_order_ref"],
                condition=~models.Q(bankid_order_ref=""),
                name="party_bankid_order_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"

    @property
    def must_act(self) -> bool:
        return self.role in (Role.SIGNER, Role.APPROVER)


class RetiredLink(models.Model):
    """A personal link that no longer works because it was replaced (the party's email or name
    changed, or the sender sent a new link) or its party was removed: its pages answer 410 and say
    so, where an unknown link answers 404. Only the token's sha256 is kept, as on Party."""

    class Reason(models.TextChoices):
        REPLACED = "replaced", _("Replaced by a new link")
        REMOVED = "removed", _("The party was removed")

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="+")
    party = models.ForeignKey(
        Party, on_delete=models.SET_NULL, null=True, blank=True, related_name="retired_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    retired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("retired link")
        verbose_name_plural = _("retired links")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.reason}"


class Attachment(models.Model):
    """An extra PDF that goes with the document: a version picked from a folder."""

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="attachments")
    # As the request's version: the row (name, sha256) stays when the file is deleted.
    version = models.ForeignKey(
        DocumentVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sha256 = models.CharField(max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=255)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["request", "position", "id"]

    def __str__(self) -> str:
        return self.name


class AttentionKind(models.TextChoices):
    """The badges on Mina samarbeten that a user can dismiss (a pending signing still waits)."""

    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")


class AttentionSeen(models.Model):
    """A partner user dismissed a customer's declined or expired badge on Mina samarbeten: for them,
    the signings of that kind that finished by `seen_at` no longer count; a later one shows the
    badge again. Colleagues keep their own."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    collaboration = models.ForeignKey(Collaboration, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=AttentionKind.choices)
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("dismissed signing badge")
        verbose_name_plural = _("dismissed signing badges")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "collaboration", "kind"], name="attention_seen_once_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.collaboration_id} {self.kind}"


class Event(models.Model):
    """The request's timeline: what happened, when, by whom (and from where)."""

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    party = models.ForeignKey(Party, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("signing event")
        verbose_name_plural = _("signing events")
        ordering = ["request", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.request_id}: {self.kind}"
