"""Chorus settings: one module, every difference comes from the environment.

With no environment at all Chorus runs embedded on one machine: SQLite in WAL mode and
Celery over kombu's filesystem transport under ``var/``. Set ``DATABASE_URL`` and
``CELERY_BROKER_URL`` (docker-compose, or a machine that runs the services) and the same
code uses PostgreSQL and Redis. Every variable is listed in the README.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CHORUS_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key only exists so a fresh clone starts; production must set its own
# (``check --deploy`` flags the insecure prefix).
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "django-insecure-chorus-development-key-change-me-in-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "annotate",
    "modelserve",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every error under /api/ is JSON, whoever produced it (annotate.api.base).
    "annotate.api.base.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Every query parameter and form field passes the input boundary's text rule first.
    "annotate.input.middleware.InputBoundaryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Issue 17: the UI language (switcher cookie > annotator's preference >
    # Accept-Language > English); after auth, which the preference needs.
    "annotate.i18n.middleware.UILanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Issue 14: compiled templates are kept in memory (Django's cached loader),
            # whatever DEBUG says; under DEBUG the dev server's autoreloader empties
            # this cache whenever a template file changes, so edits still show at once.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotate.i18n.context_processors.ui_language",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
            conn_health_checks=True,
        )
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "chorus.sqlite3"),
            "OPTIONS": {
                # WAL lets the web process read while a worker writes; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Issue 17: the annotator UI in several languages ----------------------------------
# English is the source language; every other one has a catalog under locale/, compiled
# to .mo by the install step (``manage.py compile_translations``). Names are written in
# their own language: that is how a person finds theirs in the menu.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("es", "Español"),
    ("de", "Deutsch"),
    ("ar", "العربية"),
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language menu's choice: a year, like the session of a returning participant.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Pages for staff and machines stay English whatever the browser asks for: their texts
# are not translated, and API error messages and exported labels must not depend on a
# client's Accept-Language.
CHORUS_ENGLISH_ONLY_PATHS = ("/admin/", "/api/", "/dashboard/", "/research/")

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "staticfiles"))
STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
STORAGES["staticfiles"] = {"BACKEND": "config.storage.MemoStaticFilesStorage"}
MEDIA_ROOT = Path(os.environ.get("CHORUS_MEDIA_ROOT", VAR_DIR / "media"))

# --- Security defaults (production hardening lives behind env flags) -------------------
SESSION_COOKIE_HTTPONLY = True
# Issue 14: sessions are read from the shared cache (Redis, or files in embedded mode)
# and written through to the database, so a request costs no session query.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Reverse proxies whose X-Forwarded-For is believed (CIDRs); the client address of the
# login lockout, API throttling and audit log comes from it (annotate.security.client_ip).
# Empty: REMOTE_ADDR is the client. Behind a proxy (CHORUS_HTTPS=1) it must be set, or
# every client counts as the proxy's one address.
CHORUS_TRUSTED_PROXIES = env_list("CHORUS_TRUSTED_PROXIES")
if env_bool("CHORUS_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("CHORUS_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The input boundary (annotate.input): JSON bodies within size and depth limits,
    # finite numbers, 64-bit integers, no NUL or unpaired surrogate anywhere.
    "DEFAULT_PARSER_CLASSES": [
        "annotate.input.drf.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "annotate.api.base.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("CHORUS_API_THROTTLE", "6000/hour"),
        "anon": "120/hour",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chorus API",
    "DESCRIPTION": "Campaigns, labels and exports of the Chorus human-feedback platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs assets come from the sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Issue 6: several models have a "status" field; name each enum after its meaning.
    # Every operation documents its 400/401/403/404/429 answers (annotate.api.schema_hooks).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "annotate.api.schema_hooks.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "annotate.models.choices.CampaignStatus",
        "AssignmentStatusEnum": "annotate.models.choices.AssignmentStatus",
        "ExportStatusEnum": "annotate.models.exports.ExportStatus",
        "VersionStatusEnum": "modelserve.learning.models.VersionStatus",
    },
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND",
    "redis" + CELERY_BROKER_URL[5:]
    if CELERY_BROKER_URL.startswith("redis")
    else f"file://{VAR_DIR / 'celery' / 'results'}",
)
if CELERY_BROKER_URL.startswith("filesystem"):
    # Embedded mode: kombu's filesystem transport, one folder shared by web and workers.
    _broker_dir = VAR_DIR / "celery" / "broker"
    for sub in ("out", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Exchange bindings (fanout: remote control, broadcasts); kombu's default is
        # "control" relative to the working directory, i.e. litter in the checkout.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # A task not acknowledged within this many seconds is redelivered (acks_late):
    # longer than the longest hard time limit so a slow refit is not run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "7200"))
    }
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "modelserve.tasks.generate_*": {"queue": "generate"},
    "modelserve.tasks.refit_*": {"queue": "train"},
    "modelserve.tasks.train_*": {"queue": "train"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat entries (django-celery-beat copies them into its database tables on start).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Issue 4: keep every open campaign's pool of pre-generated items topped up.
    "generate-pool-topup": {
        "task": "modelserve.tasks.generate_pool_topup_all",
        "schedule": float(os.environ.get("CHORUS_POOL_TOPUP_S", "20")),
    },
}
# Issue 4: generation task limits (seconds) and retries on backend errors.
CHORUS_GENERATION_SOFT_LIMIT_S = int(os.environ.get("CHORUS_GENERATION_SOFT_LIMIT_S", "300"))
CHORUS_GENERATION_MAX_RETRIES = int(os.environ.get("CHORUS_GENERATION_MAX_RETRIES", "3"))

# --- Cache ----------------------------------------------------------------------------
# The cache carries cross-process state: the analytics debounce flag (set by a web
# process, cleared by the worker that recomputes), login-lockout counters and pool
# top-up debounces. A per-process memory cache would keep a web process's flag up long
# after the worker cleared its own copy (dashboards went stale for ~11 minutes), so the
# default is always shared: REDIS_URL, else the broker's Redis, else files under var/.
REDIS_URL = os.environ.get("REDIS_URL", "") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chorus",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Per-process copies of what every task page reads and may be seconds old by design
# (newest guideline, progress totals): no cache round trip per page (issue 14).
CACHES["local"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}

# --- Chorus ---------------------------------------------------------------------------
# Where converted and refit models live (Hugging Face format, one folder per version).
CHORUS_MODEL_DIR = Path(os.environ.get("CHORUS_MODEL_DIR", VAR_DIR / "models"))
CHORUS_EXPORT_DIR = Path(os.environ.get("CHORUS_EXPORT_DIR", VAR_DIR / "exports"))
# Prepare the default model in `manage.py runall` and load it in every pool process of a
# worker on the "generate" queue at start; 0 leaves both to the first generation.
CHORUS_WARM_MODELS = env_bool("CHORUS_WARM_MODELS", True)
# A crowd participant's data may be read or deleted within this many seconds of opening
# their signed join link (annotate.selectors.crowd_access).
CHORUS_CROWD_PROOF_MAX_AGE_S = int(os.environ.get("CHORUS_CROWD_PROOF_MAX_AGE_S", "3600"))
# Largest JSON body the REST API reads (annotate.input.drf); larger is a 400.
CHORUS_MAX_JSON_BYTES = int(os.environ.get("CHORUS_MAX_JSON_BYTES", str(32 * 1024 * 1024)))
# Issue 6: exports matching more annotations than this run as a Celery job, not a stream.
CHORUS_EXPORT_SYNC_MAX_ROWS = int(os.environ.get("CHORUS_EXPORT_SYNC_MAX_ROWS", "200000"))
# Default assignment lease: a task not submitted in this time frees its slot.
CHORUS_LEASE_SECONDS = int(os.environ.get("CHORUS_LEASE_SECONDS", "900"))
# Analytics snapshots are recomputed at most once per this many seconds per campaign.
CHORUS_ANALYTICS_DEBOUNCE_S = int(os.environ.get("CHORUS_ANALYTICS_DEBOUNCE_S", "30"))
# Issue 14: incremental snapshots (annotate/services/analytics.py).
CHORUS_ANALYTICS_INCREMENTAL_MIN_LABELS = int(
    os.environ.get("CHORUS_ANALYTICS_INCREMENTAL_MIN_LABELS", "100000")
)
CHORUS_ANALYTICS_FULL_EVERY = float(os.environ.get("CHORUS_ANALYTICS_FULL_EVERY", "0.1"))

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHORUS_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Issue 8: security hardening and operations ----------------------------------------
# Database down -> 503 with Retry-After (outermost after static files); CSP on every
# response; the audit log learns who is acting from the request.
MIDDLEWARE.insert(
    MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1,
    "annotate.security.middleware.DatabaseUnavailableMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "annotate.security.middleware.ContentSecurityPolicyMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "annotate.security.middleware.AuditContextMiddleware",
)
# Every password login is throttled; ModelBackend stays listed so sessions logged in with
# it explicitly (sign-up, join links) remain valid.
AUTHENTICATION_BACKENDS = [
    "annotate.security.backends.ThrottledModelBackend",
    "django.contrib.auth.backends.ModelBackend",
]
CHORUS_LOGIN_MAX_FAILURES = int(os.environ.get("CHORUS_LOGIN_MAX_FAILURES", "5"))
CHORUS_LOGIN_IP_MAX_FAILURES = int(os.environ.get("CHORUS_LOGIN_IP_MAX_FAILURES", "30"))
CHORUS_LOGIN_WINDOW_S = int(os.environ.get("CHORUS_LOGIN_WINDOW_S", "900"))
CHORUS_LOGIN_LOCKOUT_S = int(os.environ.get("CHORUS_LOGIN_LOCKOUT_S", "900"))
CHORUS_CSP_REPORT_ONLY = env_bool("CHORUS_CSP_REPORT_ONLY", False)
CHORUS_RETRY_AFTER_S = int(os.environ.get("CHORUS_RETRY_AFTER_S", "5"))
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A broker that is down must not hold a request for long: the label is already committed
# and enqueue helpers log and drop the message (issue 8 fault tests).
CELERY_BROKER_CONNECTION_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECTION_TIMEOUT", "2"))
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The Redis result backend subscribes to every task it sends; its default reconnect
# policy (20 tries, 1 s apart) held each request ~19 s while Redis was down.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.2,
    },
}
# Issue 8: re-send generation requests whose message was lost while Redis was down.
CELERY_BEAT_SCHEDULE["ops-requeue-stalled"] = {
    "task": "annotate.tasks.ops_requeue_stalled",
    "schedule": float(os.environ.get("CHORUS_REQUEUE_EVERY_S", "60")),
}

# Issue 13: outgoing webhooks (annotate.webhooks). Private, loopback and link-local
# addresses are refused unless listed here (CIDRs), checked at every delivery.
CHORUS_WEBHOOK_ALLOWED_NETWORKS = env_list("CHORUS_WEBHOOK_ALLOWED_NETWORKS")
CHORUS_WEBHOOK_TIMEOUT_S = float(os.environ.get("CHORUS_WEBHOOK_TIMEOUT_S", "10"))
CHORUS_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CHORUS_WEBHOOK_MAX_ATTEMPTS", "8"))
CHORUS_WEBHOOK_RETRY_BASE_S = float(os.environ.get("CHORUS_WEBHOOK_RETRY_BASE_S", "10"))
CHORUS_WEBHOOK_RETRY_MAX_S = float(os.environ.get("CHORUS_WEBHOOK_RETRY_MAX_S", "3600"))
CHORUS_WEBHOOK_LABELS_BATCH_S = int(os.environ.get("CHORUS_WEBHOOK_LABELS_BATCH_S", "10"))
CELERY_BEAT_SCHEDULE["webhook-sweep"] = {
    "task": "annotate.webhook_tasks.webhook_sweep",
    "schedule": float(os.environ.get("CHORUS_WEBHOOK_SWEEP_S", "30")),
}
# Issue 16: recompute the routing plans of campaigns that route items to people or the
# AI judge, once each is older than its config's routing.every_minutes.
CELERY_BEAT_SCHEDULE["routing-refresh-due"] = {
    "task": "modelserve.tasks.routing_refresh_due",
    "schedule": float(os.environ.get("CHORUS_ROUTING_CHECK_S", "60")),
}

# Issue 14: leases past their time are expired by beat, not by every lease (a lease that
# finds its queue empty also expires its campaign's stale leases itself).
CELERY_BEAT_SCHEDULE["assignments-expire"] = {
    "task": "annotate.tasks.assignments_expire",
    "schedule": float(os.environ.get("CHORUS_LEASE_EXPIRY_EVERY_S", "30")),
}

# Engine for local weights (backend "local"): "ctranslate2" (default; int8 on CPU, float16
# on CUDA, converted once next to the HF folder) or "transformers" (fp32 torch; also the
# fallback when a folder cannot be converted).
CHORUS_LOCAL_ENGINE = os.environ.get("CHORUS_LOCAL_ENGINE", "ctranslate2")
