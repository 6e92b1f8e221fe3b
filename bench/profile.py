"""Where a bench's time goes: py-spy samples the platform's processes while the bench runs
its workload once more (untimed), and the top functions by samples go into the report.

py-spy comes with requirements.txt (BENCH_PYSPY may name another binary); without it the
report says so and the figures stand alone. BENCH_PYSPY_IDLE=1 samples waiting threads too
(where wall-clock time goes, not only CPU).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

TOP = 12


def pyspy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")  # the virtualenv's, from requirements.txt
    found = beside if beside.exists() else shutil.which("py-spy")
    return os.environ.get("BENCH_PYSPY") or (str(found) if found else None)


def sample(pids: list[int], work: Callable[[], object], out: Path) -> Counter | None:
    """Run `work()` under py-spy on `pids` (and their children); collapsed stacks, summed."""
    binary = pyspy()
    if binary is None:
        work()
        return None
    spies, files = [], []
    for pid in pids:
        path = out.with_suffix(f".{pid}.txt")
        argv = [binary, "record", "--format", "raw", "--subprocesses", "--rate", "200"]
        argv += ["--full-filenames"] + (["--idle"] if os.environ.get("BENCH_PYSPY_IDLE") else [])
        argv += ["--nonblocking", "-o", str(path), "-p", str(pid)]
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        files.append(path)
    try:
        work()
    finally:
        for spy in spies:
            spy.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        for spy in spies:
            spy.wait(60)
    stacks: Counter = Counter()
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if count.isdigit():
                stacks[stack] += int(count)
    return stacks


def top(stacks: Counter | None, *, n: int = TOP) -> str:
    """Markdown: the functions of this checkout the most samples passed through (inclusive),
    then the modules the samples ended in (self time), as shares of the busy samples."""
    if not stacks:
        return "_(no profile: py-spy not installed)_\n"
    busy = Counter({s: c for s, c in stacks.items() if not _idle(s)})
    total = sum(busy.values()) or 1
    inclusive: Counter = Counter()
    for stack, count in busy.items():
        seen = set()
        for frame in stack.split(";"):
            name = _frame(frame)
            if name and name not in seen:
                inclusive[name] += count
                seen.add(name)
    lines = ["| function (this project) | share of busy samples |", "|---|---:|"]
    for name, count in inclusive.most_common(n):
        lines.append(f"| `{name}` | {count / total * 100:.0f} % |")
    leaves: Counter = Counter()
    for stack, count in busy.items():
        leaves[_module(stack.rsplit(";", 1)[-1])] += count
    lines += ["", "| where the samples end (module, self time) | share |", "|---|---:|"]
    for name, count in leaves.most_common(n):
        lines.append(f"| `{name}` | {count / total * 100:.0f} % |")
    lines.append(f"\n{total} busy samples over {len(stacks)} distinct stacks.")
    return "\n".join(lines) + "\n"


def _frame(frame: str) -> str:
    # py-spy's raw frame: "function (path/file.py:line)"
    function, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    if not path.startswith(root) or "/.venv/" in path:
        return ""
    return f"{path.removeprefix(root)}:{function}"


def _module(frame: str) -> str:
    where = frame.partition(" (")[2].rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in where:
            return where.split(marker, 1)[1]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return where.removeprefix(root) or frame


def _idle(stack: str) -> bool:
    leaf = stack.rsplit(";", 1)[-1]
    return any(word in leaf for word in ("select (", "poll (", "epoll", "wait (", "accept ("))
