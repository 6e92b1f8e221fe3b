"""`make run` keeps its processes running: one that dies is started again, with backoff."""

import io
import os
import signal

from aiops.launcher import Supervisor, children
from tests import support

SLEEPER = ["sleep", "600"]


def test_make_run_starts_separate_control_execution_and_embedding_workers_and_the_relay(
    monkeypatch,
):
    monkeypatch.delenv("AIOPS_OUTBOX_RELAY_PROCESS", raising=False)
    argvs = children()
    assert set(argvs) == {"web", "worker-control", "worker-exec", "worker-kb", "relay", "beat"}
    assert argvs["worker-control"][argvs["worker-control"].index("-Q") + 1] == "celery"
    assert argvs["worker-exec"][argvs["worker-exec"].index("-Q") + 1] == "executor"
    assert argvs["worker-kb"][argvs["worker-kb"].index("-Q") + 1] == "kb"


def test_the_embedding_worker_runs_as_background_work_with_one_process():
    argv = children()["worker-kb"]
    assert argv[1:7] == ["-m", "aiops.background", "10", "1", "--", argv[6]]
    assert argv[6].endswith("celery")
    assert "--concurrency=1" in argv


def test_a_killed_child_is_started_again_and_the_others_keep_running():
    out = io.StringIO()
    supervisor = Supervisor({"worker": SLEEPER, "web": SLEEPER}, out)
    supervisor.start_all()
    try:
        first, web = supervisor.procs["worker"], supervisor.procs["web"]
        os.kill(first.pid, signal.SIGKILL)

        def restarted():
            supervisor.tick()
            proc = supervisor.procs["worker"]
            return proc is not None and proc.pid != first.pid and proc.poll() is None

        support.wait_for(restarted, timeout=10, what="the worker to be restarted")
        assert supervisor.procs["web"] is web and web.poll() is None
        assert "worker exited with -9" in out.getvalue()
        assert "worker restarted (restart 1)" in out.getvalue()
    finally:
        supervisor.stop_all(timeout=5)
    assert all(p.poll() is not None for p in supervisor.procs.values() if p)


class FakeProc:
    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode


def test_a_child_that_keeps_dying_waits_longer_each_time():
    now = [0.0]
    procs: list[FakeProc] = []

    def popen(argv):
        procs.append(FakeProc())
        return procs[-1]

    supervisor = Supervisor({"beat": ["x"]}, io.StringIO(), popen=popen, clock=lambda: now[0])
    supervisor.start_all()
    delays = []
    for _ in range(7):
        procs[-1].returncode = 1  # dies at once
        supervisor.tick()
        due = supervisor.restart_at["beat"]
        delays.append(due - now[0])
        now[0] = due
        supervisor.tick()
    assert delays == [1, 2, 4, 8, 16, 30, 30]


def test_the_backoff_resets_once_a_child_has_run_long_enough():
    now = [0.0]
    procs: list[FakeProc] = []
    supervisor = Supervisor(
        {"web": ["x"]},
        io.StringIO(),
        popen=lambda a: procs.append(FakeProc()) or procs[-1],
        clock=lambda: now[0],
    )
    supervisor.start_all()
    for _ in range(3):
        procs[-1].returncode = 1
        supervisor.tick()
        now[0] = supervisor.restart_at["web"]
        supervisor.tick()
    now[0] += Supervisor.STABLE_S
    procs[-1].returncode = 1
    supervisor.tick()
    assert supervisor.restart_at["web"] - now[0] == Supervisor.BACKOFF_MIN


def test_stopping_terminates_every_child():
    supervisor = Supervisor({"a": SLEEPER, "b": SLEEPER}, io.StringIO())
    supervisor.start_all()
    supervisor.stop_all(timeout=5)
    assert {p.returncode for p in supervisor.procs.values()} == {-signal.SIGTERM}


def test_every_worker_runs_without_celerys_worker_to_worker_chatter():
    for role, argv in children().items():
        if "worker" in argv:
            assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(argv), (
                role
            )
