"""Shared by the benches: timing statistics and writing a section of docs/BENCHMARKS.md."""

from __future__ import annotations

import platform
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Each section is written by its bench (`make bench-*`); figures are medians of several\n"
    "runs on the machine named in the section. Re-run a bench to refresh its section.\n"
    "On this shared 2-core machine the same bench has moved by up to ±25 % between sessions\n"
    "(e.g. executor 10.9 to 16.6 ms/step); compare figures taken in one session.\n"
)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of all cores since boot (Linux /proc/stat), or None elsewhere."""
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
        fields = [int(f) for f in line.split()[1:9]]  # guest time is counted in user already
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the machine's cores that were busy between two cpu_times() readings."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def write_section(name: str, markdown: str) -> None:
    """Replace (or append) the section delimited by `<!-- bench:name -->` markers."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = (
        f"<!-- bench:{name} -->\n{markdown.rstrip()}\n\n"
        f"_Measured {stamp} on {machine()}._\n<!-- /bench:{name} -->"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    DOC.write_text(text)
