"""A step never runs twice at once, and never outlives its attempt — attacks with real workers.

Each test does what goes wrong in production (a worker SIGKILLed mid-step, a script that
escapes its process group with setsid and a double fork, a lost attempt on another host) and
asserts the harmful effect is absent: no process of the step left, no second copy started
(escape-and-sleep appends one line per run to a counter file), no retry of a started step
that is not idempotent.
"""

import subprocess
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.cases.services import case_park
from apps.executor import procs, services
from apps.executor.models import ExecStep
from tests import support
from tests.conftest import (
    drive_to_executing,
    plan_step,
    sample_plan,
    wait_run_finished,
    wait_transition,
)

pytestmark = pytest.mark.django_db(transaction=True)
FAST_LEASE = {"AIOPS_EXEC_LEASE_SECONDS": "2", "AIOPS_EXEC_SWEEP_SECONDS": "1"}


@pytest.fixture
def start_beat(transactional_db):
    started = []

    def start(**env):
        argv = [str(support.BIN / "celery"), "-A", "aiops", "beat", "--loglevel=INFO"]
        process = support.Process(argv, support.child_env(**env), ready_marker="beat: Starting")
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()


def escaping_step(tmp_path: Path, seconds: int, **fields) -> dict:
    """escape-and-sleep: counts its runs in tmp_path/count, its pids in tmp_path/pids."""
    args = [str(tmp_path / "count"), str(tmp_path / "pids"), str(seconds)]
    step = plan_step("hang", "script", "run", params={"name": "escape-and-sleep", "args": args})
    step.update({"timeout_s": 300, **fields})
    return step


def begin(new_case, steps):
    plan = sample_plan(steps=steps, rollback=[plan_step("undo")])
    case = drive_to_executing(new_case(), document=plan)
    return case, services.exec_start(case_id=case.pk, actor="olga")


def pids(tmp_path: Path, count: int) -> list[int]:
    """The pids escape-and-sleep recorded, once it recorded `count` of them."""
    path = tmp_path / "pids"
    return support.wait_for(
        lambda: (
            [int(p) for p in path.read_text().split()]
            if path.exists() and len(path.read_text().split()) >= count
            else None
        ),
        what=f"{count} pids in {path}",
    )


def alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def wait_all_gone(pid_list: list[int], timeout: float = 30) -> None:
    support.wait_for(
        lambda: not any(alive(pid) for pid in pid_list),
        timeout=timeout,
        what=f"processes {pid_list} to be gone",
    )


def runs_counted(tmp_path: Path) -> int:
    return len((tmp_path / "count").read_text().splitlines())


class TokenSampler(threading.Thread):
    """Samples /proc: which attempt tokens have live processes at each moment."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[set[str]] = []
        self.halt = threading.Event()

    def run(self):
        prefix = f"{procs.TOKEN_VAR}=".encode()
        while not self.halt.wait(0.02):
            seen = set()
            for entry in (p.name for p in Path("/proc").iterdir() if p.name.isdigit()):
                if not alive(int(entry)):
                    continue
                try:
                    environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                seen.update(v[len(prefix) :].decode() for v in environ if v.startswith(prefix))
            self.samples.append(seen)

    def most_alive_at_once(self, tokens: set[str]) -> int:
        self.halt.set()
        self.join(5)
        return max((len(sample & tokens) for sample in self.samples), default=0)


def test_a_killed_worker_leaves_no_script_process_and_a_started_step_is_not_run_again(
    new_case, start_worker, start_beat, tmp_path
):
    first = start_worker(**FAST_LEASE)
    # retries left, but not idempotent: once started, the step must not run a second time.
    case, run = begin(new_case, [escaping_step(tmp_path, 300, retries=2)])
    script, child = pids(tmp_path, 2)
    # The worker records the process group just after the script starts: the script may
    # write its pids first.
    step = support.wait_for(
        lambda: run.steps.filter(pgid__isnull=False).first(), what="the spawn to be recorded"
    )
    assert (step.pgid, step.proc_start, step.host) == (
        script,
        procs.start_time(script),
        procs.host_id(),
    )

    first.kill()
    # The script dies with its worker (parent-death signal), before any sweeper runs.
    wait_all_gone([script], timeout=10)
    start_worker(**FAST_LEASE)
    start_beat(**FAST_LEASE)

    parked = wait_transition(case, "exec_failed")
    wait_all_gone([script, child])  # the setsid'd child too: the sweeper killed it
    assert "step 'hang' lost" in parked.reason
    assert "not idempotent" in parked.reason
    run = wait_run_finished(case)
    assert run.status == "rolled_back"
    assert [(s.attempt, s.status) for s in run.steps.filter(step_id="hang")] == [(1, "lost")]
    assert runs_counted(tmp_path) == 1


def test_an_idempotent_step_is_retried_only_once_its_lost_attempt_is_gone(
    new_case, start_worker, start_beat, tmp_path
):
    sampler = TokenSampler()
    sampler.start()
    first = start_worker(**FAST_LEASE)
    case, run = begin(new_case, [escaping_step(tmp_path, 8, retries=1, idempotent=True)])
    first_pids = pids(tmp_path, 2)
    first.kill()
    start_worker(**FAST_LEASE)
    start_beat(**FAST_LEASE)

    second_pids = pids(tmp_path, 4)[2:]
    assert not any(alive(pid) for pid in first_pids)  # gone before the retry began
    wait_transition(case, "exec_done")
    wait_all_gone(second_pids)
    attempts = run.steps.filter(step_id="hang").order_by("attempt")
    assert [(s.attempt, s.status) for s in attempts] == [(1, "lost"), (2, "succeeded")]
    assert runs_counted(tmp_path) == 2
    tokens = {str(s.message_id) for s in attempts}
    assert sampler.most_alive_at_once(tokens) == 1


def test_a_setsid_escape_is_killed_when_its_step_times_out(new_case, start_worker, tmp_path):
    start_worker()
    case, run = begin(new_case, [escaping_step(tmp_path, 300, timeout_s=3)])
    script, child = pids(tmp_path, 2)
    wait_transition(case, "exec_failed")
    assert run.steps.get(step_id="hang").status == "timed_out"
    wait_all_gone([script, child], timeout=5)
    assert runs_counted(tmp_path) == 1


def test_a_setsid_escape_is_killed_when_its_run_is_cancelled(new_case, start_worker, tmp_path):
    start_worker()
    case, run = begin(new_case, [escaping_step(tmp_path, 300)])
    script, child = pids(tmp_path, 2)
    case_park(case_id=case.pk, actor="olga", reason="operator takes over")
    run = wait_run_finished(case)
    assert run.status == "cancelled"
    wait_all_gone([script, child], timeout=5)


def test_a_lost_attempt_on_another_host_is_never_retried(new_case, transactional_db):
    support.purge_broker()  # no worker: this test claims the step itself
    _case, run = begin(new_case, [plan_step("remote", retries=3, idempotent=True)])
    step = services.step_claim(str(run.steps.get().message_id), worker="celery@elsewhere")
    lease = timedelta(seconds=settings.EXEC_LEASE_SECONDS)
    expired = timezone.now() - timedelta(seconds=1)
    ExecStep.objects.filter(pk=step.pk).update(host="elsewhere:1", lease_expires_at=expired)

    # Just expired: left for a sweeper on its own host, which can check its processes.
    assert services.sweep_steps()["lost"] == 0
    assert ExecStep.objects.get(pk=step.pk).status == "running"

    ExecStep.objects.filter(pk=step.pk).update(lease_expires_at=expired - lease)
    assert services.sweep_steps()["lost"] == 1
    step.refresh_from_db()
    assert step.status == "lost"
    assert "cannot be checked from" in step.error
    run.refresh_from_db()
    assert run.phase == "rollback"
    assert "step 'remote' lost" in run.reason
    assert not run.steps.filter(step_id="remote", attempt=2).exists()
    support.purge_broker()


def test_leftovers_of_an_attempt_that_is_over_are_killed_by_a_sweep_on_their_host(
    new_case, transactional_db, tmp_path
):
    # The attempt was declared lost by a sweeper elsewhere; its escaped child lives on here.
    support.purge_broker()
    _case, run = begin(new_case, [plan_step("remote")])
    step = services.step_claim(str(run.steps.get().message_id), worker="celery@elsewhere")
    stale = timezone.now() - timedelta(seconds=settings.EXEC_LEASE_SECONDS + 1)
    ExecStep.objects.filter(pk=step.pk).update(host="elsewhere:1", lease_expires_at=stale)
    orphan_env = {"PATH": "/usr/bin:/bin", procs.TOKEN_VAR: str(step.message_id)}
    bystander_env = {"PATH": "/usr/bin:/bin", procs.TOKEN_VAR: str(uuid.uuid4())}
    orphan, bystander = tmp_path / "orphan", tmp_path / "bystander"
    orphan.mkdir()
    bystander.mkdir()
    launched = []
    for directory, env in ((orphan, orphan_env), (bystander, bystander_env)):
        args = [str(directory / "count"), str(directory / "pids"), "300"]
        launched.append(
            subprocess.Popen([str(settings.AIOPS_SCRIPT_DIR / "escape-and-sleep"), *args], env=env)
        )
    try:
        orphans, bystanders = pids(orphan, 2), pids(bystander, 2)
        assert services.sweep_steps()["lost"] == 1  # from "elsewhere": processes not checked
        assert all(alive(pid) for pid in orphans)
        services.sweep_steps()  # a sweep on their host
        wait_all_gone(orphans, timeout=5)
        assert all(alive(pid) for pid in bystanders)  # not an attempt of this database
    finally:
        procs.kill_attempt(bystander_env[procs.TOKEN_VAR])
        for process in launched:
            process.wait()
        support.purge_broker()
