"""The portal's shared models: users, the audit log, sent emails, sessions, BankID orders and the outbox."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    SWEDISH = "sv", "Svenska"
    ENGLISH = "en", "English"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lower-case; logins match whatever case was typed.
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The same login serves partner staff and customer users."""

    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    mobile = models.CharField(_("mobile number"), max_length=20, blank=True)
    # Stored as YYYYMMDDNNNN, the form BankID uses; validated with its Luhn check on the way in.
    personnummer = models.CharField(_("personal identity number"), max_length=12, blank=True)
    is_staff = models.BooleanField(
        _("site staff"), default=False, help_text=_("May log in to the Django admin (site operators only).")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["personnummer"],
                condition=~models.Q(personnummer=""),
                name="user_personnummer_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return (self.name.split(" ")[0] if self.name else "") or self.email


class AuditEvent(models.Model):
    """Who did what to which object, from where. Written by services in the same transaction as
    the change. The collaboration is kept as a plain id (portal sits below customers), indexed so
    a partner can read the log per customer."""

    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    collaboration_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(_("action"), max_length=40)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.BigIntegerField(null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=300)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["collaboration_id", "-created_at"]),
            models.Index(fields=["object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class SentEmail(models.Model):
    """The last emails the embedded default "sent" (printed to the console), kept so they can be
    read in the admin: portal.mail.ConsoleKeepingBackend writes them."""

    to = models.CharField(_("to"), max_length=500)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("sent email (development)")
        verbose_name_plural = _("sent emails (development)")
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class UserSession(models.Model):
    """One logged-in browser of a user, so My account can list and end them (portal.sessions).

    Made at login, its last activity noted at most once a minute, gone at logout, at expiry and
    when it is ended. The session itself lives in Django's session store under `session_key`."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(_("signed in"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last active"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        indexes = [models.Index(fields=["user", "-last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class BankIDOrder(models.Model):
    """One BankID order (auth or sign) and what became of it; portal.bankid.flow keeps it.

    It belongs to the browser session that started it (`session_key`, for the login) or to a
    signing party (`party_id`, for the signing step); only that owner may poll or cancel it.
    `qr_start_secret` never leaves the server. A completed order is used once: `consumed_at`."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Log in")
        SIGN = "sign", _("Sign")

    class Flow(models.TextChoices):
        QR = "qr", _("BankID on another device")
        SAME_DEVICE = "same_device", _("BankID on this device")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        COMPLETE = "complete", _("complete")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    flow = models.CharField(max_length=12, choices=Flow.choices, default=Flow.QR)
    order_ref = models.CharField(max_length=64, unique=True)
    qr_start_token = models.CharField(max_length=64)
    qr_start_secret = models.CharField(max_length=64)
    auto_start_token = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hint_code = models.CharField(max_length=40, blank=True)
    # The errorCode of a call that ended the order (BankID's, or "unreachable"), for its message.
    error_code = models.CharField(max_length=40, blank=True)
    completion_data = models.JSONField(null=True, blank=True)
    last_collect_at = models.DateTimeField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    party_id = models.BigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("BankID order")
        verbose_name_plural = _("BankID orders")
        indexes = [models.Index(fields=["status", "started_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.order_ref} {self.status}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING

    def autostart_url(self) -> str:
        return f"bankid:///?autostarttoken={self.auto_start_token}&redirect=null"


class OutboxMessage(models.Model):
    """One piece of background work that must happen (an email, a preview), written in the
    transaction of the change that calls for it (portal.outbox). `task` is the Celery task's name,
    run with `args` by portal.tasks.run_outbox, which claims the row by its task id the one way
    (portal.claims) and sets `done_at`; the sweeper publishes again what is not done."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When it was last sent to the broker (at commit, then by each sweep): the sweeper waits a
    # while after it, so that a queue that is merely slow is not filled with copies.
    published_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["published_at"], condition=models.Q(done_at__isnull=True), name="outbox_undone"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
