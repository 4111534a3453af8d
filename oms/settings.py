"""Storefill settings: every deployment-specific value comes from an environment variable."""

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOREFILL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "dev-only-storefill-secret-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0 (the development key is public).")

if not DEBUG and not os.environ.get("ALLOWED_HOSTS", "").strip():
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0: the host names the app answers to, "
                               "comma-separated (e.g. storefill.example.com).")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "oms",
    "stores",
    "fulfillment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "oms.security.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "oms.security.SessionIdleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: it turns a locked-out login into the lockout page (docs/deploy.md, "Login throttling").
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "oms.urls"

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
                "oms.console.access.console_context",
            ],
        },
    },
]

WSGI_APPLICATION = "oms.wsgi.application"

# --- Database -----------------------------------------------------------------------------------
# Default: a SQLite file under var/ (the demo). Tests and production use PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'storefill.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs the web server, a Celery worker and beat against one file: WAL lets readers
    # go on while one process writes, IMMEDIATE transactions and a busy timeout make writers queue
    # instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: a locked-out username or address is refused before its password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise looks into it from the first request
# Production (DEBUG=0) serves collectstatic's files through WhiteNoise: content-hashed names cached for a year,
# gzip and brotli copies; no CDN needed (a store's network may have no internet). The demo serves static/ as is.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security (docs/deploy.md) ------------------------------------------------------------------
# Off by default only in development (DEBUG=1). Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER to
# the header it sets, e.g. "HTTP_X_FORWARDED_PROTO=https", so redirects and secure cookies see HTTPS.
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = tuple(os.environ["SECURE_PROXY_SSL_HEADER"].split("=", 1))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # a load balancer's probes come in plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# Pages send the token from the form or the htmx header, never from script reading the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Tablets are shared: a session ends after this many idle minutes (each request within it extends it).
SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "30"))
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
# Request size limits, each refused before the body is read: a file upload (inventory CSV) up to
# FILE_UPLOAD_MAX_BYTES, any other form up to DATA_UPLOAD_MAX_MEMORY_SIZE, a shop webhook up to WEBHOOK_MAX_BYTES.
FILE_UPLOAD_MAX_BYTES = int(os.environ.get("FILE_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
MAX_REQUEST_BYTES = FILE_UPLOAD_MAX_BYTES + 1024 * 1024  # the file and its form around it (oms/security.py)
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("FORM_MAX_BYTES", str(5 * 1024 * 1024)))
WEBHOOK_MAX_BYTES = int(os.environ.get("WEBHOOK_MAX_BYTES", str(1024 * 1024)))

# Content-Security-Policy: scripts only from this site's own files (no inline script or handler, no eval).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # style attributes in templates; styles cannot run code
        "img-src": ["'self'", "data:", "https:"],  # product images may live on the shop's CDN
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username, or from one address,
# further attempts are refused for AXES_COOLOFF_MINUTES; operations staff unlock early in the console.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "oms.security.lockout_response"
# The client's address (lockouts by address, code guesses): REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies
# the one they forwarded (oms/security.py).
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "oms.security.client_ip"
AXES_VERBOSE = False
# Customer pages that take a code from a link: this many bad codes from one address in the window, then 429.
CODE_GUESS_LIMIT = int(os.environ.get("CODE_GUESS_LIMIT", "20"))
CODE_GUESS_WINDOW_MINUTES = int(os.environ.get("CODE_GUESS_WINDOW_MINUTES", "15"))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Cache: counters every web process must share (code guesses), so Redis when there is one ---------
# CACHE_URL: a redis:// URL, or "locmem://" for a cache of each process's own (the demo, the tests).
CACHE_URL = os.environ.get("CACHE_URL", "")
if not CACHE_URL and os.environ.get("CELERY_BROKER_URL", "").startswith(("redis://", "rediss://")):
    CACHE_URL = os.environ["CELERY_BROKER_URL"]
CACHES = {"default": (
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL, "KEY_PREFIX": "storefill"}
    if CACHE_URL.startswith(("redis://", "rediss://")) else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)}

# --- Email (console by default: the demo prints emails) -----------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Storefill <orders@storefill.example>")

# --- Celery -------------------------------------------------------------------------------------
# Default: kombu's filesystem transport under var/ so the demo needs no broker server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-queue"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task whose worker died unacknowledged is delivered again after this many seconds.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "oms.beat:DefaultsOnceScheduler"  # seeds the schedules once (oms/beat.py)
CELERY_TASK_ALWAYS_EAGER = False
# Base of the exponential retry backoff for tasks (seconds); tests shorten it.
STOREFILL_RETRY_BACKOFF = float(os.environ.get("STOREFILL_RETRY_BACKOFF", "30"))

# --- Outbox (docs/outbox.md) -------------------------------------------------------------------
# A message that failed this many tries is DEAD (shown in the console, retried by hand). The wait between
# tries doubles from STOREFILL_RETRY_BACKOFF up to OUTBOX_MAX_BACKOFF seconds (with jitter).
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "10"))
OUTBOX_MAX_BACKOFF = float(os.environ.get("OUTBOX_MAX_BACKOFF", "3600"))
# The periodic sweep: delivers what no on-commit kick reached (broker down, retries coming due).
OUTBOX_SWEEP_SECONDS = float(os.environ.get("OUTBOX_SWEEP_SECONDS", "30"))
# Messages one dispatcher run tries before it hands over to a fresh task.
OUTBOX_DISPATCH_BATCH = int(os.environ.get("OUTBOX_DISPATCH_BATCH", "200"))
# Seconds an adapter's network call may take (the message's row stays locked meanwhile).
OUTBOX_SEND_TIMEOUT = float(os.environ.get("OUTBOX_SEND_TIMEOUT", "30"))
# The email backend customer emails go through (default: EMAIL_BACKEND); the test worker sends by SMTP here.
OUTBOX_EMAIL_BACKEND = os.environ.get("OUTBOX_EMAIL_BACKEND", "")
# Modules registering email kinds besides every app's `emails` module (comma-separated).
OUTBOX_EMAIL_MODULES = env_list("OUTBOX_EMAIL_MODULES", "")

# --- Shop ---------------------------------------------------------------------------------------
SHOPIFY_WEBHOOK_SECRET = os.environ.get("SHOPIFY_WEBHOOK_SECRET", "storefill-dev-webhook-secret")
# The shop's side of the sync (docs/shop-sync.md): with OUTBOX_ADAPTERS
# "SHOP=oms.outbox.shop_webhook.ShopWebhookAdapter"
# every SHOP message is POSTed here as JSON, signed with HMAC-SHA256 of SHOP_SYNC_SECRET.
SHOP_SYNC_URL = os.environ.get("SHOP_SYNC_URL", "")
SHOP_SYNC_SECRET = os.environ.get("SHOP_SYNC_SECRET", "")
# Seconds to wait for the shop's answer before trying again later.
SHOP_SYNC_TIMEOUT = float(os.environ.get("SHOP_SYNC_TIMEOUT", "10"))
# Shopify's Admin GraphQL API (docs/shopify.md), used when SHOP_SYNC_ADAPTER is oms.shop.shopify.ShopifyAdapter.
SHOPIFY_SHOP_DOMAIN = os.environ.get("SHOPIFY_SHOP_DOMAIN", "")  # e.g. storefill-demo.myshopify.com
SHOPIFY_ADMIN_TOKEN = os.environ.get("SHOPIFY_ADMIN_TOKEN", "")
SHOPIFY_API_VERSION = os.environ.get("SHOPIFY_API_VERSION", "2025-01")
# The GraphQL endpoint; default https://<domain>/admin/api/<version>/graphql.json (tests point it at a fake).
SHOPIFY_GRAPHQL_URL = os.environ.get("SHOPIFY_GRAPHQL_URL", "")
# Shopify emails the customer about a shipped fulfillment (with tracking) and about edits and cancellations.
SHOPIFY_NOTIFY_CUSTOMER = env_bool("SHOPIFY_NOTIFY_CUSTOMER", True)
# An order canceled here is refunded in Shopify.
SHOPIFY_CANCEL_REFUND = env_bool("SHOPIFY_CANCEL_REFUND", True)
# The safety-net pull of orders Shopify changed (oms/shop/pull.py): how often, how far back the first pull looks,
# and how much each pull overlaps the previous one (a pull is idempotent, the overlap costs only reads).
SHOPIFY_PULL_SECONDS = float(os.environ.get("SHOPIFY_PULL_SECONDS", "900"))
SHOPIFY_PULL_FIRST_HOURS = float(os.environ.get("SHOPIFY_PULL_FIRST_HOURS", "24"))
SHOPIFY_PULL_OVERLAP_SECONDS = float(os.environ.get("SHOPIFY_PULL_OVERLAP_SECONDS", "300"))
# Who tells the customer a pickup is ready: "storefill" (our email with the code) or "shop" (a SHOP message
# `pickup-ready`; with Shopify, its own "ready for pickup" notification). Never both.
PICKUP_READY_NOTIFIED_BY = os.environ.get("PICKUP_READY_NOTIFIED_BY", "storefill")
if PICKUP_READY_NOTIFIED_BY not in ("storefill", "shop"):
    raise ImproperlyConfigured('PICKUP_READY_NOTIFIED_BY must be "storefill" or "shop"')
# The SHOP destination's adapter once SHOP_SYNC_URL is set (issue 9 adds a Shopify one behind the same interface).
SHOP_SYNC_ADAPTER = os.environ.get("SHOP_SYNC_ADAPTER", "oms.outbox.shop_webhook.ShopWebhookAdapter")

# Outbox destination → adapter class (docs/outbox.md). Default: customer emails always, the shop once
# SHOP_SYNC_URL is set; OUTBOX_ADAPTERS ("EMAIL=oms.outbox.email.EmailAdapter,SHOP=…") replaces the whole
# map. A destination without an adapter is not delivered: its messages wait, PENDING, until one is configured.
OUTBOX_ADAPTERS = dict(item.split("=", 1) for item in env_list(
    "OUTBOX_ADAPTERS",
    "EMAIL=oms.outbox.email.EmailAdapter"
    + (f",SHOP={SHOP_SYNC_ADAPTER}" if SHOP_SYNC_URL or SHOP_SYNC_ADAPTER.endswith(".ShopifyAdapter") else ""),
))

# --- Feeds (docs/feeds.md): CSV files from and to the shop and the ERP ----------------------------
# The folders stand in for SFTP drops: var/feeds/inbox/<kind>/ is watched, files are archived after import.
FEEDS_DIR = Path(os.environ.get("FEEDS_DIR", VAR_DIR / "feeds"))
# Rows one transaction of a feed import applies (memory stays bounded whatever the file's size).
FEED_IMPORT_CHUNK = int(os.environ.get("FEED_IMPORT_CHUNK", "1000"))
FEED_DROP_SECONDS = float(os.environ.get("FEED_DROP_SECONDS", "60"))
# How often the ERP/WMS export files (orders, allocations, fulfilled lines) are written from the outbox.
FEED_EXPORT_SECONDS = float(os.environ.get("FEED_EXPORT_SECONDS", "60"))

# --- Approval -----------------------------------------------------------------------------------
APPROVAL_HOLD_TAGS = env_list("APPROVAL_HOLD_TAGS", "HOLD,FRAUD_REVIEW")
APPROVAL_PAID_STATUSES = env_list("APPROVAL_PAID_STATUSES", "paid,authorized")
# Pickup orders may be paid at the counter: a "pending" payment then passes approval.
APPROVAL_PICKUP_ALLOWS_PENDING = env_bool("APPROVAL_PICKUP_ALLOWS_PENDING", True)
APPROVAL_INTERVAL_SECONDS = int(os.environ.get("APPROVAL_INTERVAL_SECONDS", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Default schedules; django-celery-beat copies them into the database, where operations staff edit them.
# /readyz (oms/health.py): the worker's heartbeat task runs every HEARTBEAT_SECONDS; older than
# READYZ_WORKER_MAX_AGE_SECONDS means no worker (or no beat) is working.
HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "30"))
READYZ_WORKER_MAX_AGE_SECONDS = float(os.environ.get("READYZ_WORKER_MAX_AGE_SECONDS", str(4 * HEARTBEAT_SECONDS)))
READYZ_TIMEOUT_SECONDS = float(os.environ.get("READYZ_TIMEOUT_SECONDS", "2"))
CELERY_BEAT_SCHEDULE = {
    "approve-orders": {"task": "oms.tasks.approve_orders", "schedule": float(APPROVAL_INTERVAL_SECONDS)},
    "broker-brokering": {"task": "oms.tasks.broker_queue", "schedule": 300.0, "kwargs": {"queue": "BROKERING"}},
    "broker-rejected": {"task": "oms.tasks.broker_queue", "schedule": 300.0, "kwargs": {"queue": "REJECTED"}},
    "broker-unfillable": {"task": "oms.tasks.broker_queue", "schedule": 3600.0, "kwargs": {"queue": "UNFILLABLE"}},
    "broker-unfillable-hold": {
        "task": "oms.tasks.broker_queue", "schedule": 3600.0, "kwargs": {"queue": "UNFILLABLE_HOLD"},
    },
    "cancel-expired-unfillable": {"task": "oms.tasks.cancel_expired_unfillable", "schedule": 86400.0},
    "release-waiting-lines": {"task": "oms.tasks.release_waiting_lines", "schedule": 3600.0},
    "send-pickup-reminders": {"task": "fulfillment.tasks.send_pickup_reminders", "schedule": 900.0},
    "expire-pickups": {"task": "fulfillment.tasks.expire_pickups", "schedule": 900.0},
    "withdraw-unstarted-pick-jobs": {"task": "fulfillment.tasks.withdraw_unstarted_pick_jobs", "schedule": 300.0},
    "escalate-late-pickup-jobs": {"task": "fulfillment.tasks.escalate_late_pickup_jobs", "schedule": 300.0},
    "dispatch-outbox": {"task": "oms.tasks.dispatch_outbox", "schedule": OUTBOX_SWEEP_SECONDS},
    "import-inventory-drops": {"task": "oms.tasks.import_inventory_drops", "schedule": FEED_DROP_SECONDS},
    "import-wms-drops": {"task": "oms.tasks.import_wms_drops", "schedule": FEED_DROP_SECONDS},
    "export-erp-feeds": {"task": "oms.tasks.export_erp_feeds", "schedule": FEED_EXPORT_SECONDS},
    "pull-shop-orders": {"task": "oms.tasks.pull_shop_orders", "schedule": SHOPIFY_PULL_SECONDS},
    "worker-heartbeat": {"task": "oms.tasks.worker_heartbeat", "schedule": HEARTBEAT_SECONDS},
}

# --- Routing ------------------------------------------------------------------------------------
BROKERING_BATCH_SIZE = int(os.environ.get("BROKERING_BATCH_SIZE", "300"))
# A RUNNING run whose heartbeat is older than this is taken as crashed and closed by the next run.
BROKERING_RUN_STALE_SECONDS = int(os.environ.get("BROKERING_RUN_STALE_SECONDS", "900"))
# Tell the shop when lines are parked as unfillable.
SHOP_NOTIFY_UNFILLABLE = env_bool("SHOP_NOTIFY_UNFILLABLE", False)

# --- Pickup alternatives (oms/pickup/alternatives.py) --------------------------------------------------
# Days a customer's alternatives link (another store, delivery, cancel) stays valid.
PICKUP_OFFER_DAYS = int(os.environ.get("PICKUP_OFFER_DAYS", "7"))
# Where customers reach this app: the links in customer emails are built on it.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")

# --- Carriers -----------------------------------------------------------------------------------
# Dotted paths of the carrier adapters (subclasses of fulfillment.carriers.base.Carrier) stores can label with.
# The console's Tracking page lists parcels handed to a carrier this many hours ago with no carrier scan since.
TRACKING_STALE_HOURS = float(os.environ.get("TRACKING_STALE_HOURS", "24"))
# EasyPost (docs/carriers.md): add fulfillment.carriers.easypost.EasyPostCarrier to STOREFILL_CARRIERS.
EASYPOST_API_KEY = os.environ.get("EASYPOST_API_KEY", "")
EASYPOST_API_BASE = os.environ.get("EASYPOST_API_BASE", "https://api.easypost.com/v2")
EASYPOST_TIMEOUT = int(os.environ.get("EASYPOST_TIMEOUT", "20"))
EASYPOST_WEBHOOK_SECRET = os.environ.get("EASYPOST_WEBHOOK_SECRET", "")
STOREFILL_CARRIERS = env_list("STOREFILL_CARRIERS", "fulfillment.carriers.offline.OfflineCarrier")
# The carrier a new parcel is labelled with unless the associate picks another (a Carrier.code).
STOREFILL_DEFAULT_CARRIER = os.environ.get("STOREFILL_DEFAULT_CARRIER", "storefill-post")
