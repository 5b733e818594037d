"""The one settings module of the portal.

Everything that differs between machines is a PORTAL_* environment variable
(read through portal.env). With nothing set the portal runs on its embedded
default: SQLite, files under ./var/media, Celery over kombu's filesystem
transport, emails to the console. See README.md for the full list.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

from portal.env import envbool, envint, envlist, envstr
from portal.production import DEVELOPMENT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("VAR_DIR", str(BASE_DIR / "var")))

# Off unless set: with DEBUG off the portal is production and refuses to start on the embedded
# default's development values (portal/production.py); `make run` sets PORTAL_DEBUG=true.
DEBUG = envbool("DEBUG", default=False)
# The embedded default is a development setup; production must set its own key.
SECRET_KEY = envstr("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
# Absolute base URL used in emails (set-password links, invitations).
PORTAL_BASE_URL = envstr("BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "portal",
    "partners",
    "customers",
    "documents",
    "signing",
    "billing",
    "notifications",
    "docrequests",
]
# Demo and benchmark data (demo/: seed_demo, bench_seed): development only, unless asked for.
DEMO = DEBUG or envbool("DEMO", default=False)
if DEMO:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy and Permissions-Policy of every answer, static files included.
    "csp.middleware.CSPMiddleware",
    "portal.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (portal/twofactor.py).
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "portal.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Signs out a session idle or old beyond SESSION_IDLE_MINUTES / SESSION_ABSOLUTE_HOURS, with a
    # message, which is why it comes after the language, messages and htmx.
    "portal.sessions.SessionTimeoutMiddleware",
    "portal.context.OrganisationMiddleware",
    # Needs the user, the second factor and the organisation context above it.
    "portal.twofactor.TwoFactorMiddleware",
    # Last, as django-axes requires: turns a locked-out login into portal.throttle's 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.context_processors.navigation",
                "notifications.context_processors.bell",
            ],
            # {% url %} everywhere, its answers remembered (portal/templatetags/cached_url.py).
            "builtins": ["portal.templatetags.cached_url"],
            # {% load i18n %}: Django's, with {% translate "literal" %} remembered. Django warns
            # that the name now has two modules (templates.W003, silenced below);
            # tests/portal/test_cached_i18n.py holds that this is the only such name.
            "libraries": {"i18n": "portal.templatetags.cached_i18n"},
        },
    },
]

SILENCED_SYSTEM_CHECKS = ["templates.W003"]  # the i18n library above, on purpose

# --- Database -------------------------------------------------------------
# portal.sql.Prepared: PREPARE once per connection (PostgreSQL); off behind a transaction pooler.
DB_PREPARED_STATEMENTS = envbool("DB_PREPARED_STATEMENTS", default=True)
# PORTAL_DATABASE_URL=postgres://user:pass@host:5432/name switches to PostgreSQL (psycopg 3).
_database_url = envstr("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its SQLite file here
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
            # IMMEDIATE: a writer takes the lock when its transaction starts, so parallel uploads
            # wait for each other instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ---------------------------------------
REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _celery_queue = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_celery_queue),
        "data_folder_out": str(_celery_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # Longer than any task or ETA, so Redis does not redeliver work still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "Europe/Stockholm"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "clear-expired-sessions": {"task": "portal.tasks.clear_expired_sessions", "schedule": 24 * 3600},
    # Nightly: django-axes' login records older than AXES_LOG_DAYS.
    "prune-login-records": {
        "task": "portal.tasks.prune_login_records",
        "schedule": crontab(hour=3, minute=30),
    },
    # Nightly: BankID orders older than a day (their secrets and completion data go with them).
    "prune-bankid-orders": {
        "task": "portal.tasks.prune_bankid_orders",
        "schedule": crontab(hour=3, minute=40),
    },
    # Nightly: the usage counters against the stored sizes, then the day's snapshot.
    "reconcile-storage": {"task": "billing.tasks.reconcile_storage", "schedule": crontab(hour=2, minute=15)},
    "snapshot-usage": {"task": "billing.tasks.snapshot_usage", "schedule": crontab(hour=23, minute=55)},
    # Notifications: re-send undelivered emails; the daily digest at seven in the morning.
    "sweep-notifications": {
        "task": "notifications.tasks.sweep_undelivered",
        "schedule": float(envint("NOTIFICATION_SWEEP_INTERVAL_SECONDS", 60)),
    },
    # The outbox: emails and previews whose publish was lost or whose worker died (portal.outbox).
    "sweep-outbox": {
        "task": "portal.tasks.sweep_outbox",
        "schedule": float(envint("OUTBOX_SWEEP_INTERVAL_SECONDS", 60)),
    },
    "notification-digests": {
        "task": "notifications.tasks.send_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    # E-signing: expire at the deadline, remind by each request's interval.
    "expire-signings": {"task": "signing.tasks.expire_signings", "schedule": 300.0},
    "remind-signings": {"task": "signing.tasks.remind_signings", "schedule": crontab(minute=0)},
    # Document requests: the asked users are reminded before and after the due date.
    "remind-docrequests": {"task": "docrequests.tasks.remind_docrequests", "schedule": crontab(minute=30)},
    # Completed signings whose sealing failed are sealed again (each failure waits ten minutes).
    "seal-unsealed-signings": {"task": "signing.tasks.seal_unsealed", "schedule": 600.0},
    # Hourly: what has been in the trash longer than PORTAL_TRASH_DAYS leaves storage for good.
    "purge-trash": {"task": "documents.tasks.purge_trash", "schedule": crontab(minute=20)},
    # Nightly: uploads whose worker died mid-body (S3 multipart uploads, .part files) a day on.
    "sweep-unfinished-uploads": {
        "task": "documents.tasks.sweep_unfinished_uploads",
        "schedule": crontab(hour=4, minute=10),
    },
    # Nightly: the files of ended collaborations whose read period, or retention, is over.
    "purge-ended-collaborations": {
        "task": "documents.tasks.purge_ended_collaborations",
        "schedule": crontab(hour=2, minute=45),
    },
    # The first of the month: last month's statements.
    "monthly-statements": {
        "task": "billing.tasks.make_statements",
        "schedule": crontab(day_of_month=1, hour=3, minute=0),
    },
}

# --- Plans and prices: the one place they are set -----------------------------------------
# 1 GB is 10^9 bytes everywhere in the portal (the README says so). Money is integer öre.
GB = 10**9
# Storage included in each plan (partners.models.Plan); beyond it every started block costs
# STORAGE_BLOCK_PRICE_ORE a month.
STORAGE_INCLUDED_BYTES = {"portal": 1 * GB, "byra": 5 * GB}
STORAGE_BLOCK_BYTES = 10 * GB
STORAGE_BLOCK_PRICE_ORE = 79_00
# Admins are told when usage crosses these shares (percent) of the included storage.
STORAGE_WARNING_PERCENTS = (80, 100)
# Signature packages an account administrator can buy: signatures -> price in öre.
SIGNATURE_PACKAGES = {10: 290_00, 50: 1_250_00, 200: 4_400_00}
# Every new partner starts with this many free signatures.
WELCOME_SIGNATURES = 2
# --- Notifications ------------------------------------------------------------
# Changes of one kind to one place within this many seconds gather into one notification, and
# its immediate email waits as long (30 uploads: one email).
NOTIFICATION_BATCH_SECONDS = envint("NOTIFICATION_BATCH_SECONDS", 60)
# The sweeper re-sends an immediate email not delivered this long after it was raised, and takes
# over a claim a task has held this long without finishing (its worker died).
NOTIFICATION_SWEEP_AFTER_SECONDS = envint("NOTIFICATION_SWEEP_AFTER_SECONDS", 120)
NOTIFICATION_CLAIM_STALE_SECONDS = envint("NOTIFICATION_CLAIM_STALE_SECONDS", 600)
# The outbox (portal.outbox): published again this long after its last publish if not done; a
# claim older than the stale limit is a dead worker's; after the attempts it is left to the log.
OUTBOX_SWEEP_AFTER_SECONDS = envint("OUTBOX_SWEEP_AFTER_SECONDS", 120)
OUTBOX_CLAIM_STALE_SECONDS = envint("OUTBOX_CLAIM_STALE_SECONDS", 600)
OUTBOX_MAX_ATTEMPTS = envint("OUTBOX_MAX_ATTEMPTS", 20)

# --- Trash -------------------------------------------------------------------------
# Deleted folders, documents and versions stay restorable (and count as stored) this many days.
PORTAL_TRASH_DAYS = envint("TRASH_DAYS", 30)

# --- Ending a collaboration -----------------------------------------------------
# The customer's users keep read access this many days when a collaboration ends with its files
# kept; then the files are deleted (all but those under a retention rule) and stop counting.
PORTAL_ENDED_READ_DAYS = envint("ENDED_READ_DAYS", 90)

# --- E-signing ------------------------------------------------------------------
# What may be sent for signing (signing.pdfcheck) and how long an email code lives.
SIGNING_MAX_PAGES = envint("SIGNING_MAX_PAGES", 500)
SIGNING_MAX_BYTES = envint("SIGNING_MAX_BYTES", 50 * 10**6)  # 50 MB
SIGNING_VERIFY_MAX_BYTES = envint("SIGNING_VERIFY_MAX_BYTES", 25 * 2**20)  # 25 MB; the Verify page, in memory
SIGNING_CODE_MINUTES = envint("SIGNING_CODE_MINUTES", 10)
SIGNING_CODE_TRIES = envint("SIGNING_CODE_TRIES", 5)
# The portal's sealing certificate (PAdES seal of every signed PDF). Without these, development
# files under var/signing/ are used, made by `manage.py signing_dev_cert` (make run does it).
SIGNING_SEAL_KEY_FILE = Path(envstr("SIGNING_SEAL_KEY_FILE", str(VAR_DIR / "signing" / "seal-key.pem")))
SIGNING_SEAL_CERT_FILE = Path(envstr("SIGNING_SEAL_CERT_FILE", str(VAR_DIR / "signing" / "seal-cert.pem")))
SIGNING_SEAL_CA_FILE = Path(envstr("SIGNING_SEAL_CA_FILE", str(VAR_DIR / "signing" / "seal-ca.pem")))
SIGNING_SEAL_KEY_PASSPHRASE = envstr("SIGNING_SEAL_KEY_PASSPHRASE")
SIGNING_AUDIT_FONT_FILE = envstr("SIGNING_AUDIT_FONT_FILE", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# BankID relying-party API v6 (portal/bankid/). Empty URL: BankID is not configured. The client
# certificate is a PEM certificate + key or a PKCS#12 file with its password; the CA is the one
# BankID's server certificate is issued by. Plain http:// only to loopback (the simulator).
BANKID_URL = envstr("BANKID_URL")  # e.g. https://appapi2.test.bankid.com/rp/v6.0/
BANKID_CERT_FILE = envstr("BANKID_CERT_FILE")
BANKID_KEY_FILE = envstr("BANKID_KEY_FILE")
BANKID_P12_FILE = envstr("BANKID_P12_FILE")
BANKID_P12_PASSWORD = envstr("BANKID_P12_PASSWORD")
BANKID_CA_FILE = envstr("BANKID_CA_FILE")
BANKID_CONNECT_TIMEOUT = envint("BANKID_CONNECT_TIMEOUT", 5)  # seconds
BANKID_READ_TIMEOUT = envint("BANKID_READ_TIMEOUT", 10)  # seconds
BANKID_ATTEMPTS = envint("BANKID_ATTEMPTS", 3)  # tries of a call answered maintenance/internalError
BANKID_RETRY_PAUSE_MS = envint("BANKID_RETRY_PAUSE_MS", 1000)  # pause between those tries

# "Large volumes" quote requests go to SUPPORT_EMAIL (with the email settings below).

# --- Users, login -----------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
# Guardian's anonymous user row is not needed: anonymous visitors never hold object permissions.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
LOGIN_URL = "login"
# Login lockout (django-axes): AXES_FAILURE_LIMIT failed logins for one email from one address lock
# that pair for AXES_COOLOFF_TIME; a success resets the count. An admin lifts a lock sooner by
# deleting the row under Axes > Access attempts in the Django admin. Tries during the lock are not
# counted, so the time the lockout page names holds.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"  # the email field of portal.forms.EmailLoginForm
AXES_USERNAME_CALLABLE = "portal.throttle.login_username"
AXES_CLIENT_IP_CALLABLE = "portal.audit.client_ip"  # the same address the audit log records
AXES_LOCKOUT_CALLABLE = "portal.throttle.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_ENABLE_ADMIN = False  # portal/admin.py registers axes' admin itself
# Axes keeps a row per login and failed login: portal.tasks.prune_login_records removes them
# after this many days, nightly.
AXES_LOG_DAYS = envint("AXES_LOG_DAYS", 90)
# Rate limits (django-ratelimit, counted in the cache: Redis in production). "5/h" is five an
# hour, "60/m" sixty a minute. A refusal is portal.throttle's 429 page and an audit row.
RATE_PASSWORD_RESET_EMAIL = envstr("RATE_PASSWORD_RESET_EMAIL", "3/h")
RATE_PASSWORD_RESET_IP = envstr("RATE_PASSWORD_RESET_IP", "10/h")
RATE_CUSTOMER_INVITE = envstr("RATE_CUSTOMER_INVITE", "5/h")  # per partner
RATE_SIGNING_LINK = envstr("RATE_SIGNING_LINK", "300/h")  # signing link pages per IP
RATE_SIGNING_CODE = envstr("RATE_SIGNING_CODE", "20/h")  # code checks (sign/approve) per IP
RATE_SIGNING_CODE_SEND = envstr("RATE_SIGNING_CODE_SEND", "30/h")  # code emails per IP, all parties
RATE_SIGNING_VERIFY = envstr("RATE_SIGNING_VERIFY", "30/h")  # PDFs checked on the Verify page per IP
RATE_UPLOAD = envstr("RATE_UPLOAD", "1000/h")  # uploaded files per user
RATE_BANKID_START = envstr("RATE_BANKID_START", "30/h")  # BankID logins started per IP
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Two-factor authentication (portal/twofactor.py, django-otp): the issuer an authenticator app shows,
# and whether Django admin demands it of site staff (always in production, PORTAL_DEBUG false).
OTP_TOTP_ISSUER = envstr("TOTP_ISSUER", "Partnerportalen")
TWO_FACTOR_FOR_ADMIN = not DEBUG
# Links in emails (portal.tokens): a reset link asked for by someone who knows the address lives a
# day; the set-password link of a welcome or invitation email, a week.
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", 24 * 3600)
SET_PASSWORD_TIMEOUT = envint("SET_PASSWORD_TIMEOUT", 7 * 24 * 3600)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sessions (portal/sessions.py): signed out after this long without a request, a firm's staff and
# customer users alike by default (both reach the same kind of documents: personnummer, accounts),
# and after PORTAL_SESSION_ABSOLUTE_HOURS from login however active.
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", 120)
SESSION_IDLE_MINUTES_CUSTOMER = envint("SESSION_IDLE_MINUTES_CUSTOMER", SESSION_IDLE_MINUTES)
SESSION_ABSOLUTE_HOURS = envint("SESSION_ABSOLUTE_HOURS", 12)
SESSION_COOKIE_AGE = envint("SESSION_AGE", SESSION_ABSOLUTE_HOURS * 3600)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY") else None
# Production over HTTPS: redirect plain HTTP, and tell browsers to use HTTPS only for this long.
SECURE_SSL_REDIRECT = envbool("SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 0)
# Both bind every subdomain of the domain for as long as the max-age: the domain owner's decision.
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", default=False)
# No page of the portal is meant to be shown in a frame, not even by the portal itself.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy (django-csp) and Permissions-Policy -----------------
# No inline script or style anywhere: a tag that must be inline carries {{ request.csp_nonce }}.
# Stored files answer with their own stricter policy (documents.delivery), which the middleware
# leaves alone. Images may come from S3 too: previews redirect to a presigned URL there.
_s3_endpoint = urlsplit(envstr("S3_ENDPOINT_URL"))
_s3_image_origins = (
    [f"{_s3_endpoint.scheme}://{_s3_endpoint.netloc}" if _s3_endpoint.netloc else "https://*.amazonaws.com"]
    if envstr("S3_BUCKET")
    else []
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:", *_s3_image_origins],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Powerful browser features no page of the portal uses, switched off for every origin.
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), publickey-credentials-get=(), usb=()"
)

# --- Language and time ------------------------------------------------------
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "portal_language"
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# Documents: the local filesystem by default, S3 (django-storages + boto3) when PORTAL_S3_BUCKET is set.
S3_BUCKET = envstr("S3_BUCKET")
if S3_BUCKET:
    _default_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": envstr("S3_ENDPOINT_URL") or None,
            "access_key": envstr("S3_ACCESS_KEY"),
            "secret_key": envstr("S3_SECRET_KEY"),
            "region_name": envstr("S3_REGION", "us-east-1"),
            "addressing_style": envstr("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "querystring_auth": True,
            "querystring_expire": envint("S3_URL_EXPIRY", 60),
            "file_overwrite": False,
            "default_acl": None,
            # Files read back (previews, zips) spill to disk past 8 MiB instead of filling memory.
            "max_memory_size": 8 * 1024 * 1024,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if envbool("MANIFEST_STATIC", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: the largest file accepted, and where a browser form's file waits (Django's upload handler)
# before it is streamed into storage; a raw-body upload goes straight into storage (documents.storage).
MAX_UPLOAD_BYTES = envint("MAX_UPLOAD_BYTES", 2 * 10**9)  # 2 GB; the portal counts 1 GB = 10^9 bytes
FILE_UPLOAD_TEMP_DIR = envstr("UPLOAD_TEMP_DIR") or None
# Downloads from filesystem storage: with nginx in front (docker-compose.yml) Django answers with
# X-Accel-Redirect to this internal location; without it (the embedded default) Django sends the file.
X_ACCEL_REDIRECT_PREFIX = envstr("X_ACCEL_REDIRECT_PREFIX")  # e.g. "/protected/"
# Virus scanning (documents/scanning.py): with clamd's unix socket path or host:port set, every
# upload is scanned before it is stored. While clamd cannot answer, uploads are refused unless
# PORTAL_CLAMD_FAIL_OPEN; clamd's StreamMaxLength must be at least PORTAL_MAX_UPLOAD_BYTES.
CLAMD_SOCKET = envstr("CLAMD_SOCKET")
CLAMD_FAIL_OPEN = envbool("CLAMD_FAIL_OPEN", default=False)
CLAMD_TIMEOUT = envint("CLAMD_TIMEOUT", 120)  # seconds a send or the verdict may take

# --- Email ------------------------------------------------------------------
# With no PORTAL_EMAIL_HOST the embedded default prints emails to the console.
EMAIL_HOST = envstr("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 587)
    EMAIL_HOST_USER = envstr("EMAIL_USER")
    EMAIL_HOST_PASSWORD = envstr("EMAIL_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", default=False)
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)
else:
    # Printed to the console and the last 200 kept for the admin (Sent emails, development).
    EMAIL_BACKEND = "portal.mail.ConsoleKeepingBackend"
DEFAULT_FROM_EMAIL = envstr("EMAIL_FROM", "Partnerportalen <no-reply@portal.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_EMAIL = envstr("SUPPORT_EMAIL", "support@portal.example")

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    # fontTools (fpdf2's font subsetting for the audit trail) logs every table it touches at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

# --- Portal -----------------------------------------------------------------
PAGE_SIZE = envint("PAGE_SIZE", 25)
