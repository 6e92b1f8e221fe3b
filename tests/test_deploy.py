"""The image's entry point, the manifests, the compose file and the control plane's own alerts
and dashboard (docker/, deploy/, docs/operations.md)."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
import yaml

from aiops import entrypoint
from aiops.entrypoint import UnknownRole, argv_for, healthcheck_url

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
ALERTS = ROOT / "deploy" / "prometheus" / "aiops-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "aiops-dashboard.json"
COMPOSE = ROOT / "docker" / "compose.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
PY = sys.executable


# --- The entry point's roles (pure) ----------------------------------------------------------


def test_web_runs_gunicorn_on_all_interfaces_at_port():
    argv = argv_for("web", {"PORT": "8080", "WEB_CONCURRENCY": "4"})
    assert argv[:4] == [PY, "-m", "gunicorn", "aiops.wsgi:application"]
    assert "--bind=0.0.0.0:8080" in argv
    assert "--workers=4" in argv


def test_control_worker_consumes_only_the_celery_queue_with_its_concurrency():
    argv = argv_for("worker-control", {"CELERY_CONCURRENCY": "8"})
    assert argv[:6] == [PY, "-m", "celery", "-A", "aiops", "worker"]
    assert argv[argv.index("-Q") + 1] == "celery"
    assert "--concurrency=8" in argv


def test_exec_worker_consumes_only_the_executor_queue_with_its_concurrency():
    argv = argv_for("worker-exec", {"CELERY_CONCURRENCY": "3"})
    assert argv[:6] == [PY, "-m", "celery", "-A", "aiops", "worker"]
    assert argv[argv.index("-Q") + 1] == "executor"
    assert "--concurrency=3" in argv


def test_kb_worker_consumes_only_the_kb_queue_as_background_work_with_one_process():
    argv = argv_for("worker-kb", {"CELERY_CONCURRENCY": "3"})
    background = [PY, "-m", "aiops.background", "10", "1", "--"]
    assert argv[:12] == [*background, PY, "-m", "celery", "-A", "aiops", "worker"]
    assert argv_for("worker-kb", {"AIOPS_KB_IDLE": "0", "AIOPS_KB_NICE": "5"})[3:5] == ["5", "0"]
    assert argv[argv.index("-Q") + 1] == "kb"
    assert "--concurrency=1" in argv
    assert "--concurrency=2" in argv_for("worker-kb", {"CELERY_KB_CONCURRENCY": "2"})


def test_every_worker_role_runs_without_celerys_worker_to_worker_chatter():
    for role in ("worker-control", "worker-exec", "worker-kb"):
        argv = argv_for(role, {})
        assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(argv), role


def test_the_two_worker_pools_name_themselves_apart():
    control = [a for a in argv_for("worker-control", {}) if a.startswith("--hostname=")]
    execution = [a for a in argv_for("worker-exec", {}) if a.startswith("--hostname=")]
    assert control == ["--hostname=control@%h"]
    assert execution == ["--hostname=exec@%h"]


def test_beat_runs_the_database_scheduler():
    argv = argv_for("beat", {})
    assert argv[:6] == [PY, "-m", "celery", "-A", "aiops", "beat"]
    assert "--scheduler=django_celery_beat.schedulers:DatabaseScheduler" in argv


def test_all_runs_what_make_run_runs():
    assert argv_for("all", {}) == [PY, str(ROOT / "manage.py"), "runplatform"]


def test_migrate_runs_nothing_after_migrating():
    assert argv_for("migrate", {}) == []
    assert "migrate" in entrypoint.MIGRATING_ROLES


def test_roles_that_own_the_schema_migrate_and_workers_do_not():
    assert {"web", "beat", "all"} <= entrypoint.MIGRATING_ROLES
    assert not {"worker-control", "worker-exec"} & entrypoint.MIGRATING_ROLES


def test_an_unknown_role_names_the_variable_and_the_allowed_values():
    with pytest.raises(UnknownRole) as raised:
        argv_for("worker", {})
    message = str(raised.value)
    assert "AIOPS_ROLE" in message
    assert all(role in message for role in entrypoint.ROLES)


def test_the_entry_point_exits_2_on_an_unknown_role():
    result = subprocess.run(
        [PY, "-m", "aiops.entrypoint"],
        env={**os.environ, "AIOPS_ROLE": "scheduler"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AIOPS_ROLE" in result.stderr
    assert "'scheduler'" in result.stderr
    assert "worker-control" in result.stderr


def test_the_entry_point_exits_2_without_a_role():
    env = {k: v for k, v in os.environ.items() if k != "AIOPS_ROLE"}
    result = subprocess.run(
        [PY, "-m", "aiops.entrypoint"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert "AIOPS_ROLE is not set" in result.stderr


def test_all_serves_no_worker_metrics_port_as_its_web_sums_its_workers():
    env = {"AIOPS_WORKER_METRICS_PORT": "9100", "PORT": "8000"}
    assert entrypoint.environment_for("all", env) == {"PORT": "8000"}
    assert entrypoint.environment_for("worker-exec", env) == env


def test_the_healthcheck_asks_the_web_for_healthz_and_a_worker_for_its_metrics_port():
    assert healthcheck_url("web", {"PORT": "8080"}) == "http://127.0.0.1:8080/healthz"
    assert healthcheck_url("all", {}) == "http://127.0.0.1:8000/healthz"
    env = {"AIOPS_WORKER_METRICS_PORT": "9100"}
    assert healthcheck_url("worker-exec", env) == "http://127.0.0.1:9100/metrics"
    assert healthcheck_url("beat", env) == "http://127.0.0.1:9100/metrics"
    assert healthcheck_url("worker-control", {}) is None
    assert healthcheck_url("migrate", env) is None


# --- Migrations under the advisory lock (real PostgreSQL) -----------------------------------


def _advisory_waiters() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = %s AND objid = %s",
            [
                (entrypoint.MIGRATION_LOCK_KEY >> 32) & 0xFFFFFFFF,
                entrypoint.MIGRATION_LOCK_KEY & 0xFFFFFFFF,
            ],
        )
        return cursor.fetchone()[0]


def _in_thread(target, errors: list) -> threading.Thread:
    from django.db import connection

    def run():
        try:
            target()
        except BaseException as exc:  # reported by the test's thread
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_second_migrator_waits_for_the_first_to_finish(transactional_db):
    from django.db.migrations.executor import MigrationExecutor

    from tests.support import wait_for

    first_in, release, second_done = threading.Event(), threading.Event(), threading.Event()
    errors: list = []

    def first():
        with entrypoint.migration_lock():
            first_in.set()
            release.wait(60)

    def second():
        entrypoint.migrate_under_lock()
        second_done.set()

    holder = _in_thread(first, errors)
    assert first_in.wait(30)
    migrator = _in_thread(second, errors)
    wait_for(lambda: _advisory_waiters() == 1, timeout=60, what="the second migrator to wait")
    assert not second_done.is_set()
    release.set()
    holder.join(30)
    migrator.join(120)
    assert errors == []
    assert second_done.is_set()
    from django.db import connection

    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []


def test_the_lock_is_free_again_after_a_migrator_fails(transactional_db):
    with pytest.raises(RuntimeError), entrypoint.migration_lock():
        raise RuntimeError("migration failed")
    errors: list = []
    taken = threading.Event()

    def other():
        with entrypoint.migration_lock():
            taken.set()

    _in_thread(other, errors).join(30)
    assert errors == []
    assert taken.is_set()


# --- The entry point for real: it migrates, then becomes the role's process ------------------


@pytest.fixture
def role_env(transactional_db, tmp_path):
    """A child environment on the test database, with its own metrics dir: the entry point
    empties the one it is given, and the test process's counters live in the shared one."""
    from tests.support import child_env

    return child_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))


def test_the_migrate_role_migrates_and_exits_0(role_env):
    result = subprocess.run(
        [PY, "-m", "aiops.entrypoint"],
        env={**role_env, "AIOPS_ROLE": "migrate"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_the_web_role_answers_probes_and_scrapes_addressed_by_pod_ip(role_env):
    from tests.support import Process, free_port, wait_for

    port = free_port()
    env = {**role_env, "AIOPS_ROLE": "web", "PORT": str(port), "AIOPS_BIND": "127.0.0.1"}
    web = Process([PY, "-m", "aiops.entrypoint"], env, ready_marker="Booting worker")
    web.start(timeout=240)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(f"{base}/healthz", host="10.1.2.3:8000")[0] == 200, timeout=60)
        assert _get(f"{base}/readyz", host="10.1.2.3:8000")[0] == 200
        status, body = _get(f"{base}/metrics", host="10.1.2.3:8000")
        assert status == 200
        assert "outbox_backlog" in body
        # The rest of the site still checks the host.
        assert _get(f"{base}/case/list", host="10.1.2.3:8000")[0] == 400
    finally:
        web.stop()


@pytest.mark.slow
def test_a_worker_role_serves_its_counters_on_the_metrics_port(role_env):
    from tests.support import Process, free_port, wait_for

    port = free_port()
    env = {**role_env, "AIOPS_ROLE": "worker-control", "AIOPS_WORKER_METRICS_PORT": str(port)}
    worker = Process([PY, "-m", "aiops.entrypoint"], env, ready_marker=" ready.")
    worker.start(timeout=120)
    try:
        status, body = wait_for(
            lambda: _get(f"http://127.0.0.1:{port}/metrics"), timeout=30, what="metrics"
        )
        assert status == 200
        assert "# HELP" in body or body == ""  # a fresh pool may not have counted yet
    finally:
        worker.stop()


def _get(url: str, host: str | None = None) -> tuple[int, str] | None:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return None


# --- Kubernetes manifests --------------------------------------------------------------------


def _manifests(*names: str) -> list[tuple[str, dict]]:
    paths = [K8S / n for n in names] if names else sorted(K8S.glob("*.yaml"))
    return [
        (path.name, doc)
        for path in paths
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _kinds(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in _manifests() if doc["kind"] == kind}


def test_every_manifest_is_valid_for_kubernetes_1_37_strictly():
    import kubernetes_validate

    documents = _manifests()
    assert len(documents) >= 15
    for name, doc in documents:
        try:
            kubernetes_validate.validate(doc, "1.37.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")


def test_kustomization_lists_every_manifest_but_the_example_secret():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl (for kustomize) not installed")
def test_the_kustomize_build_is_valid_too():
    import kubernetes_validate

    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=True
    ).stdout
    docs = [d for d in yaml.safe_load_all(built) if d]
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"aiops"}
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_one_deployment_per_role_and_exactly_one_beat_recreated():
    deployments = _kinds("Deployment")
    assert set(deployments) == {
        "aiops-web",
        "aiops-worker-control",
        "aiops-worker-exec",
        "aiops-worker-kb",
        "aiops-relay",
        "aiops-beat",
    }
    beat = deployments["aiops-beat"]["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"] == {"type": "Recreate"}
    roles = {
        name: _env(d["spec"]["template"]["spec"]["containers"][0])["AIOPS_ROLE"]
        for name, d in deployments.items()
    }
    assert roles == {
        "aiops-web": "web",
        "aiops-worker-control": "worker-control",
        "aiops-worker-exec": "worker-exec",
        "aiops-worker-kb": "worker-kb",
        "aiops-relay": "relay",
        "aiops-beat": "beat",
    }


def test_worker_pools_autoscale_and_web_and_workers_have_disruption_budgets():
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in _kinds("HorizontalPodAutoscaler").values()
    }
    assert targets == {"aiops-worker-control", "aiops-worker-exec", "aiops-worker-kb"}
    assert set(_kinds("PodDisruptionBudget")) == {
        "aiops-web",
        "aiops-worker-control",
        "aiops-worker-exec",
        "aiops-worker-kb",
        "aiops-relay",
    }


def test_web_probes_healthz_for_liveness_and_readyz_for_readiness():
    web = _kinds("Deployment")["aiops-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_workers_wait_for_the_schema_in_a_migrate_init_container():
    deployments = _kinds("Deployment")
    for name in ("aiops-worker-control", "aiops-worker-exec", "aiops-worker-kb", "aiops-relay"):
        (init,) = deployments[name]["spec"]["template"]["spec"]["initContainers"]
        assert _env(init)["AIOPS_ROLE"] == "migrate"


def _all_containers(pod: dict) -> list[dict]:
    return pod.get("initContainers", []) + pod["containers"]


def test_every_pod_runs_as_non_root_read_only_without_capabilities_and_with_resources():
    for name, deployment in _kinds("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        mounts_tmp = set()
        for container in _all_containers(pod):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {"requests", "limits"} <= set(container["resources"]), name
            mounts_tmp |= {m["mountPath"] for m in container["volumeMounts"]}
        assert {"/tmp", "/data"} <= mounts_tmp, name


def test_secrets_come_only_from_the_secret():
    secret_names = {"DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    config = _kinds("ConfigMap")["aiops-config"]["data"]
    assert not secret_names & set(config)
    for name, deployment in _kinds("Deployment").items():
        for container in _all_containers(deployment["spec"]["template"]["spec"]):
            by_name = {e["name"]: e for e in container["env"]}
            for secret in secret_names:
                ref = by_name[secret]["valueFrom"]["secretKeyRef"]
                assert ref == {"name": "aiops-secrets", "key": secret}, name


def test_the_example_secret_holds_placeholders_only():
    (secret,) = [d for _, d in _manifests("secret.example.yaml")]
    assert all(value.startswith("<") or "<" in value for value in secret["stringData"].values())


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env", []) if "value" in e}


# --- docker compose ---------------------------------------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


COMPOSE_CLI = _compose_command()
needs_compose = pytest.mark.skipif(
    COMPOSE_CLI is None, reason="neither the docker compose plugin nor docker-compose is installed"
)
COMPOSE_SECRETS = {"DJANGO_SECRET_KEY": "test-only-key", "POSTGRES_PASSWORD": "test-only-pw"}


def _compose_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    return subprocess.run(
        [*COMPOSE_CLI, "-f", str(COMPOSE), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_compose
def test_compose_config_validates():
    result = _compose_config(COMPOSE_SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "redis", "nats", "prometheus", "alertmanager"} <= set(services)
    roles = {name: s.get("environment", {}).get("AIOPS_ROLE") for name, s in services.items()}
    assert roles["web"] == "web"
    assert roles["worker-control"] == "worker-control"
    assert roles["worker-exec"] == "worker-exec"
    assert roles["worker-kb"] == "worker-kb"
    assert roles["beat"] == "beat"


@needs_compose
def test_compose_refuses_to_start_without_a_secret_key():
    result = _compose_config({"POSTGRES_PASSWORD": "test-only-pw"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr or "set it" in result.stderr


def test_compose_file_has_no_secret_and_one_beat():
    text = COMPOSE.read_text()
    assert "${DJANGO_SECRET_KEY:?" in text
    assert "${POSTGRES_PASSWORD:?" in text
    services = yaml.safe_load(text)["services"]
    assert "scale" not in services["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    for name in ("web", "worker-control", "worker-exec", "worker-kb", "beat"):
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("postgres", "redis", "nats", "web", "prometheus", "alertmanager"):
        assert "healthcheck" in services[name], name


# --- The control plane's own alerts and dashboard -------------------------------------------

PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
# Series Prometheus makes itself, not aiops.
PROMETHEUS_SERIES = {"up", "ALERTS"}


def metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression reads (not its functions, labels or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function or an aggregation
        if match.group().lower() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


def test_metric_names_reads_series_not_functions_or_labels():
    expr = 'histogram_quantile(0.95, sum by (le, to) (rate(x_bucket{to="PARKED"}[5m]))) > 1'
    assert metric_names(expr) == {"x_bucket"}
    assert metric_names("max(a) > 0 and (sum(rate(b_total[10m])) or vector(0)) == 0") == {
        "a",
        "b_total",
    }


@pytest.fixture
def exported_names(db) -> set[str]:
    """Every sample name aiops can expose: its counters, histograms and gauges, Django's
    request series, and the gauges /metrics computes at scrape time."""
    import importlib

    from django.conf import settings
    from django.utils.module_loading import import_string
    from django_prometheus.middleware import Metrics
    from prometheus_client import REGISTRY

    importlib.import_module("aiops.metrics")
    for path in glob.glob(str(ROOT / "apps" / "*" / "metrics.py")):
        importlib.import_module(f"apps.{Path(path).parent.name}.metrics")
    Metrics.get_instance()
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gauge": ("",),
    }
    families = list(REGISTRY.collect())
    for path in settings.METRICS_COLLECTORS:
        families += list(import_string(path)().collect())
    names = set()
    for family in families:
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]
    ]


def _panels() -> list[dict]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_every_dashboard_panel_reads_series_aiops_exports(exported_names):
    assert "case_transition_total" in exported_names
    assert "outbox_backlog" in exported_names
    for panel in _panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            unknown = names - exported_names - PROMETHEUS_SERIES
            assert not unknown, f"{panel['title']}: {sorted(unknown)} not exported"


def test_every_alert_reads_series_aiops_exports(exported_names):
    for rule in _rules():
        unknown = metric_names(rule["expr"]) - exported_names - PROMETHEUS_SERIES
        assert not unknown, f"{rule['alert']}: {sorted(unknown)} not exported"


def test_the_dashboard_has_unique_panel_ids_and_a_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource"]


def _anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_every_alert_has_for_severity_annotations_and_a_runbook_that_exists():
    anchors = _anchors(OPERATIONS.read_text())
    for rule in _rules():
        assert "for" in rule, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md", rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in {page}"


PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")


@needs_promtool
def test_promtool_checks_the_rules():
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


@needs_promtool
def test_the_alerts_fire_on_their_series_and_not_on_a_healthy_control_plane():
    result = subprocess.run(
        [PROMTOOL, "test", "rules", "aiops-alerts.test.yml"],
        capture_output=True,
        text=True,
        cwd=ALERTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_compose_prometheus_config_is_valid(tmp_path):
    # Its rule_files path is the container's: check it with the rules where it points.
    config = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text())
    config["rule_files"] = [str(ALERTS)]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"aiops-web", "aiops-worker-control", "aiops-worker-exec", "aiops-beat"} <= jobs


AMTOOL = shutil.which("amtool")


@pytest.mark.skipif(AMTOOL is None, reason="amtool (prometheus-alertmanager) is not installed")
def test_the_compose_alertmanager_config_is_valid_and_sends_to_aiops_with_a_token():
    path = ROOT / "docker" / "alertmanager.yml"
    result = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(path.read_text())
    (aiops,) = [r for r in config["receivers"] if r["name"] == "aiops"]
    (webhook,) = aiops["webhook_configs"]
    assert webhook["url"].endswith("/ingest/alertmanager")
    assert webhook["http_config"]["authorization"]["type"] == "Token"
