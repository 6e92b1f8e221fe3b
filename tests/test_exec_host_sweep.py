"""Each execution worker sweeps its own host (apps.executor.hostsweep): on Kubernetes or
compose the beat sweep runs in the control pod, which can see none of an execution pod's
processes. Attacks: an attempt whose worker died leaves an escaped child running on the
execution worker's host, and nothing but that worker runs (no control worker, no beat)."""

import subprocess
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.executor import procs, services
from apps.executor.models import ExecStep
from tests import support
from tests.conftest import plan_step
from tests.test_step_once import FAST_LEASE, alive, begin, pids, wait_all_gone

pytestmark = pytest.mark.django_db(transaction=True)


def claimed_elsewhere(run, *, host: str, expired_for: float = 1.0) -> ExecStep:
    """The run's first attempt, claimed by a worker that died: its lease long expired."""
    step = services.step_claim(str(run.steps.get().message_id), worker="celery@dead")
    expired = timezone.now() - timedelta(seconds=expired_for)
    ExecStep.objects.filter(pk=step.pk).update(host=host, lease_expires_at=expired)
    return step


def launch_orphan(step: ExecStep, directory) -> subprocess.Popen:
    """escape-and-sleep carrying the attempt's token: a child that escaped its process group
    (setsid and a double fork) and outlived the dead worker."""
    directory.mkdir()
    env = {"PATH": "/usr/bin:/bin", procs.TOKEN_VAR: str(step.message_id)}
    argv = [str(settings.AIOPS_SCRIPT_DIR / "escape-and-sleep")]
    argv += [str(directory / "count"), str(directory / "pids"), "300"]
    return subprocess.Popen(argv, env=env)


def test_an_execution_worker_alone_kills_and_retries_a_dead_attempt_of_its_host(new_case, tmp_path):
    support.purge_broker()
    _case, run = begin(new_case, [plan_step("restart", retries=2, idempotent=True)])
    step = claimed_elsewhere(run, host=procs.host_id())
    launched = launch_orphan(step, tmp_path / "orphan")
    orphans = pids(tmp_path / "orphan", 2)
    worker = support.celery_worker(queues=settings.EXEC_QUEUE, **FAST_LEASE).start()
    try:
        wait_all_gone(orphans, timeout=30)
        retry = support.wait_for(
            lambda: run.steps.filter(step_id="restart", attempt=2, status="succeeded").first(),
            timeout=30,
            what="the second attempt to succeed",
        )
    finally:
        worker.stop()
        procs.kill_attempt(str(step.message_id))
        launched.wait()
        support.purge_broker()
    step.refresh_from_db()
    assert step.status == "lost"
    assert "not retried" not in step.error
    assert retry.host == procs.host_id()
    assert run.steps.filter(step_id="restart").count() == 2  # one retry, never two


def test_the_host_sweep_leaves_an_attempt_of_another_host_alone(new_case, tmp_path):
    support.purge_broker()
    _case, run = begin(new_case, [plan_step("remote", retries=2, idempotent=True)])
    step = claimed_elsewhere(run, host="elsewhere:1", expired_for=3 * settings.EXEC_LEASE_SECONDS)
    launched = launch_orphan(step, tmp_path / "theirs")  # seen from here in this test only
    try:
        theirs = pids(tmp_path / "theirs", 2)
        assert services.sweep_here() == 0
        step.refresh_from_db()
        assert step.status == "running"
        assert all(alive(pid) for pid in theirs)  # a running attempt's processes are not ours
    finally:
        procs.kill_attempt(str(step.message_id))
        launched.wait()
        support.purge_broker()


def test_beats_sweep_skips_this_hosts_part_when_its_host_sweep_just_ran(new_case):
    from django.core.cache import cache

    from apps.executor import hostsweep, tasks

    windows = ["sweep-window:exec-sweep", f"sweep-window:exec-sweep:{procs.host_id()}"]
    support.purge_broker()
    cache.delete_many(windows)
    _case, run = begin(new_case, [plan_step("restart", retries=2, idempotent=True)])
    step = claimed_elsewhere(run, host=procs.host_id())
    try:
        assert hostsweep.host_turn()  # the host's sweep took this window
        tasks.sweep_steps.apply()
        step.refresh_from_db()
        assert step.status == "running"
        cache.delete_many(windows)  # a window later: beat's sweep takes the host's turn
        tasks.sweep_steps.apply()
        step.refresh_from_db()
        assert step.status == "lost"
    finally:
        cache.delete_many(windows)
        support.purge_broker()
