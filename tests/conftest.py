import pytest
from django.contrib.auth.models import Group, User
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from aiops import tokens
from apps.cases import services
from tests import support


def make_user(username: str, *roles: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    user.is_superuser = superuser
    user.save()
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


# username → key: a knox key cannot be read back, so the one issued first is kept for the
# user's later clients (checked against the database: a new test has a new database).
_keys: dict[str, str] = {}


def token_for(user: User) -> str:
    """An API key of `user`, issued once per user and test (aiops.tokens)."""
    key = _keys.get(user.username)
    if key is None or not AuthToken.objects.filter(user=user, digest=hash_token(key)).exists():
        key = _keys[user.username] = tokens.issue(user)
    return key


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


@pytest.fixture
def operator(db):
    return make_user("olga", "operator")


@pytest.fixture
def api(operator):
    """An API client authenticated as an operator."""
    return client_for(operator)


@pytest.fixture
def viewer_api(db):
    return client_for(make_user("victor", "viewer"))


@pytest.fixture
def ingest_api(db):
    """A service client with the ingest role only (as `manage.py create_ingest_token`)."""
    return client_for(make_user("metrics-bridge", "ingest"))


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture
def new_case(operator):
    def make(**overrides):
        fields = {"title": "checkout p95 up", "service": "checkout", "environment": "staging"}
        fields.update(overrides)
        return services.case_create(actor=operator, **fields)

    return make


@pytest.fixture
def start_worker(transactional_db):
    """Start real Celery worker processes (with extra env) on the test database and broker."""
    support.purge_broker()
    started = []

    def start(**env):
        process = support.celery_worker(**env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    support.purge_broker()


@pytest.fixture
def worker(start_worker):
    """A real Celery worker process on the test database and broker."""
    return start_worker()


def sample_plan(**spec_overrides) -> dict:
    """A complete aiops/v1 Plan using the echo adapter (see docs/plan-dsl.md)."""
    spec = {
        "target": {"environment": "staging", "service": "checkout", "namespace": "shop"},
        "steps": [
            {
                "id": "say-hello",
                "adapter": "echo",
                "action": "echo",
                "params": {"message": "hello"},
                "timeout_s": 30,
                "retries": 0,
                "backoff_s": 0,
            }
        ],
        "rollback": [
            {
                "id": "say-undo",
                "adapter": "echo",
                "action": "echo",
                "params": {"message": "undo"},
                "timeout_s": 30,
                "retries": 0,
                "backoff_s": 0,
            }
        ],
        "verify": {
            "delay_s": 0,
            "window_s": 300,
            "checks": [
                {
                    "name": "p95-latency",
                    "metric": "http_p95_ms",
                    "aggregate": "p95",
                    "operator": "<",
                    "threshold": 300,
                    "for_minutes": 1,
                    "no_data": "inconclusive",
                }
            ],
        },
    }
    spec.update(spec_overrides)
    return {
        "apiVersion": "aiops/v1",
        "kind": "Plan",
        "metadata": {"name": "sample", "template": "", "risk": {"score": 10, "factors": []}},
        "spec": spec,
    }


def drive_to_executing(case, operator_name: str = "olga", document: dict | None = None):
    """Put a case in EXECUTING through the services (see tests/factories.py), its
    environment's autopilot made manual first: the test, not the Executor's subscriber,
    starts the run — so a worker already running cannot race it to it."""
    from django.contrib.auth.models import User

    from apps.gate.selectors import autopilot_for
    from tests import factories

    if autopilot_for(case.environment) != "manual":
        factories.set_autopilot(case.environment, "manual")
    user = User.objects.get(username=operator_name)
    return factories.drive_to_executing(case, user, document or sample_plan())


def drive_to_verifying(case, operator_name: str = "olga", document: dict | None = None):
    """Put a case in VERIFYING through the services, its run carried out in this process."""
    from django.contrib.auth.models import User

    from tests import factories

    user = User.objects.get(username=operator_name)
    return factories.drive_to_verifying(case, user, document or sample_plan())


def plan_step(step_id: str, adapter: str = "echo", action: str = "echo", **fields) -> dict:
    """One step of a Plan's spec.steps / spec.rollback (executor tests)."""
    step = {
        "id": step_id,
        "adapter": adapter,
        "action": action,
        "params": {},
        "timeout_s": 30,
        "retries": 0,
        "backoff_s": 0,
    }
    step.update(fields)
    return step


def wait_run_finished(case, timeout: float = 60):
    """The case's latest exec_run once it is no longer pending/running (executor tests)."""
    from apps.executor.models import ExecRun

    def finished():
        run = ExecRun.objects.filter(case=case).order_by("-created_at").first()
        return run if run is not None and run.status not in ExecRun.ACTIVE else None

    return support.wait_for(support.swept(finished), timeout=timeout, what="the run to finish")


def wait_case_state(case, state: str, timeout: float = 60):
    from apps.cases.models import OpsCase

    return support.wait_for(
        support.swept(lambda: OpsCase.objects.filter(pk=case.pk, state=state).first()),
        timeout=timeout,
        what=f"case {case.pk} to reach {state}",
    )


def wait_transition(case, event: str, timeout: float = 60):
    """The case's timeline row for transition `event` once it happened (executor tests).

    Waits on the timeline, not the current state: later modules may move the case on."""
    from apps.cases.models import CaseTimeline

    return support.wait_for(
        support.swept(lambda: CaseTimeline.objects.filter(case=case, event=event).first()),
        timeout=timeout,
        what=f"transition {event} of case {case.pk}",
    )
