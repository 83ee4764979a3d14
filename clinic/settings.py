"""Settings for the clinic planner: one module, driven by environment variables.

With nothing set, the embedded default runs: SQLite and a file-system Celery broker under
``var/``, DEBUG on. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
With ``DEBUG=false`` the process refuses to start without ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.csp import CSP

from clinic.env import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.string("VAR_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env.boolean("DEBUG", default=True)

if DEBUG:
    SECRET_KEY = env.string("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.csv_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
else:
    SECRET_KEY = env.required_string("SECRET_KEY", "production (DEBUG=false) needs a secret key")
    ALLOWED_HOSTS = env.required_csv_list(
        "ALLOWED_HOSTS", "production (DEBUG=false) serves named hosts only"
    )
CSRF_TRUSTED_ORIGINS = env.csv_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "clinic",
    "treatments",
    "patients",
    "scheduling",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clinic.headers.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "clinic.headers.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"
ASGI_APPLICATION = "clinic.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASES = {"default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")}
# Django's own backends, except that a transaction raises the data versions of what it wrote
# just before it commits (clinic/data_version.py).
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "clinic.backends.postgresql",
    "django.db.backends.sqlite3": "clinic.backends.sqlite3",
}[DATABASES["default"]["ENGINE"]]
if DATABASES["default"]["ENGINE"] == "clinic.backends.sqlite3":
    # The web server and the worker share one file: WAL and a busy timeout let them take turns,
    # and IMMEDIATE transactions take the write lock up front instead of failing mid-way.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so worker processes started by tests see the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A set-password link (a new portal login, or a forgotten password) works once, for this long.
PASSWORD_RESET_TIMEOUT = int(
    timedelta(hours=env.integer("PASSWORD_LINK_HOURS", 48, minimum=1)).total_seconds()
)
# Where links in messages to patients point (messages are written by the worker, which has no
# request to take the address from).
SITE_URL = env.string(
    "SITE_URL", "http://127.0.0.1:8000" if DEBUG else f"https://{ALLOWED_HOSTS[0]}"
).rstrip("/")

# --- Logins and sessions ---------------------------------------------------------------------

# Password guessing (django-axes, see clinic/lockout.py): LOGIN_FAILURE_LIMIT failed logins lock
# the account, and separately the client address, for LOGIN_LOCKOUT_MINUTES. Axes counts
# failures that follow each other within that time, so any 5 failures in 15 minutes lock (and
# so do 5 spread wider, as long as no two are LOGIN_LOCKOUT_MINUTES apart); the lock lasts
# LOGIN_LOCKOUT_MINUTES from the last counted failure. A successful login clears the account's
# failures. Superusers (and clinic admins) unlock early by deleting the "access attempt".
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: turns a lockout into its page
AUTHENTICATION_BACKENDS = [
    "clinic.lockout.LockoutBackend",  # first: refuses a locked-out login before any check
    "clinic.auth_backend.ModelBackendWithRoles",  # Django's, with the roles in the same query
]
LOGIN_FAILURE_LIMIT = env.integer("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env.integer("LOGIN_LOCKOUT_MINUTES", 30, minimum=1)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]  # each on its own, not the pair
AXES_CLIENT_IP_CALLABLE = "clinic.lockout.lockout_client_address"
AXES_LOCKOUT_CALLABLE = "clinic.lockout.lockout_response"
AXES_HANDLER = "clinic.lockout.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
# Tries during a lockout are refused without being counted, so the lock ends when it said.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_SENSITIVE_PARAMETERS = ["username", "password"]  # never copied into the attempt's record
AXES_VERBOSE = False

# Staff logins end after STAFF_SESSION_IDLE_MINUTES without a request; every login ends
# SESSION_ABSOLUTE_HOURS after it began (clinic/sessions.py). Patients have no idle limit.
STAFF_SESSION_IDLE_MINUTES = env.integer("STAFF_SESSION_IDLE_MINUTES", 15, minimum=1)
SESSION_ABSOLUTE_HOURS = env.integer("SESSION_ABSOLUTE_HOURS", 12, minimum=1)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware") + 1,
    "clinic.sessions.SessionExpiryMiddleware",
)

# --- End of logins and sessions -------------------------------------------------------------

# --- Clinic, time and language --------------------------------------------------------------

CLINIC_NAME = env.string("CLINIC_NAME", "Clinic Planner")
# Booking grid: sessions start on multiples of this from each opening time.
CLINIC_SLOT_MINUTES = env.integer("CLINIC_SLOT_MINUTES", 15, minimum=5)
TIME_ZONE = env.time_zone("CLINIC_TIME_ZONE", "Asia/Seoul")
USE_TZ = True
USE_I18N = True
LANGUAGES = [("en", "English"), ("ko", "한국어")]
LANGUAGE_CODE = env.choice("LANGUAGE_CODE", "en", choices=[code for code, _ in LANGUAGES])
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = int(timedelta(days=365).total_seconds())  # the language switch is remembered
# Dates as clinics write them: "Tue 15 Dec 2026, 10:00" / "2026년 12월 15일 (화) 오전 10:00".
FORMAT_MODULE_PATH = ["clinic.formats"]

# --- Content-Security-Policy ------------------------------------------------------------------

# Pages load scripts and styles from this site only: no inline script, handler or style attribute
# runs. CSP=report-only reports instead of blocking; CSP=off sends no policy.
_CSP_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],  # the CSS base draws its form icons as data: SVGs
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
_csp_mode = env.choice("CSP", "enforce", choices=["enforce", "report-only", "off"])
SECURE_CSP = _CSP_POLICY if _csp_mode == "enforce" else {}
SECURE_CSP_REPORT_ONLY = _CSP_POLICY if _csp_mode == "report-only" else {}

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Messages to patients (email and SMS) ---------------------------------------------------

# Development prints messages (console) or writes them under var/outbox (file); production must
# name a real mailer and SMS gateway, so a deployment missing one fails at start (web and worker
# alike) instead of quietly dropping every reminder.
_MAILER = env.production_choice(
    "MAILER",
    choices=["console", "file", "smtp"],
    development_default="console",
    development_only={"console", "file"},
    production=not DEBUG,
)
_SMTP_OPTIONS = {
    "host": (
        env.required_string("SMTP_HOST", "MAILER=smtp needs the mail server's host name")
        if _MAILER == "smtp" and not DEBUG
        else env.string("SMTP_HOST", "localhost")
    ),
    "port": env.integer("SMTP_PORT", 587, minimum=1),
    "username": env.string("SMTP_USER", ""),
    "password": env.string("SMTP_PASSWORD", ""),
    "use_tls": env.boolean("SMTP_TLS", default=True),
    # Without a timeout a mail server that stops answering holds the dispatcher forever.
    "timeout": env.integer("SMTP_TIMEOUT_SECONDS", 20, minimum=1),
}
_MAILER_BACKENDS: dict[str, tuple[str, dict[str, object]]] = {
    "console": ("django.core.mail.backends.console.EmailBackend", {}),
    "file": (
        "django.core.mail.backends.filebased.EmailBackend",
        {"file_path": str(VAR_DIR / "outbox" / "email")},
    ),
    "smtp": ("django.core.mail.backends.smtp.EmailBackend", _SMTP_OPTIONS),
}
_mailer_backend, _mailer_options = _MAILER_BACKENDS[_MAILER]
MAILERS = {"default": {"BACKEND": _mailer_backend, "OPTIONS": _mailer_options}}
DEFAULT_FROM_EMAIL = (
    env.string("DEFAULT_FROM_EMAIL", "clinic@localhost")
    if DEBUG
    else env.required_string(
        "DEFAULT_FROM_EMAIL", "production mail needs the clinic's sender address"
    )
)

_SMS_GATEWAYS = {
    "solapi": "scheduling.sms.SolapiSmsBackend",
    "webhook": "scheduling.sms.WebhookSmsBackend",
    "console": "scheduling.sms.ConsoleSmsBackend",
    "file": "scheduling.sms.FileSmsBackend",
}
_sms_gateway = env.production_choice(
    "SMS_GATEWAY",
    choices=list(_SMS_GATEWAYS),
    development_default="console",
    development_only={"console", "file"},
    production=not DEBUG,
    allow_dotted_path=True,
)
SMS_BACKEND = _SMS_GATEWAYS.get(_sms_gateway, _sms_gateway)  # or a gateway class's dotted path
SMS_OUTBOX_DIR = str(VAR_DIR / "outbox" / "sms")
SMS_TIMEOUT_SECONDS = env.integer("SMS_TIMEOUT_SECONDS", 10, minimum=1)


def _gateway_setting(name: str, gateway: str, why: str) -> str:
    """Required when ``gateway`` is the chosen SMS gateway, read (may be empty) otherwise."""
    if _sms_gateway == gateway:
        return env.required_string(name, why)
    return env.string(name, "")


_why = "SMS_GATEWAY=solapi needs the Solapi account's API key, secret and sender number"
SOLAPI_API_KEY = _gateway_setting("SOLAPI_API_KEY", "solapi", _why)
SOLAPI_API_SECRET = _gateway_setting("SOLAPI_API_SECRET", "solapi", _why)
SOLAPI_SENDER = _gateway_setting("SOLAPI_SENDER", "solapi", _why)
SOLAPI_API_URL = env.string("SOLAPI_API_URL", "https://api.solapi.com").rstrip("/")
# KakaoTalk (AlimTalk) through Solapi when the clinic's channel is linked, falling back to a text
# message; a plain text message otherwise.
SOLAPI_KAKAO_PF_ID = env.string("SOLAPI_KAKAO_PF_ID", "")
SOLAPI_KAKAO_TEMPLATE_ID = env.string("SOLAPI_KAKAO_TEMPLATE_ID", "")
_why = "SMS_GATEWAY=webhook needs the gateway's URL and the secret its requests are signed with"
SMS_WEBHOOK_URL = _gateway_setting("SMS_WEBHOOK_URL", "webhook", _why)
SMS_WEBHOOK_SECRET = _gateway_setting("SMS_WEBHOOK_SECRET", "webhook", _why)
# A hand-off started longer ago than this, and never recorded as done, is taken to have been
# cut short (a worker killed mid-send) and is sent again. Longer than the Celery task time limit,
# so a hand-off still under way is never taken over.
MESSAGE_HANDOFF_LEASE_SECONDS = env.integer("MESSAGE_HANDOFF_LEASE_SECONDS", 120, minimum=0)

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.broker_url("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's file-system transport: the sender writes to data_folder_out and the worker reads
    # data_folder_in, so both must be the same absolute folder.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _control_dir = VAR_DIR / "celery" / "control"
    for _folder in (_queue_dir, _control_dir):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
else:
    # Unacknowledged tasks (acks_late) return to the queue this long after a worker vanished;
    # well above the task time limit, so a running task is never handed out twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# Tasks are idempotent, so redelivery after a crash is safe and preferable to losing the message.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-reminders": {
        "task": "scheduling.tasks.dispatch_due_reminders",
        "schedule": 60.0,
        # A run that waited longer than its interval is superseded by the next one.
        "options": {"expires": 55},
    },
    # Set-password links and answers to patients' requests; also kicked as soon as one is queued.
    "dispatch-patient-messages": {
        "task": "scheduling.tasks.dispatch_patient_messages",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

# --- REST framework -------------------------------------------------------------------------

REST_FRAMEWORK = {
    # The token class goes first: DRF takes the WWW-Authenticate challenge from the first class,
    # so a missing login answers 401 (Bearer), not 403. Browser sessions work the same.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON in and out: one content type keeps the contract (and its tests) tight.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["clinic.api.throttling.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"writes": env.string("API_WRITE_RATE", "120/minute")},
    "DEFAULT_PAGINATION_CLASS": "clinic.api.pagination.ClinicPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "clinic.api.schema.ClinicAutoSchema",
    "EXCEPTION_HANDLER": "clinic.api.errors.api_exception_handler",
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic Planner API",
    "DESCRIPTION": (
        "Treatment catalogue, patients, course booking and sessions. Datetimes are ISO 8601 with "
        "their UTC offset; schedule responses name the clinic's time zone. Errors always come as "
        '`{"errors": [{"field", "code", "message"}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from static files: no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "PlanStatusEnum": "scheduling.models.PlanStatus",
        "SessionStatusEnum": "scheduling.models.SessionStatus",
        "KindEnum": "scheduling.models.SessionKind",
        "ReminderKindEnum": "scheduling.models.ReminderKind",
        "ReminderStatusEnum": "scheduling.models.ReminderStatus",
        "ReminderChannelEnum": "patients.models.ReminderChannel",
        "LanguageEnum": "patients.models.Language",
    },
}

# Throttling counts live in the cache: per process by default, shared with CACHE_URL (Redis).
_cache_url = env.string("CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    ),
    # Built pages, API answers and kept values, per process: their key holds a data version
    # from the database, so no process serves one past a committed change (clinic/page_cache.py).
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": 500},
    },
}
# How long a built page is kept at most (it is also keyed to the minute); 0 builds every page.
PAGE_CACHE_SECONDS = env.integer("PAGE_CACHE_SECONDS", 60, minimum=0)

# --- Production hardening -------------------------------------------------------------------

# Behind our own TLS proxy its headers are believed: the scheme and the one hop it appends to
# X-Forwarded-For (see clinic/clients.py). Anywhere else both headers are the client's word.
BEHIND_TLS_PROXY = env.boolean("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.boolean("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.boolean("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# HSTS preload is a decision for the owner of the domain, not for the application.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_AGE = int(timedelta(hours=12).total_seconds())
# Database sessions, read with the data version in the same query (clinic/session_store.py).
SESSION_ENGINE = "clinic.session_store"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.string("LOG_LEVEL", "INFO")},
}

# --- Security headers and input rules ---------------------------------------------------------
# (README: "Security headers and input rules")

# Browser features no clinic page uses, switched off for every response (clinic/headers.py).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}
# The API's schema and docs describe how to reach patients' data: for logged-in users only.
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]
# JSON nested too deeply for the decoder answers 400 in the API's error shape, not 500
# (clinic/api/parsers.py); a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413.
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["clinic.api.parsers.JSONParser"]
# Phone numbers are read in this region unless written with + and a country code, and stored
# in E.164 (patients/validators.py).
PHONE_REGION = env.string("PHONE_REGION", "KR").upper()

# --- Audit trail -----------------------------------------------------------------------------
# A refusal to a logged-in user (403, or 404 in the portal and API) is a `clinic.security` log
# line with the user's id, the path and the status (clinic/denied_access.py). Last, so it sees
# the user the API authenticated.
MIDDLEWARE += ["clinic.denied_access.DeniedAccessLogMiddleware"]
# --- End of audit trail ----------------------------------------------------------------------
