"""`make bench-loop`: the unattended loop, create → CLOSED, on `make run`'s processes.

bench.platform starts `manage.py runplatform` (gunicorn, the control and execution pools,
beat, INFO logs) with only a kubeconfig for a fake Kubernetes API server (the restart
template's steps need one; there is no cluster here), the default verification delay set
to 0 and the per-user rate caps raised. Each case is one `POST /case/create` with the
restart template in staging (autopilot low_risk) and no other call: the loop analyses,
plans, gates, runs the kubernetes steps (restart, rollout status) and verifies by itself.
The client polls `GET /case/{id}` every 100 ms until CLOSED; the latency runs from sending
the create to the close as the server recorded it (`updated_at`). CASES cases, CLIENTS at a time,
per run; median over RUNS runs.

The floor, measured in the same run: a chain of bare Celery hops on the same broker
(bench.hop), as long as the loop's chain of hand-offs (FLOOR_HOPS: eleven outbox events, each
a relay task that applies its deliveries itself, the two steps and the verification).

Afterwards the resident memory of every process `make run` started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.client import Http, KeepHealthy, parallel
from bench.hop import HopWorker
from bench.platform import ROOT, Platform, rss_mb
from bench.report import median, percentile, write_section
from tests.fakes.kube_api import FakeKubeAPI

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CASES = int(os.environ.get("BENCH_CASES", "100"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SERVICE = "bench-loop"
FLOOR_HOPS = 11 + 2 + 1
POLL_S = 0.1
DATA_DIR = Path(os.environ.get("AIOPS_DATA_DIR", ROOT / "var" / "bench")) / "loop"


def unattended_case(http: Http, timeout: float = 120) -> float:
    """One POST, then wait: seconds from sending it to the case's close, as the server
    recorded it (the CLOSED case's updated_at; client and server share the clock). The
    client looks every POLL_S: each look is a request the server pays for, and at 10 ms four
    clients' looks took a core of the two the loop runs on."""
    from datetime import datetime

    sent = time.time()
    case_id = http.send(
        "POST",
        "/case/create",
        {
            "title": "bench unattended",
            "service": SERVICE,
            "environment": "staging",
            "template": "restart",
            "params": {"verify_delay_s": 0, "p95_ms": 300},
        },
    )["id"]
    case = http.wait_case(case_id, ("CLOSED", "PARKED"), timeout, poll_s=POLL_S)
    if case["state"] != "CLOSED":
        raise RuntimeError(f"case {case_id} parked; see its timeline")
    return datetime.fromisoformat(case["updated_at"]).timestamp() - sent


def loop_run(platform: Platform, cases: int, clients: int, timeout: float = 120) -> dict:
    local_sessions: dict[int, Http] = {}

    def work():
        import threading

        key = threading.get_ident()
        if key not in local_sessions:
            local_sessions[key] = Http(platform.base, platform.token)
        return unattended_case(local_sessions[key], timeout)

    wall, totals = parallel(work, cases, clients)
    return {
        "p50": percentile(totals, 50),
        "p99": percentile(totals, 99),
        "per_s": cases / wall,
    }


def start(data_dir: Path) -> tuple[Platform, FakeKubeAPI]:
    """The platform with a fake Kubernetes API holding the bench's Deployment."""
    kube = FakeKubeAPI().start()
    kube.add_deployment("staging", SERVICE, f"shop/{SERVICE}:1.0", replicas=2)
    data_dir.mkdir(parents=True, exist_ok=True)
    kubeconfig = kube.write_kubeconfig(data_dir / "bench-kubeconfig")
    env = {
        "KUBECONFIG": str(kubeconfig),
        "AIOPS_EXEC_K8S_NAMESPACES": "staging",
        "AIOPS_VERIFY_DELAY_S": "0",
    }
    env.update({k: v for k, v in os.environ.items() if k.startswith("AIOPS_THROTTLE_")})
    return Platform(data_dir, **env).start(), kube


def memory(platform: Platform) -> dict[str, float]:
    """Resident MB per role (a pool's main process and its children summed)."""
    return {
        role: sum(rss_mb(pid) for pid in pids)
        for role, pids in sorted(platform.pids().items())
        if role != "other"
    }


def measure(platform: Platform, hops: HopWorker) -> tuple[dict, list[dict], list[float]]:
    # Warm-up: imports, connections, the policy, and the embedding model the Planner's
    # knowledge lookup loads into each control process on its first plan (a minute or more
    # on a busy machine).
    loop_run(platform, 4, 1, timeout=900)
    platform.wait_idle()
    one_at_a_time = loop_run(platform, 10, 1)
    runs, floors = [], []
    for number in range(1, RUNS + 1):
        platform.wait_idle()
        runs.append(loop_run(platform, CASES, CLIENTS))
        floors.append(hops.chain(FLOOR_HOPS))
        print(
            f"run {number}: p50 {runs[-1]['p50'] * 1000:.0f} ms, "
            f"p99 {runs[-1]['p99'] * 1000:.0f} ms, floor {floors[-1] * 1000:.0f} ms",
            flush=True,
        )
    return one_at_a_time, runs, floors


def main() -> None:
    load = os.getloadavg()[0]
    platform, kube = start(DATA_DIR)
    hops = None
    try:
        hops = HopWorker(platform.broker_url, DATA_DIR / "bench-hop.log").start()
        with KeepHealthy(platform.base, platform.token, SERVICE):
            one_at_a_time, runs, floors = measure(platform, hops)
        rss = memory(platform)
    finally:
        if hops is not None:
            hops.stop()
        platform.stop()
        kube.stop()

    p50 = median([r["p50"] for r in runs]) * 1000
    p99 = median([r["p99"] for r in runs]) * 1000
    floor = median(floors) * 1000
    lines = [
        "## Unattended loop, create → CLOSED (`make bench-loop`)",
        "",
        "On the processes `make run` starts (gunicorn with 4 workers, the control and "
        "execution pools of 2 prefork processes each, the embedding worker, beat, INFO "
        "logs), over HTTP. One "
        "`POST /case/create` with the restart template in staging (autopilot low_risk), then "
        "no call: the loop analyses, plans, gates (auto-approve), runs the two kubernetes "
        "steps against a fake API server (a rollout takes four reads) and verifies (delay 0, "
        "p95 and error-rate checks over metric_1m). Latency from sending the create to the "
        "case's close as the server recorded it (`updated_at` of the CLOSED case in "
        f"`GET /case/{{id}}`, polled every {POLL_S * 1000:.0f} ms: at 10 ms four clients' "
        f"polls took a core of the two). {CASES} cases per run, "
        f"{CLIENTS} at a time; median of {RUNS} runs. Floor, in the same run: a chain of "
        f"{FLOOR_HOPS} bare Celery hops on the same broker (the loop's hand-offs: eleven "
        "outbox events, each a relay task that applies its deliveries itself, two steps, one "
        "verification).",
        "",
        "| measure | p50 | p99 | / floor (p50) | cases closed/s |",
        "|---|---:|---:|---:|---:|",
        f"| unattended loop, {CLIENTS} at a time | {p50:.0f} ms | {p99:.0f} ms "
        f"| {p50 / floor:.1f}x | {median([r['per_s'] for r in runs]):.1f} |",
        f"| unattended loop, one at a time (10 cases) | {one_at_a_time['p50'] * 1000:.0f} ms "
        f"| {one_at_a_time['p99'] * 1000:.0f} ms | {one_at_a_time['p50'] * 1000 / floor:.1f}x "
        f"| {one_at_a_time['per_s']:.1f} |",
        f"| floor: {FLOOR_HOPS} bare Celery hops | {floor:.0f} ms | | 1x | |",
        "",
        "Targets (issue 14): p50 < 300 ms, p99 < 1 s at 4 at a time.",
        "",
        "Resident memory after the runs (MB; a pool is its main process and its children):",
        "",
        "| " + " | ".join(rss) + " |",
        "|" + "---:|" * len(rss),
        "| " + " | ".join(f"{mb:.0f}" for mb in rss.values()) + " |",
        "",
        "All runs p50/p99 (ms): "
        + "; ".join(f"{r['p50'] * 1000:.0f}/{r['p99'] * 1000:.0f}" for r in runs)
        + f". 1-minute load average at the start: {load:.1f}.",
    ]
    write_section("loop", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
