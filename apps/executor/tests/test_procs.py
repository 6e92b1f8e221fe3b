"""An attempt's processes (apps.executor.procs), no database: found by their token wherever
they went, killed until none is left, and the attempt's child dies with its parent."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings

from apps.executor import procs


def alive(pid: int) -> bool:
    fields = procs._stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def wait_pids(path: Path, count: int) -> list[int]:
    end = time.monotonic() + 10
    while time.monotonic() < end:
        pids = path.read_text().split() if path.exists() else []
        if len(pids) >= count:
            return [int(pid) for pid in pids]
        time.sleep(0.05)
    raise AssertionError(f"{path} never listed {count} pids")


def escape(tmp_path: Path, token: str) -> tuple[subprocess.Popen, list[int]]:
    """escape-and-sleep with `token`: its pid and its setsid'd, double-forked child's."""
    script = settings.AIOPS_SCRIPT_DIR / "escape-and-sleep"
    proc = subprocess.Popen(
        [str(script), str(tmp_path / "count"), str(tmp_path / "pids"), "60"],
        env={"PATH": "/usr/bin:/bin", procs.TOKEN_VAR: token},
        start_new_session=True,
    )
    return proc, wait_pids(tmp_path / "pids", 2)


def test_kill_attempt_kills_a_child_that_left_the_group_and_the_tree(tmp_path):
    token = str(uuid.uuid4())
    proc, (script, child) = escape(tmp_path, token)
    end = time.monotonic() + 10
    while os.getpgid(child) == proc.pid and time.monotonic() < end:
        time.sleep(0.02)  # setsid runs just after the pid is written
    assert os.getpgid(child) != proc.pid  # it escaped the group a killpg would reach
    assert procs.kill_attempt(token, pgid=proc.pid, start=procs.start_time(proc.pid)) == []
    proc.wait()
    assert not alive(script) and not alive(child)


def test_kill_attempt_leaves_other_attempts_alone(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    proc, _ = escape(mine, "mine")
    other, (other_script, other_child) = escape(theirs, "theirs")
    try:
        assert procs.kill_attempt("mine", pgid=proc.pid) == []
        assert alive(other_script) and alive(other_child)
    finally:
        procs.kill_attempt("theirs", pgid=other.pid)
        proc.wait()
        other.wait()


def test_a_reused_group_leader_pid_is_not_taken_for_the_attempts_group():
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        started = procs.start_time(bystander.pid)
        assert procs.kill_attempt("none", pgid=bystander.pid, start=started - 1) == []
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_the_child_dies_with_the_thread_that_started_it(tmp_path):
    # A middle process starts a child with die_with_parent, reports its pid, then is killed.
    code = (
        "import os, subprocess, sys, time\n"
        "from apps.executor import procs\n"
        "child = subprocess.Popen(['sleep', '60'], preexec_fn=procs.die_with_parent(os.getpid()))\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    middle = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    child = int(middle.stdout.readline())
    assert alive(child)
    middle.send_signal(signal.SIGKILL)
    middle.wait()
    end = time.monotonic() + 10
    while alive(child) and time.monotonic() < end:
        time.sleep(0.05)
    assert not alive(child)
