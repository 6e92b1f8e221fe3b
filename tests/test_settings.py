"""Importing the settings has no side effect: entry points prepare the process, not settings.
Production mode (AIOPS_ENV=production) passes `manage.py check --deploy`."""

import json
import os
import secrets
import subprocess
import sys

from aiops import embedded
from tests.support import ROOT

# Imports the settings, then reports what changed in the environment and whether the settings
# still name the embedded servers of the data dir (computed, not started).
SCRIPT = """
import json, os
before = dict(os.environ)
import aiops.settings as s
after = dict(os.environ)
print(json.dumps({
    "env_changed": {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)},
    "db_host": s.DATABASES["default"]["HOST"],
    "broker": s.CELERY_BROKER_URL,
}, default=sorted))
"""


def test_importing_settings_starts_nothing_and_writes_nothing(tmp_path):
    data_dir = tmp_path / "data"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR"}
    }
    env.update(AIOPS_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="aiops.settings")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)

    assert report["env_changed"] == []
    assert not data_dir.exists(), sorted(p.name for p in data_dir.rglob("*"))
    # The settings name the servers that the data dir's entry points would start ...
    assert report["db_host"] == embedded.postgres_settings(data_dir)["HOST"]
    assert report["broker"] == embedded.redis_url(data_dir)
    # ... and none of them runs: no pid or socket file, no process naming the data dir.
    assert list(tmp_path.rglob("*.pid")) == [] and list(tmp_path.rglob("*.sock")) == []
    processes = subprocess.run(["ps", "axww"], capture_output=True, text=True, check=True)
    assert str(data_dir) not in processes.stdout


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    from tests.support import child_env

    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
    )


def test_production_mode_passes_the_deploy_check():
    done = _deploy_check(
        AIOPS_ENV="production", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secrets.token_urlsafe(50)
    )
    assert done.returncode == 0, done.stderr


def test_development_mode_fails_the_deploy_check_on_what_production_turns_on():
    done = _deploy_check(AIOPS_ENV="development", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    from tests.support import child_env

    return subprocess.run(
        [sys.executable, "-c", "import aiops.settings"],
        cwd=ROOT,
        env=child_env(**env),
        capture_output=True,
        text=True,
    )


def test_a_malformed_number_stops_the_start_naming_the_variable():
    done = _import_settings(AIOPS_EXEC_LEASE_SECONDS="thirty")
    assert done.returncode != 0
    assert "AIOPS_EXEC_LEASE_SECONDS='thirty': expected a number" in done.stderr


def test_a_negative_count_stops_the_start_naming_the_variable():
    done = _import_settings(AIOPS_INGEST_MAX_POINTS="-5")
    assert "AIOPS_INGEST_MAX_POINTS='-5': must be at least 0" in done.stderr


def test_a_misspelt_boolean_stops_the_start_naming_the_variable():
    done = _import_settings(AIOPS_CLOSE_ON_RESOLVE="ture")
    assert "AIOPS_CLOSE_ON_RESOLVE='ture'" in done.stderr


def test_inbox_retention_shorter_than_the_events_is_refused():
    done = _import_settings(AIOPS_RETAIN_EVENTS_DAYS="10", AIOPS_RETAIN_INBOX_DAYS="3")
    assert "AIOPS_RETAIN_INBOX_DAYS=3 must be at least AIOPS_RETAIN_EVENTS_DAYS=10" in done.stderr


def test_json_logs_carry_the_request_case_and_trace_ids():
    script = (
        "import django, logging, json; django.setup();"
        "from aiops.middleware import request_id_var, case_id_var, trace_id_var;"
        "request_id_var.set('r1'); case_id_var.set('c1'); trace_id_var.set('t1');"
        "logging.getLogger('aiops.test').warning('hello')"
    )
    from tests.support import child_env

    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=child_env(AIOPS_LOG_FORMAT="json"),
        capture_output=True,
        text=True,
        check=True,
    )
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["level"] == "WARNING"
    assert (line["request_id"], line["case_id"], line["trace_id"]) == ("r1", "c1", "t1")


def test_an_unknown_log_format_stops_the_start():
    assert "AIOPS_LOG_FORMAT='xml'" in _import_settings(AIOPS_LOG_FORMAT="xml").stderr


def test_production_without_a_secret_key_refuses_to_start():
    done = _import_settings(AIOPS_ENV="production", DJANGO_SECRET_KEY="")
    assert "DJANGO_SECRET_KEY must be set when AIOPS_ENV=production" in done.stderr


def test_a_malformed_notification_receiver_stops_the_start():
    done = _import_settings(AIOPS_NOTIFY_WEBHOOKS="teams:https://x")
    assert "AIOPS_NOTIFY_WEBHOOKS: 'teams:https://x'" in done.stderr
