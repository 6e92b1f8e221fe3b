"""aiops.background: the embedding worker's priority, read back from the process it became."""

import os
import subprocess
import sys

import pytest

from aiops import background

# What the exec'd command reports about itself: its scheduling policy and nice value.
REPORT = "import os; print(os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))"


def run(*args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "aiops.background", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def policy_and_nice(*args: str) -> tuple[int, int]:
    done = run(*args, "--", sys.executable, "-c", REPORT)
    assert done.returncode == 0, done.stderr
    policy, nice = done.stdout.split()
    return int(policy), int(nice) - os.getpriority(os.PRIO_PROCESS, 0)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_command_it_becomes_runs_under_sched_idle_at_the_nice_value():
    assert policy_and_nice("10", "1") == (os.SCHED_IDLE, 10)


def test_with_idle_off_the_command_keeps_the_normal_policy_at_the_nice_value():
    assert policy_and_nice("7", "0") == (os.SCHED_OTHER, 7)


def test_a_child_the_command_forks_keeps_the_lowered_priority():
    # The Celery worker forks its pool after the exec: the children do the embedding.
    fork = f"import os\nif os.fork() == 0:\n    {REPORT}\nelse:\n    os.wait()"
    done = run("3", "1", "--", sys.executable, "-c", fork)
    assert done.returncode == 0, done.stderr
    policy, nice = map(int, done.stdout.split())
    assert policy == (os.SCHED_IDLE if hasattr(os, "SCHED_IDLE") else os.SCHED_OTHER)
    assert nice - os.getpriority(os.PRIO_PROCESS, 0) == 3


@pytest.mark.parametrize(
    "prefix", [[], ["10", "1"], ["ten", "1", "--"], ["10", "2", "--"], ["10", "--"]]
)
def test_a_malformed_command_line_exits_with_its_usage_and_runs_nothing(prefix, tmp_path):
    marker = tmp_path / "ran"
    done = run(*prefix, "touch", str(marker))
    assert done.returncode != 0
    assert background.USAGE in done.stderr
    assert not marker.exists()
