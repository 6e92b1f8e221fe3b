"""Waiting for the cores to quieten down before embedding.

Embedding a closed case costs the loop even when it only takes idle time: on the two
vCPUs of our bench machine, four unattended cases at a time closed with p50 238 ms with
the embedding worker stopped, 301 to 310 ms with it under SCHED_IDLE, and 350 ms with any
other SCHED_IDLE process doing arithmetic instead (docs/perf/loop.md). What the loop
shares with such a process is the hardware (caches, memory, the host's cores), which no
scheduling policy divides. So the embedding waits for a quiet moment, for a bounded time:
nothing needs a closed case's chunks within seconds, and a steady load that never
quietens down only delays them by the bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CpuTimes = tuple[int, int]  # (busy, total) jiffies of every core since boot


def cpu_times(path: str = "/proc/stat") -> CpuTimes | None:
    """The machine's busy and total CPU time so far; None where /proc/stat is not."""
    try:
        with open(path) as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice, inside user/nice]
    total = sum(fields[:8])
    return total - fields[3] - fields[4], total


def busy_share(before: CpuTimes, after: CpuTimes) -> float:
    """The share of the cores that were busy between two readings (0 to 1)."""
    elapsed = after[1] - before[1]
    return (after[0] - before[0]) / elapsed if elapsed > 0 else 0.0


def wait_for_quiet(
    deadline: float,
    *,
    threshold: float,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    sample: Callable[[], CpuTimes | None] = cpu_times,
) -> bool:
    """Wait until the cores were less than `threshold` busy over one `interval`, or until
    `deadline` (on `clock`); True if they were. Where the machine cannot be read, at once."""
    while clock() < deadline:
        before = sample()
        sleep(interval)
        after = sample()
        if before is None or after is None:
            return True
        if busy_share(before, after) < threshold:
            return True
    return False
