"""Paperboy settings: one module, every value read from the environment.

With nothing set it runs on the embedded default (SQLite, kombu's filesystem broker,
a local mail outbox). Production differs only in environment values.
"""

import importlib.util
import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from digest.ops.filequeue import filesystem_broker
from digest.ops.logconfig import logging_config

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.str("PAPERBOY_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
# The development key is public: with it anyone could sign a link for any subscriber.
# Outside DEBUG, a missing key (or this one, or example.env's placeholder) stops the
# process at start instead of serving forgeable links.
DEVELOPMENT_SECRET_KEY = "django-insecure-paperboy-development-key-change-me-0123456789"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == DEVELOPMENT_SECRET_KEY or SECRET_KEY.startswith("change-me"):
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set (or is the public development key) and DEBUG is off: "
            "refusing to start, because every link in every email would be forgeable. "
            "Set SECRET_KEY to 50 random characters, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))', "
            "or set DEBUG=1 on a development machine."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
# Earlier keys, newest first (comma-separated): links signed with them keep working after
# SECRET_KEY is rotated, until they are dropped from this list (docs/security.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="Paperboy")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Paperboy <digest@paperboy.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="admin@paperboy.localhost")
# The mailto: target of List-Unsubscribe; a real deployment routes it to the bounce handler.
UNSUBSCRIBE_MAILTO = env.str("UNSUBSCRIBE_MAILTO", default="unsubscribe@paperboy.localhost")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "digest",
    "digest.cockpit",
    "subscriptions",
    # Email services' webhooks (bounces, complaints); their backends only with ANYMAIL_ESP.
    "anymail",
    # Admin sign-in throttling (see "Admin sign-in throttling" below).
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "digest.ops.middleware.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "digest.ops.middleware.ContentSecurityPolicyMiddleware",
    "digest.ops.middleware.NoStoreForTokenPagesMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "digest.urls"
WSGI_APPLICATION = "digest.wsgi.application"

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
                "digest.ops.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paperboy.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default keeps its database, broker folder and outbox under var/.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one SQLite file: WAL lets readers run beside the one
    # writer, IMMEDIATE transactions take the write lock up front instead of failing
    # half-way with "database is locked", and the timeout waits for it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://paperboy")}
# The rate limits must count once for every web process. With a cache server they use
# it; without one, the database (digest/ops/ratecache.py), never one process's memory.
CACHES["ratelimit"] = (
    dict(CACHES["default"])
    if "CACHE_URL" in env
    else {
        "BACKEND": "digest.ops.ratecache.SharedCounterCache",
        "LOCATION": "paperboy_cache",
        # Above this many rows a write deletes the expired ones (never a live counter).
        "OPTIONS": {"MAX_ENTRIES": 200_000},
    }
)
RATELIMIT_USE_CACHE = "ratelimit"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
# whitenoise warns on every start when the folder is missing (before a collectstatic).
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Mail ---------------------------------------------------------------------------
# No EMAIL_URL: every message is written to the outbox folder, one .eml file each,
# and the DEBUG-only /outbox/ page lists them.
OUTBOX_DIR = Path(env.str("OUTBOX_DIR", default=str(VAR_DIR / "outbox")))
EMAIL_BACKEND = "digest.mail.outbox.OutboxEmailBackend"
if "EMAIL_URL" in env:
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"]
    EMAIL_PORT = _email["EMAIL_PORT"]
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
    # django-environ drops the leading "/" of filemail:///abs/path: read the URL's own path.
    EMAIL_FILE_PATH = urlsplit(env.str("EMAIL_URL")).path or _email["EMAIL_FILE_PATH"]
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)

# --- Celery ---------------------------------------------------------------------------
# kombu's filesystem transport passes messages through files in a folder: no broker
# process to install or start, and unlike memory:// it works across the separate web,
# worker and beat processes of the embedded default.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(VAR_DIR / "broker")
else:
    # Longer than the longest task, so Redis never hands a running task to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TASK_TIME_LIMIT = 600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Paperboy -------------------------------------------------------------------------
PAPERBOY_USER_AGENT = env.str(
    "PAPERBOY_USER_AGENT", default=f"Paperboy/0.1 (+{SITE_URL}; mailto:{CONTACT_EMAIL})"
)
# How long a claim on a delivery lasts unless renewed (a sender renews it every quarter
# lease while it works); an older claim is a dead worker's, and another may take it over.
DELIVERY_LEASE_SECONDS = env.int("DELIVERY_LEASE_SECONDS", default=600)
# Tries after which a delivery that never got an answer (a crash, a 4xx each time) is
# marked failed with its last error instead of being retried forever.
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=5)
DELIVERY_CHUNK_SIZE = env.int("DELIVERY_CHUNK_SIZE", default=500)
# Seconds the learners' refit waits after an answer: a subscriber going through a digest
# clicks several papers in a minute, and one refit after the burst is enough.
LEARNER_REFIT_DELAY = env.int("LEARNER_REFIT_DELAY", default=30)
# Minutes the first digest waits after a subscriber confirms: the confirmed page sends
# them on to pick papers and topics, and those answers should count in it. Applied by the
# planner (digest/delivery/planning.py); `send_digests --all` does not wait.
FIRST_DIGEST_DELAY = env.int("FIRST_DIGEST_DELAY", default=30)
# How many days of papers a daily digest draws from (weekly digests use seven).
DIGEST_WINDOW_DAYS = env.int("DIGEST_WINDOW_DAYS", default=3)
CONFIRM_TOKEN_MAX_AGE = env.int("CONFIRM_TOKEN_MAX_AGE", default=7 * 24 * 3600)
PREFERENCES_TOKEN_MAX_AGE = env.int("PREFERENCES_TOKEN_MAX_AGE", default=60 * 24 * 3600)
# The "changed your mind?" button on the page right after unsubscribing; later, only a
# fresh confirmation mail brings a subscriber back.
RESUBSCRIBE_TOKEN_MAX_AGE = env.int("RESUBSCRIBE_TOKEN_MAX_AGE", default=3600)
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)

# --- Admin sign-in throttling (django-axes) ---------------------------------------------
# Failed admin logins are counted per account and per client address (the same address
# the rate limits use, digest/ops/clientip.py), in the database every process shares.
# After AXES_FAILURE_LIMIT failures either one is locked out for AXES_COOLOFF_HOURS,
# the right password included; each failure and lockout is logged (logger "axes").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(hours=env.float("AXES_COOLOFF_HOURS", default=1.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "digest.ops.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True

# --- The staff cockpit (digest/cockpit/warnings.py) ------------------------------------
# A source whose last this-many runs all failed is a warning.
COCKPIT_FAILED_RUNS = env.int("COCKPIT_FAILED_RUNS", default=3)
# Rates of the day's digests tried (sent + failed) above which a person should look,
# once at least COCKPIT_MIN_TRIED were tried (two failures of three say little).
COCKPIT_FAILURE_RATE = env.float("COCKPIT_FAILURE_RATE", default=0.05)
COCKPIT_BOUNCE_RATE = env.float("COCKPIT_BOUNCE_RATE", default=0.02)
COCKPIT_MIN_TRIED = env.int("COCKPIT_MIN_TRIED", default=20)

# --- Security -------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_https = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])
SECURE_REDIRECT_EXEMPT = [r"^health/$"]

# --- Ingestion (digest/sources/http.py, digest/ingest/pipeline.py) ---------------------------
# arXiv allows one request every 3 seconds from all of a site's machines together. The
# slot is reserved in the default cache when it is shared (CACHE_URL=redis://..., needed
# as soon as several machines pull; `check --deploy` warns without it), else in
# VAR_DIR/slots/ under a file lock, which this machine's processes share.
ARXIV_MIN_INTERVAL_SECONDS = env.float("ARXIV_MIN_INTERVAL_SECONDS", default=3.0)
INGEST_CONNECT_TIMEOUT = env.float("INGEST_CONNECT_TIMEOUT", default=10.0)
INGEST_READ_TIMEOUT = env.float("INGEST_READ_TIMEOUT", default=60.0)
# The whole download, however slowly the bytes trickle in.
INGEST_TOTAL_TIMEOUT = env.float("INGEST_TOTAL_TIMEOUT", default=300.0)
# Attempts per request (timeouts, 429 and 5xx are retried) and the backoff between them:
# base * 2**attempt seconds, or Retry-After when the server sends one (up to the cap).
INGEST_MAX_ATTEMPTS = env.int("INGEST_MAX_ATTEMPTS", default=4)
INGEST_BACKOFF_SECONDS = env.float("INGEST_BACKOFF_SECONDS", default=2.0)
INGEST_MAX_BACKOFF_SECONDS = env.float("INGEST_MAX_BACKOFF_SECONDS", default=120.0)
# Sources are fetched from public addresses only (digest/sources/reach.py): a URL naming
# loopback, a private network or the cloud's metadata service is refused, so whoever may
# edit sources cannot reach the deployment's insides through the worker. Networks listed
# here (addresses or networks, comma-separated; a feed mirror on the LAN) are fetched too.
INGEST_ALLOWED_NETWORKS = env.list("INGEST_ALLOWED_NETWORKS", default=[])
for _network in INGEST_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"INGEST_ALLOWED_NETWORKS: {exc}") from exc
# A listing larger than this is refused rather than read into memory.
INGEST_MAX_BYTES = env.int("INGEST_MAX_BYTES", default=20 * 1024 * 1024)
# Backfills through the arXiv API stop after this many results (the API's own cap is 30000).
ARXIV_API_PAGE_SIZE = env.int("ARXIV_API_PAGE_SIZE", default=500)
# Where papers a subscriber pastes as examples are looked up when unknown (one request).
ARXIV_API_URL = env.str("ARXIV_API_URL", default="https://export.arxiv.org/api/query")
# Seconds a page may wait for arXiv (papers pasted as examples), slot included; what does
# not come in time is fetched later by a task (subscriptions.tasks.examples_fetch).
ARXIV_LOOKUP_TIMEOUT = env.float("ARXIV_LOOKUP_TIMEOUT", default=8.0)
ARXIV_API_MAX_RESULTS = env.int("ARXIV_API_MAX_RESULTS", default=10000)

# --- Production: logs, errors, queues (deploy/README.md) ------------------------------
# One JSON object per line (digest/ops/logs.py) unless LOG_FORMAT=plain; DEBUG defaults to plain.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}")
LOGGING = logging_config(LOG_FORMAT, level=env.str("LOG_LEVEL", default="INFO"))

# Errors (web requests, tasks, and ERROR log lines) go to Sentry when a DSN is given.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

# Three queues, so ingestion never waits behind a day's sending (or the reverse): beat's
# tick on "celery", ingest_* on "ingest", send_chunk on "send". A worker started without
# -Q consumes all three (the embedded default's single worker); production runs
# `-Q celery,ingest` and `-Q send` workers and scales them apart (deploy/README.md).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in ("celery", "ingest", "send")
)
CELERY_TASK_ROUTES = {
    "digest.tasks.ingest_*": {"queue": "ingest"},
    "digest.tasks.send_chunk": {"queue": "send"},
    # The ranking machines keep the encoded vocabulary (var/semantic-terms.sqlite3).
    "digest.tasks.prepare_ranking": {"queue": "send"},
    # Learners are fitted where the encoder and the paper vectors are (subscriptions.learners).
    "digest.tasks.refit_learners": {"queue": "send"},
    "digest.tasks.refit_requested_learners": {"queue": "send"},
    # It asks arXiv, as the pulls do, from the machines that may.
    "subscriptions.tasks.examples_fetch": {"queue": "ingest"},
}
# When Redis goes away mid-chunk, let the running chunk finish and record its outcomes
# (cancelling it would be a kill, repeating what it had sent but not yet recorded); the
# lost acknowledgement costs nothing, the claim already protects the rows.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# How long /health/ waits for the database and the broker before calling them down.
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=3.0)


# --- Subscriptions (owned by the subscriber-journey work) ------------------------------
# A form that comes back without its CSRF token gets a friendly page instead of
# Django's technical one.
CSRF_FAILURE_VIEW = "subscriptions.views.csrf_failure"
# Behind a reverse proxy every request comes from the proxy's address, so the per-IP
# rate limits would lump all visitors together. The shipped nginx passes the client's
# address in X-Real-IP; it is believed only from these proxies (addresses or networks,
# comma-separated), else the peer's own address counts (digest/ops/clientip.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=["127.0.0.1", "::1"])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc
# The request.META key a trusted proxy fills with the client's address.
CLIENT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="") or "HTTP_X_REAL_IP"
RATELIMIT_IP_META_KEY = "digest.ops.clientip.client_ip"


# --- Email service through django-anymail (digest/delivery/webhooks.py, docs/email.md) ----------
# Plain SMTP (EMAIL_URL) or the outbox stay the default. ANYMAIL_ESP names one of
# anymail's backends (amazon_ses, mailgun, postmark, sendgrid, brevo, ...); every other
# ANYMAIL_* variable goes into the ANYMAIL dict without its prefix, for example
# ANYMAIL_POSTMARK_SERVER_TOKEN=... and ANYMAIL_WEBHOOK_SECRET=user:long-random-password.
# The ESP's bounce, complaint and rejection webhooks (/anymail/<esp>/tracking/) suppress
# the address.
ANYMAIL_ESP = env.str("ANYMAIL_ESP", default="")
if ANYMAIL_ESP:
    if importlib.util.find_spec(f"anymail.backends.{ANYMAIL_ESP}") is None:
        raise ImproperlyConfigured(f"ANYMAIL_ESP={ANYMAIL_ESP!r} is not an anymail backend")
    EMAIL_BACKEND = f"anymail.backends.{ANYMAIL_ESP}.EmailBackend"
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in env.ENVIRON.items()
    if name.startswith("ANYMAIL_") and name != "ANYMAIL_ESP"
}
