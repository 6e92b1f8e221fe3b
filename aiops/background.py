"""Run a command as background work: `python -m aiops.background NICE IDLE -- ARGV...`.

The embedding worker (`worker-kb`) starts this way. It lowers its own priority and then
becomes ARGV (exec), so the priority holds for the worker and every process it forks:

- nice NICE, which still gives it about a tenth of a busy core against one process at 0;
- with IDLE 1, Linux's SCHED_IDLE on top: a core only when nothing else wants it. Four
  unattended cases at a time closed with p50 268 ms under it against 306 ms at nice 10
  alone: at nice 10 the embedding of the last closed cases still took its tenth from the
  next ones (docs/perf/loop.md). What waits is the knowledge base's newest chunks
  (`kb_chunks_pending`), which catch up whenever the cores are not full.

Where SCHED_IDLE does not exist (not Linux), the nice value alone applies.
"""

from __future__ import annotations

import os
import sys

USAGE = "usage: python -m aiops.background NICE IDLE(0|1) -- ARGV..."


def lower_priority(nice: int, idle: bool) -> None:
    os.nice(nice)
    if idle and hasattr(os, "SCHED_IDLE"):
        # Any process may give itself SCHED_IDLE; what it forks and execs keeps it.
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:  # a sandbox that forbids it: the nice value still holds
            print(
                f"aiops.background: SCHED_IDLE refused ({exc}); nice {nice} only", file=sys.stderr
            )


def main(args: list[str]) -> None:
    if len(args) < 4 or args[2] != "--" or args[1] not in ("0", "1"):
        sys.exit(USAGE)
    try:
        nice = int(args[0])
    except ValueError:
        sys.exit(USAGE)
    lower_priority(nice, args[1] == "1")
    os.execvp(args[3], args[3:])  # noqa: S606 — the launcher's own argv, not input


if __name__ == "__main__":
    main(sys.argv[1:])
