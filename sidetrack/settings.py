"""Sidetrack settings, read from the environment (and ``.env`` when present).

Every variable is documented in README.md. Local defaults are safe: SQLite in
the data directory, the django-q2 ORM broker and the database cache, DEBUG off.
"""

from __future__ import annotations

from pathlib import Path

import environ

from sidetrack.paths import default_data_dir

env = environ.Env()
# The SQLite file, .env and collected static files live here unless DATABASE_URL,
# SIDETRACK_ENV_FILE or STATIC_ROOT say otherwise; never inside the installed code.
DATA_DIR = Path(env.str("SIDETRACK_DATA_DIR", default="") or default_data_dir()).resolve()
ENV_FILE = Path(env.str("SIDETRACK_ENV_FILE", default=str(DATA_DIR / ".env")))
if ENV_FILE.is_file():
    # Real environment variables win over the file.
    environ.Env.read_env(ENV_FILE)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="django-insecure-local-only-set-SECRET_KEY-in-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from /static/ (no CDN)
    "django_q",
    "corsheaders",
    "sidetrack",
    "accounts",
    "metadata",
    "listens",
    "clubs",
    "faces.discord",
    "faces.web",
]

MIDDLEWARE = [
    # Outermost: it sees every answer under /api/, including Django's own errors.
    "sidetrack.middleware.ApiErrorShapeMiddleware",
    # A cache or database that cannot be reached: 503, never a 500 or DEBUG page.
    "sidetrack.middleware.DependencyDownMiddleware",
    "sidetrack.middleware.UpstreamDeadlineMiddleware",
    # CORS on /1/ only (CORS_URLS_REGEX): browser-based scrobblers submit from any origin.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /static/ from the app itself (collected, compressed, hashed names): a plain
    # WSGI server needs nothing in front of it for the admin's CSS or the API docs.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sidetrack.urls"
WSGI_APPLICATION = "sidetrack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Templates ship inside the apps that use them (an installed wheel has no other).
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "faces.web.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite creates the file, not its directory (a first run with a new data dir).
    if DATABASES["default"]["NAME"].startswith(str(DATA_DIR)):
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Several processes (web, qcluster workers, commands) share one file: wait for
    # locks instead of failing (timeout: SQLite's busy timeout, 30 s), and take the
    # write lock up front so transactions never fail half-way on an upgrade from
    # read to write. WAL lets readers run beside the writer; synchronous=NORMAL is
    # durable across application crashes in WAL mode and fsyncs only at checkpoints.
    # Django itself turns foreign keys on for every SQLite connection.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # The INCLUDE columns of a PostgreSQL covering index; SQLite ignores them, and
    # the warning would be printed by every command.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="sidetrack")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    # The database cache is shared by every process using the database, which the
    # MusicBrainz rate limiter relies on; locmem would be per process.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            # Created by the migration sidetrack 0001_database_cache_table.
            "LOCATION": "sidetrack_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # The default 300 entries would cull live rate-limiter slots under load.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

Q_CLUSTER = {
    # Workers with the same name share one queue (the Redis list is named after it).
    "name": env.str("Q_CLUSTER_NAME", default="sidetrack"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TASK_TIMEOUT", default=1800),
    # retry must exceed timeout, or django-q2 re-delivers tasks still running.
    "retry": env.int("Q_TASK_TIMEOUT", default=1800) + 300,
    "max_attempts": 3,
    "save_limit": 1000,
    "catch_up": False,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

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
STATIC_ROOT = env.str("STATIC_ROOT", default=str(DATA_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # `collectstatic` writes hashed names (cached forever by browsers) and .gz copies.
    "staticfiles": {"BACKEND": "sidetrack.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    # Token first: DRF answers a missing or wrong login with the first class's
    # challenge, so 401 + `WWW-Authenticate: Token` (session auth has none: 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "sidetrack.parsers.DepthSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "sidetrack.api.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "sidetrack.throttle.AnonRateThrottle",
        "sidetrack.throttle.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "EXCEPTION_HANDLER": "sidetrack.api.exception_handler",
    # Proxies in front of the app that append to X-Forwarded-For: the client address
    # throttles count by is read that many hops from the right (0: REMOTE_ADDR).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# Password guessing (sidetrack.throttle, README "Throttling"): failed logins counted in
# the shared cache per client address, per username from one address, and per username
# from every address; a stranger's failures never refuse another address.
LOGIN_FAILURES_PER_CLIENT = env.int("LOGIN_FAILURES_PER_CLIENT", default=20)
LOGIN_FAILURES_PER_USERNAME = env.int("LOGIN_FAILURES_PER_USERNAME", default=5)
LOGIN_FAILURES_UNDER_ATTACK = env.int("LOGIN_FAILURES_UNDER_ATTACK", default=50)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
# Wrong API or submission tokens (/api/ and /1/) per client address in that window.
TOKEN_FAILURES_PER_CLIENT = env.int("TOKEN_FAILURES_PER_CLIENT", default=20)
# Newest API tokens kept per user (each password login issues one; older ones stop working).
API_TOKENS_PER_USER = env.int("API_TOKENS_PER_USER", default=10)

# Clubs: invitations and caps (409 past a cap).
CLUB_INVITATION_DAYS = env.int("CLUB_INVITATION_DAYS", default=7)
MAX_CLUBS_OWNED_PER_USER = env.int("MAX_CLUBS_OWNED_PER_USER", default=20)
MAX_MEMBERS_PER_CLUB = env.int("MAX_MEMBERS_PER_CLUB", default=100)
MAX_OPEN_NOMINATIONS_PER_CLUB = env.int("MAX_OPEN_NOMINATIONS_PER_CLUB", default=10)
MAX_OPEN_INVITATIONS_PER_CLUB = env.int("MAX_OPEN_INVITATIONS_PER_CLUB", default=50)

# The members' web (faces.web): where sign-in sends people, and whether anyone may
# create a login without a club invitation (off: an operator or an invitation does).
LOGIN_URL = "web:signin"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:signin"
SIDETRACK_OPEN_SIGNUP = env.bool("SIDETRACK_OPEN_SIGNUP", default=False)

# Upstream calls made inside one web request (now playing, album search and import)
# all end within this many seconds, without retries; tasks are not limited.
UPSTREAM_DEADLINE_SECONDS = env.float("UPSTREAM_DEADLINE_SECONDS", default=5.0)
# A user connects at most this many listen-source accounts through the API.
MAX_ACCOUNTS_PER_USER = env.int("MAX_ACCOUNTS_PER_USER", default=10)

# The ListenBrainz-compatible /1/ API: requests per token (or per client address when
# no token is given) in each window, as ListenBrainz's X-RateLimit-* headers report;
# 429 past it. Bodies are capped at ListenBrainz's 10240000 bytes (listens.submission).
LISTENBRAINZ_API_RATE_LIMIT = env.int("LISTENBRAINZ_API_RATE_LIMIT", default=100)
LISTENBRAINZ_API_RATE_WINDOW_SECONDS = env.int("LISTENBRAINZ_API_RATE_WINDOW_SECONDS", default=10)
# Any origin may call /1/ from a browser, as on ListenBrainz: it authenticates by token,
# never by cookie, so no credentials are allowed cross-origin. /api/ and pages are not
# opened to other origins.
CORS_URLS_REGEX = r"^/1/"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_PREFLIGHT_MAX_AGE = 21600
CORS_EXPOSE_HEADERS = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset-In",
    "X-RateLimit-Reset",
]

# The DEBUG error page hides credentials inside URL-valued settings and variables
# (DATABASE_URL, REDIS_URL) too, not only settings named like secrets.
DEFAULT_EXCEPTION_REPORTER_FILTER = "sidetrack.debug.CredentialHidingReporterFilter"

SPECTACULAR_SETTINGS = {
    "TITLE": "Sidetrack API",
    "DESCRIPTION": "Listens, MusicBrainz-normalized metadata and listening stats.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are public: they describe the API's shape, never data,
    # and integrators read them before they have a login (README, "REST API").
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from drf-spectacular-sidecar's files under /static/: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Swagger UI would otherwise send the schema to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
    # Two models have a `status` field with different choices: name both enums.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.models.ExternalAccount.Status",
        "RecordingStatusEnum": "metadata.models.Recording.Status",
        "ListenSourceEnum": "accounts.models.ListenSource",
        "PolledSourceEnum": "accounts.models.POLLED_SOURCE_CHOICES",
    },
}

# Schedules installed by `manage.py setup_schedules` (minutes).
INGEST_INTERVAL_MINUTES = env.int("INGEST_INTERVAL_MINUTES", default=15)
RESOLVE_INTERVAL_MINUTES = env.int("RESOLVE_INTERVAL_MINUTES", default=60)
TASTE_SNAPSHOT_INTERVAL_MINUTES = env.int("TASTE_SNAPSHOT_INTERVAL_MINUTES", default=10080)
REPAIR_DUPLICATES_INTERVAL_MINUTES = env.int("REPAIR_DUPLICATES_INTERVAL_MINUTES", default=10080)

# Production hardening, on whenever DEBUG is off (see README, "Deploying").
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Only behind a proxy that sets X-Forwarded-Proto itself: otherwise a client
    # could claim HTTPS.
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- External services -------------------------------------------------------
SIDETRACK_MUSICBRAINZ_APP_NAME = env.str("SIDETRACK_MUSICBRAINZ_APP_NAME", default="")
MUSICBRAINZ_BASE_URL = env.str("MUSICBRAINZ_BASE_URL", default="https://musicbrainz.org/ws/2/")
MUSICBRAINZ_RATE_LIMIT = env.float("MUSICBRAINZ_RATE_LIMIT", default=1.0)

LASTFM_API_KEY = env.str("LASTFM_API_KEY", default="")
LASTFM_API_SECRET = env.str("LASTFM_API_SECRET", default="")
LASTFM_BASE_URL = env.str("LASTFM_BASE_URL", default="https://ws.audioscrobbler.com/2.0/")
# Last.fm's page where a member approves "Connect with Last.fm" (web authentication).
LASTFM_AUTH_URL = env.str("LASTFM_AUTH_URL", default="https://www.last.fm/api/auth/")

LISTENBRAINZ_USER_AGENT = env.str("LISTENBRAINZ_USER_AGENT", default="")
LISTENBRAINZ_BASE_URL = env.str("LISTENBRAINZ_BASE_URL", default="https://api.listenbrainz.org/1/")

# ListenBrainz's public MBID mapper as the cheap first resolution tier.
MBID_MAPPER_ENABLED = env.bool("MBID_MAPPER_ENABLED", default=True)
MBID_MAPPER_BASE_URL = env.str("MBID_MAPPER_BASE_URL", default="") or LISTENBRAINZ_BASE_URL

# Ingest: how long a worker's claim on an account lasts without renewal (it is
# renewed after every stored batch), how many listens a batch (one transaction)
# holds at most, and how close in time two sources' copies of one listen must be
# to count as a cross-source duplicate.
INGEST_CLAIM_SECONDS = env.int("INGEST_CLAIM_SECONDS", default=300)
INGEST_BATCH_LISTENS = env.int("INGEST_BATCH_LISTENS", default=4000)
# Each run re-reads this far behind the cursor for scrobbles that arrived late.
INGEST_LOOKBACK_SECONDS = env.int("INGEST_LOOKBACK_SECONDS", default=86400)
CROSS_SOURCE_DUPLICATE_WINDOW_SECONDS = env.int("CROSS_SOURCE_DUPLICATE_WINDOW_SECONDS", default=60)

# Connect and read timeouts (seconds) and retries for every external call.
# Discord's HTTP interactions endpoint (README, Discord); unset: not served.
DISCORD_APPLICATION_ID = env.str("DISCORD_APPLICATION_ID", default="")
DISCORD_PUBLIC_KEY = env.str("DISCORD_PUBLIC_KEY", default="")
DISCORD_BOT_TOKEN = env.str("DISCORD_BOT_TOKEN", default="")
DISCORD_API_BASE_URL = env.str("DISCORD_API_BASE_URL", default="https://discord.com/api/v10/")
DISCORD_ALLOW_SIGNUP = env.bool("DISCORD_ALLOW_SIGNUP", default=False)

HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=5.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=30.0)
HTTP_MAX_RETRIES = env.int("HTTP_MAX_RETRIES", default=4)
HTTP_BACKOFF_FACTOR = env.float("HTTP_BACKOFF_FACTOR", default=1.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "redact_secrets": {"()": "sidetrack.logfilters.RedactSecretsFilter"},
        "drop_urllib3_retry_notices": {"()": "sidetrack.logfilters.DropUrllib3RetryNotices"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["drop_urllib3_retry_notices", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own console handler (DEBUG only) would print each of its records a
    # second time beside the root's, unredacted; its records go to the root instead.
    "loggers": {"django": {"handlers": [], "propagate": True}},
}
