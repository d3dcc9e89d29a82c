"""Settings for the 3CX dashboard, driven by environment variables.

Zero-setup defaults (SQLite and a SQLite-backed Celery broker in ./var) let a newcomer run
everything with nothing installed; DATABASE_URL, CELERY_BROKER_URL and REDIS_URL switch to
PostgreSQL and Redis. See README.md for the full list of variables.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.env import (
    derived_fernet_key,
    env_bool,
    env_database,
    env_fernet_keys,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("DASHBOARD_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", default=False)
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG-on"  # noqa: S105

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "django_htmx",
    "django_filters",
    "django_celery_beat",
    "django_celery_results",
    "dashboard.accounts",
    "dashboard.tenants",
    "dashboard.jobs",
    "dashboard.directory",
    "dashboard.connections",
    "dashboard.storage",
    "dashboard.reports",
    "dashboard.exports",
    "dashboard.console",
    "integrations.threecx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything else, so that every answer carries its headers (redirects of the
    # guards below, CSRF refusals, static files; no-store once a user is signed in).
    "dashboard.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "dashboard.accounts.middleware.HtmxLoginRedirectMiddleware",
    "dashboard.accounts.middleware.RequireMfaMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

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
                "dashboard.tenants.context_processors.organizations",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and scheduler share one SQLite file: wait for locks instead of failing,
    # take the write lock when a transaction starts (no deadlock upgrading a read), and keep
    # a write-ahead log so that readers (progress polls) never wait for a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    env_url("REDIS_URL", REDIS_URL, schemes={"redis", "rediss"})
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dashboard",
        }
    }
else:
    # A file cache is shared by every process on the machine, which login rate limits need.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ------------------------------------------------------------------------------

CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}",
    schemes={"redis", "rediss", "amqp", "sqla+sqlite", "sqla+postgresql", "memory"},
)
CELERY_RESULT_BACKEND = "django-db"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "jobs-mark-stale": {"task": "jobs.mark_stale", "schedule": 60.0},
    "jobs-purge": {"task": "jobs.purge", "schedule": 6 * 60 * 60.0},
    # Acknowledgements and suppressions whose expiry passed count as open findings again.
    "reports-acknowledgements-expire": {
        "task": "reports.acknowledgements_expire",
        "schedule": 15 * 60.0,
    },
    # Sends the daily and weekly audit digests that are due (each subscription at most once
    # per period, whenever this runs).
    "reports-digests-send": {"task": "reports.digests_send", "schedule": 60 * 60.0},
    # Deletes the files of exports older than DASHBOARD_EXPORT_RETENTION_DAYS (their rows
    # stay, marked expired).
    "exports-purge": {"task": "exports.purge", "schedule": 60 * 60.0},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Authentication (django-allauth) ------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "dashboard.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[3CX Dashboard] "
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
SOCIALACCOUNT_PROVIDERS: dict = {}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "3CX Dashboard"

# --- Email -------------------------------------------------------------------------------

EMAIL_HOST = env_str("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "3CX Dashboard <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security (production defaults; all relaxed only by DJANGO_DEBUG) ----------------------

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 60 * 60 * 24 * 14, minimum=60)

# --- Static files, i18n ----------------------------------------------------------------------

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request without it
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    # Files of background exports (dashboard/exports): any storage backend will do; they are
    # served only through the dashboard's download view, never by URL.
    "exports": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "exports")},
    },
}

LANGUAGE_CODE = "en-gb"
FORMAT_MODULE_PATH = ["dashboard.formats"]  # one date format everywhere (see its module)
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # These log token request bodies (with the client secret) and tokens at DEBUG: keep them
    # quiet whatever the root level is.
    "loggers": {
        name: {"level": "WARNING"}
        for name in ("requests_oauthlib", "oauthlib", "urllib3.connectionpool")
    },
}

# --- Product settings --------------------------------------------------------------------------

#: Where people open the dashboard: links in mails sent outside a request (digests) start
#: with it.
SITE_URL = env_url("DASHBOARD_SITE_URL", "http://127.0.0.1:8000", schemes={"http", "https"}).rstrip(
    "/"
)
INVITATION_VALID_DAYS = env_int("DASHBOARD_INVITATION_VALID_DAYS", 7, minimum=1)
#: A running sync whose worker has not reported for this long is taken for dead.
DIRECTORY_SYNC_STALE_AFTER = env_int("DIRECTORY_SYNC_STALE_AFTER", 15 * 60, minimum=10)
#: Automatic retry runs after a transient failure, and the wait before each (seconds).
DIRECTORY_SYNC_RETRY_DELAYS = [60, 300, 900]
#: A background job (connection test, storage browse) showing no sign of life for this long,
#: queued without a worker taking it or running without its worker's heartbeat, is failed.
JOB_STALE_AFTER = env_int("DASHBOARD_JOB_STALE_AFTER", 120, minimum=10)
#: Finished background jobs are deleted this many days after they ended.
JOB_RETENTION_DAYS = env_int("DASHBOARD_JOB_RETENTION_DAYS", 30, minimum=1)
#: Storage browsing asks the PBX each time: how many folders a user, and all users of one
#: connection together, may open per minute.
STORAGE_BROWSE_PER_USER = env_int("DASHBOARD_STORAGE_BROWSE_PER_USER", 30, minimum=1)
STORAGE_BROWSE_PER_CONNECTION = env_int("DASHBOARD_STORAGE_BROWSE_PER_CONNECTION", 60, minimum=1)
#: Days an export's file can be downloaded before beat deletes it.
EXPORT_RETENTION_DAYS = env_int("DASHBOARD_EXPORT_RETENTION_DAYS", 7, minimum=1)
#: Exports of up to this many rows stream straight back; bigger ones (and every export
#: across connections) are prepared in the background.
EXPORT_DIRECT_MAX_ROWS = env_int("DASHBOARD_EXPORT_DIRECT_MAX_ROWS", 10_000, minimum=0)
#: The XAPI console keeps an answer (secrets masked) of up to this many bytes with its call,
#: for the page, the downloads and the history; a bigger one is noted, not kept.
XAPI_ANSWER_MAX_BYTES = env_int("DASHBOARD_XAPI_ANSWER_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
#: Every console call makes the PBX work: how many a user, and all users of one connection
#: together, may send per minute.
XAPI_CALLS_PER_USER = env_int("DASHBOARD_XAPI_CALLS_PER_USER", 30, minimum=1)
XAPI_CALLS_PER_CONNECTION = env_int("DASHBOARD_XAPI_CALLS_PER_CONNECTION", 60, minimum=1)

# --- 3CX connections ---------------------------------------------------------------------------

# Fernet keys that encrypt 3CX client secrets and cached tokens, newest first. Rotate by adding
# a new key in front, running `manage.py threecx_reencrypt_secrets`, then dropping the old key.
THREECX_SECRET_KEYS = env_fernet_keys("THREECX_SECRET_KEYS")
if not THREECX_SECRET_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "THREECX_SECRET_KEYS must be set when DJANGO_DEBUG is off: a comma-separated list of "
            "Fernet keys (generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')."
        )
    # Development only: a key derived from the development SECRET_KEY.
    THREECX_SECRET_KEYS = [derived_fernet_key(SECRET_KEY)]
# Plain-http servers and addresses the base-URL guard refuses (loopback, link-local, cloud
# metadata) are allowed only when named here: the built-in simulator on 127.0.0.1, say.
THREECX_ALLOW_HTTP = env_bool("THREECX_ALLOW_HTTP", default=False)
THREECX_ALLOWED_ADDRESSES = env_list("THREECX_ALLOWED_ADDRESSES", [])
# Hosted multi-tenant deployments refuse private ranges too (RFC 1918, ULA, carrier-grade
# NAT...): there a tenant's address must never reach the provider's own network.
THREECX_REFUSE_PRIVATE = env_bool("THREECX_REFUSE_PRIVATE", default=False)
THREECX_PAGE_SIZE = env_int("THREECX_PAGE_SIZE", 500, minimum=1)
THREECX_USER_AGENT = "3CX-Dashboard/0.1"
