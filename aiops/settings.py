"""Settings, read from the environment in this one place (README lists every variable)."""

import os
from pathlib import Path

import dj_database_url

from aiops import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return env(name, str(default)).lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(env("AIOPS_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or one generated once per data dir (0600), never a shared default."""
    if env("DJANGO_SECRET_KEY"):
        return env("DJANGO_SECRET_KEY")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        import secrets
        import tempfile

        # Written aside, then linked into place: a racing process sees all of it or nothing.
        fd, draft = tempfile.mkstemp(dir=DATA_DIR)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process of this data dir made it first
        finally:
            os.unlink(draft)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in env("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o]

# Prometheus counters must add up across gunicorn and Celery processes: multiprocess mode,
# which prometheus_client reads from the environment before its first metric is created.
PROMETHEUS_MULTIPROC_DIR = Path(env("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "prometheus")))
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)

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
    "django_celery_beat",
    "django_prometheus",
    "apps.cases",
    "apps.planner",
    "apps.gate",
    "apps.executor",
    "apps.verifier",
    "apps.analyst",
    "apps.sensor",
    "apps.kb",
]
# A fixture app whose subscribers count deliveries; only the test suite and benches load it.
if env_bool("AIOPS_TEST_APPS"):
    INSTALLED_APPS.append("tests.probe")

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "aiops.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "aiops.urls"
WSGI_APPLICATION = "aiops.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "aiops" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- Data stores: external when the URL is given, embedded under DATA_DIR otherwise ---
EMBEDDED_SERVICES = not env("DATABASE_URL") or not env("REDIS_URL")
if env("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            **embedded.ensure_postgres(DATA_DIR),
        }
    }
# Worker processes spawned by the test suite point at pytest-django's test database.
if env("AIOPS_DB_NAME"):
    DATABASES["default"]["NAME"] = env("AIOPS_DB_NAME")
DATABASES["default"]["CONN_MAX_AGE"] = int(env("DB_CONN_MAX_AGE", "60"))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL") or embedded.ensure_redis(DATA_DIR)
NATS_URL = env("NATS_URL")
PROMETHEUS_URL = env("PROMETHEUS_URL")

# --- Celery ---
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a killed worker held is handed out again after this many seconds (handlers are
# idempotent, so an early redelivery of a slow task costs a no-op, never a duplicate effect).
BROKER_VISIBILITY_TIMEOUT = int(env("AIOPS_BROKER_VISIBILITY_TIMEOUT", "300"))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, min(10, BROKER_VISIBILITY_TIMEOUT // 5)),
    "unacked_restore_throttle": 1,
    # The restore sweep's lock; a worker killed while holding it must not stall recovery long.
    "unacked_mutex_expire": max(5, min(30, BROKER_VISIBILITY_TIMEOUT)),
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"apps.executor.tasks.*": {"queue": "executor"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-sweep": {"task": "apps.cases.tasks.relay_outbox", "schedule": 5.0},
    "idempotency-expire": {"task": "apps.cases.tasks.expire_idempotency", "schedule": 3600.0},
    # Gatekeeper: pending human approvals past the policy's TTL park their case.
    "gate-expire-pending": {"task": "apps.gate.tasks.expire_pending_approvals", "schedule": 60.0},
    "metric-retention": {"task": "apps.sensor.tasks.expire_metrics", "schedule": 3600.0},
    "verify-sweep": {"task": "apps.verifier.tasks.sweep_verifications", "schedule": 60.0},
}
CELERY_TIMEZONE = "UTC"

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["aiops.permissions.ReadOrOperate"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aiops.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "aiops API",
    "DESCRIPTION": "AIOps agent control plane: cases, plans, gate, execution, verification.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

IDEMPOTENCY_TTL_SECONDS = int(env("AIOPS_IDEMPOTENCY_TTL", str(24 * 3600)))
# An in-flight record older than this belongs to a request that died; a retry may take it.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = int(env("AIOPS_IDEMPOTENCY_IN_FLIGHT_TIMEOUT", "60"))
OUTBOX_BATCH_SIZE = int(env("AIOPS_OUTBOX_BATCH_SIZE", "200"))
# A relay's claim on a batch; if it dies, another relay takes the rows after this long.
OUTBOX_CLAIM_SECONDS = int(env("AIOPS_OUTBOX_CLAIM_SECONDS", "30"))
# A published event some subscriber has not applied this long after is sent to it again
# (a broker can lose a message its consumer was killed while taking).
OUTBOX_REDELIVER_SECONDS = int(env("AIOPS_OUTBOX_REDELIVER_SECONDS", "60"))
# Writers skip queueing a relay run while one is queued and not started (at most this long).
OUTBOX_KICK_TTL_MS = int(env("AIOPS_OUTBOX_KICK_TTL_MS", "2000"))
EVENT_SOURCE = env("AIOPS_EVENT_SOURCE", "urn:aiops")
HANDLER_MAX_RETRIES = int(env("AIOPS_HANDLER_MAX_RETRIES", "3"))
HANDLER_RETRY_BACKOFF_SECONDS = float(env("AIOPS_HANDLER_RETRY_BACKOFF", "1"))

# --- Executor (apps/executor) ---
# A running step's lease; its heartbeat renews it every third of this. An expired lease means
# the worker died: the sweeper (every EXEC_SWEEP_SECONDS) retries the step or fails the run.
EXEC_LEASE_SECONDS = float(env("AIOPS_EXEC_LEASE_SECONDS", "30"))
EXEC_SWEEP_SECONDS = float(env("AIOPS_EXEC_SWEEP_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["executor-sweep"] = {
    "task": "apps.executor.tasks.sweep_steps",
    "schedule": EXEC_SWEEP_SECONDS,
}
# On SIGTERM a running step gets this long to finish before it is stopped and handed back.
EXEC_DRAIN_SECONDS = float(env("AIOPS_EXEC_DRAIN_SECONDS", "10"))
# timeout_s of a plan step that leaves it out: the Planner writes it into every plan it
# stores, and the Executor uses it for a step without one.
EXEC_DEFAULT_STEP_TIMEOUT_S = int(env("AIOPS_STEP_TIMEOUT_S", "300"))
EXEC_LOG_DIR = Path(env("AIOPS_EXEC_LOG_DIR", str(DATA_DIR / "logs")))
EXEC_LOG_MAX_BYTES = int(env("AIOPS_EXEC_LOG_MAX_BYTES", str(256 * 1024)))
AIOPS_SCRIPT_DIR = Path(env("AIOPS_SCRIPT_DIR", str(BASE_DIR / "ops-scripts"))).resolve()
EXEC_K8S_NAMESPACES = [
    n.strip() for n in env("AIOPS_EXEC_K8S_NAMESPACES", "").split(",") if n.strip()
]
KUBECONFIG = env("KUBECONFIG")
EXEC_HTTP_ALLOWED_HOSTS = [
    h.strip().lower() for h in env("AIOPS_EXEC_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()
]

# --- Sensor: metric ingestion (apps/sensor) ---
METRIC_RETENTION_DAYS = int(env("AIOPS_METRIC_RETENTION_DAYS", "14"))
INGEST_MAX_POINTS = int(env("AIOPS_INGEST_MAX_POINTS", "10000"))
# Clock skew allowed for a point's timestamp ahead of the server's clock.
INGEST_MAX_FUTURE_SECONDS = int(env("AIOPS_INGEST_MAX_FUTURE_SECONDS", "300"))
INGEST_MAX_ERRORS_SHOWN = int(env("AIOPS_INGEST_MAX_ERRORS_SHOWN", "100"))

# --- Verifier (apps/verifier) ---
# Defaults for a plan's spec.verify fields (and its checks' no_data) it leaves out: the
# Planner writes them into every plan it stores; the Verifier applies them to any other plan.
VERIFY_DEFAULT_DELAY_S = int(env("AIOPS_VERIFY_DELAY_S", "60"))
VERIFY_DEFAULT_WINDOW_S = int(env("AIOPS_VERIFY_WINDOW_S", "300"))
VERIFY_DEFAULT_NO_DATA = env("AIOPS_VERIFY_NO_DATA", "inconclusive")
# Where checks naming a `metric` read from: "metric_1m" or "prometheus" (a `promql` check
# always reads Prometheus). Prometheus series carry the case's service in this label.
VERIFY_METRIC_SOURCE = env("AIOPS_VERIFY_METRIC_SOURCE", "metric_1m")
PROMETHEUS_SERVICE_LABEL = env("AIOPS_PROMETHEUS_SERVICE_LABEL", "service")
PROMETHEUS_TIMEOUT_S = float(env("AIOPS_PROMETHEUS_TIMEOUT_S", "10"))
# A case still in VERIFYING this long after its verification was due is evaluated again.
VERIFY_OVERDUE_S = int(env("AIOPS_VERIFY_OVERDUE_S", "300"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "aiops.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s case=%(case_id)s] "
            "%(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("AIOPS_LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- Planner and Gatekeeper (apps.planner, apps.gate) ---
# Failed changes (cases parked after exec/verify failure) within this many days raise risk.
PLANNER_RECENT_FAILURE_DAYS = int(env("AIOPS_PLANNER_RECENT_FAILURE_DAYS", "7"))
# The seeded gate policy; `manage.py seed_gate_policy` stores it when it changes.
GATE_POLICY_FILE = Path(
    env("AIOPS_GATE_POLICY_FILE", str(BASE_DIR / "config" / "gate-policy.yaml"))
)
