"""`make bench-memory`: resident memory of `make run`'s processes over a soak of the loop.

The unattended loop of bench.loop (same platform, fake Kubernetes API, restart template)
runs without pause from CLIENTS client threads for SOAK_S seconds (10 minutes by default);
every SAMPLE_S seconds the resident memory of each role is read from /proc. Growth is the
mean of the last minute against the mean of the first.
"""

from __future__ import annotations

import os
import threading
import time

from bench.client import Http, KeepHealthy
from bench.loop import DATA_DIR, SERVICE, memory, start, unattended_case
from bench.report import write_section

SOAK_S = int(os.environ.get("BENCH_SOAK_S", "600"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SAMPLE_S = 10


def soak(platform) -> tuple[list[tuple[float, dict]], int]:
    stop = threading.Event()
    closed, errors, lock = [0], [], threading.Lock()

    def client():
        http = Http(platform.base, platform.token)
        while not stop.is_set():
            try:
                unattended_case(http)
            except Exception as exc:  # reported after the soak, not lost in the thread
                errors.append(exc)
                return
            with lock:
                closed[0] += 1

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    samples, begin = [], time.monotonic()
    while time.monotonic() - begin < SOAK_S and not errors:
        samples.append((time.monotonic() - begin, memory(platform)))
        time.sleep(SAMPLE_S)
    samples.append((time.monotonic() - begin, memory(platform)))
    stop.set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return samples, closed[0]


def main() -> None:
    load = os.getloadavg()[0]
    platform, kube = start(DATA_DIR)
    try:
        http = Http(platform.base, platform.token)
        with KeepHealthy(platform.base, platform.token, SERVICE):
            for _ in range(4):  # warm-up, as bench.loop's
                unattended_case(http, timeout=900)
            samples, closed = soak(platform)
    finally:
        platform.stop()
        kube.stop()

    minute = 60 if SOAK_S >= 180 else SOAK_S / 3
    end = samples[-1][0]
    first = [s for t, s in samples if t <= minute]
    around = sorted(samples, key=lambda sample: abs(sample[0] - end / 2))
    middle = [s for _, s in around[: max(1, round(minute / SAMPLE_S))]]
    last = [s for t, s in samples if t >= end - minute]
    roles = sorted(first[0])

    def mean(rows, role):
        return sum(r.get(role, 0.0) for r in rows) / len(rows)

    lines = [
        "## Memory over a soak of the loop (`make bench-memory`)",
        "",
        f"The unattended loop of `make bench-loop` without pause from {CLIENTS} clients for "
        f"{SOAK_S} s ({closed} cases closed), on `make run`'s processes; resident memory of "
        f"each role every {SAMPLE_S} s (a pool is its main process and its children). First "
        f"against last {minute:.0f} s, and the second half alone (the {minute:.0f} s around "
        f"the middle against the last): what a process still adds once it is warm.",
        "",
        "| role | first (MB) | middle (MB) | last (MB) | growth | second half |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for role in roles:
        a, m, b = mean(first, role), mean(middle, role), mean(last, role)
        lines.append(
            f"| {role} | {a:.0f} | {m:.0f} | {b:.0f} | {(b - a) / a * 100:+.1f} % | "
            f"{(b - m) / m * 100:+.1f} % |"
        )
    series = " ".join(f"{s.get('web', 0.0):.0f}" for t, s in samples[:: max(1, 60 // SAMPLE_S)])
    lines += [
        "",
        f"web, once a minute (MB): {series}.",
        "",
        f"1-minute load average at the start: {load:.1f}.",
    ]
    write_section("memory", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
