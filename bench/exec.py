"""`make bench-exec`: the executor's cost per step against a bare Celery hop, same run.

On the processes `make run` starts (bench.platform: gunicorn, the control and execution
pools, beat, INFO logs), over the HTTP API: a case in staging (autopilot low_risk) is
created, analysed and given a hand-written plan of STEPS echo steps (no sleep); the loop
approves and runs it by itself. The run's own record, read over GET /adapter/runs, gives the
time from its first step queued to its last step finished; / STEPS is one step: claim,
heartbeat thread, adapter, log store, record + timeline + outbox event + the next step
claimed in the same transaction (AIOPS_EXEC_CHAIN_SECONDS; docs/executor.md).
The floor: a chain of STEPS bare Celery tasks on the same broker (bench.hop), each
publishing the next, run between the executor runs. Median of RUNS runs of each.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from bench import profile
from bench.client import Http, seed_healthy
from bench.hop import HopWorker
from bench.platform import ROOT, Platform
from bench.report import median, write_section

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
STEPS = int(os.environ.get("BENCH_STEPS", "50"))  # a plan holds at most 50 steps (plan.v1.json)
SERVICE = "bench-exec"
DATA_DIR = Path(os.environ.get("AIOPS_DATA_DIR", ROOT / "var" / "bench")) / "exec"


P95_CHECK = {
    "name": "p95-latency",
    "metric": "http_p95_ms",
    "aggregate": "p95",
    "operator": "<",
    "threshold": 300,
    "for_minutes": 3,
}


def echo(step_id: str, message) -> dict:
    return {
        "id": step_id,
        "adapter": "echo",
        "action": "echo",
        "params": {"message": message},
        "timeout_s": 30,
        "retries": 0,
        "backoff_s": 0,
    }


def plan(steps: int) -> dict:
    return {
        "apiVersion": "aiops/v1",
        "kind": "Plan",
        "metadata": {"name": "bench-exec", "template": ""},
        "spec": {
            "target": {"environment": "staging", "service": SERVICE},
            "steps": [echo(f"s{i}", i) for i in range(steps)],
            "rollback": [echo("undo", "undo")],
            "verify": {"delay_s": 0, "window_s": 300, "checks": [P95_CHECK]},
        },
    }


def executor_run(http: Http, steps: int) -> float:
    """Seconds from the run's first step queued to its last step finished."""
    case_id = http.send(
        "POST",
        "/case/create",
        {"title": "bench exec", "service": SERVICE, "environment": "staging"},
    )["id"]
    http.send("PATCH", f"/case/{case_id}/transition", {"event": "start_analysis"})
    http.wait_state(case_id, ("PLANNING",))
    for attempt in range(3):
        try:
            http.send("POST", "/plan/generate", {"case_id": case_id, "plan": plan(steps)})
            break
        except RuntimeError as exc:
            # A gunicorn worker's first plan loads the Librarian's embedding model; on a busy
            # machine that can outlast gunicorn's 30 s timeout (a 500). Said, then retried.
            if "→ 500" not in str(exc) or attempt == 2:
                raise
            print(f"plan/generate answered 500 (attempt {attempt + 1}); retrying", flush=True)
    deadline = time.monotonic() + 120 + steps
    while time.monotonic() < deadline:
        runs = http.get(f"/adapter/runs?case_id={case_id}")["results"]
        if runs and runs[0]["status"] != "running":
            break
        time.sleep(0.05)
    else:
        raise RuntimeError(f"the run of case {case_id} never finished")
    run = runs[0]
    if run["status"] != "succeeded":
        raise RuntimeError(f"run {run['id']} ended {run['status']}: {run['reason']}")
    forward = [s for s in run["steps"] if s["phase"] == "forward"]
    first = min(datetime.fromisoformat(s["queued_at"]) for s in forward)
    last = max(datetime.fromisoformat(s["finished_at"]) for s in forward)
    return (last - first).total_seconds()


def main() -> None:
    load = os.getloadavg()[0]
    # The Planner's Librarian lookups are off: this bench times the executor, and a web
    # worker's first plan would load the embedding model (bench-loop keeps them on).
    env = {"AIOPS_VERIFY_DELAY_S": "0", "AIOPS_PLANNER_REFERENCES": "0"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("AIOPS_THROTTLE_")})
    platform = Platform(DATA_DIR, **env).start()
    hops = None
    try:
        http = Http(platform.base, platform.token)
        seed_healthy(http, SERVICE)
        hops = HopWorker(platform.broker_url, DATA_DIR / "bench-hop.log").start()
        executor_run(http, 10)  # warm-up: imports, connections, caches
        executor, bare = [], []
        for number in range(1, RUNS + 1):  # interleaved: a busy moment hits both alike
            platform.wait_idle()
            executor.append(executor_run(http, STEPS))
            bare.append(hops.chain(STEPS))
            print(
                f"run {number}: executor {executor[-1] / STEPS * 1000:.2f} ms/step, "
                f"bare Celery {bare[-1] / STEPS * 1000:.2f} ms/hop",
                flush=True,
            )
        platform.wait_idle()
        pools = platform.pids()
        stacks = profile.sample(
            pools.get("worker-exec", [])[:1] + pools.get("worker-control", [])[:1],
            lambda: executor_run(http, STEPS),
            DATA_DIR / "profile",
        )
    finally:
        if hops is not None:
            hops.stop()
        platform.stop()

    per_step = median(executor) / STEPS * 1000
    per_hop = median(bare) / STEPS * 1000
    markdown = (
        "## Executor: cost per step against a bare Celery hop (`make bench-exec`)\n\n"
        "On the processes `make run` starts (gunicorn, the control and execution pools of "
        "two prefork processes each, the embedding worker, beat, INFO logs; embedded "
        "PostgreSQL and Redis; the "
        "Planner's Librarian lookups off), over "
        f"HTTP: a staging case with a hand-written plan of {STEPS} `echo` steps (no sleep), "
        "approved and run by the loop itself; timed from its first step queued to its last "
        "finished, as `GET /adapter/runs` reports them. Floor, in the same run: a chain of "
        f"{STEPS} bare Celery tasks on the same broker, each publishing the next, on a "
        f"worker with the same pool settings. Median of {RUNS} runs of each, interleaved.\n\n"
        "| measure | per step | whole run |\n|---|---:|---:|\n"
        f"| executor step (heartbeat, adapter, log, record + timeline + event + the next "
        f"step claimed) | {per_step:.2f} ms | {median(executor) * 1000:.0f} ms |\n"
        f"| bare Celery task hop (floor) | {per_hop:.2f} ms | {median(bare) * 1000:.0f} ms |\n"
        f"| **step / hop** | **{per_step / per_hop:.1f}x** (target ≤ 3x) | |\n"
        f"\nAll runs, executor ms/step: {', '.join(f'{t / STEPS * 1000:.2f}' for t in executor)}; "
        f"bare ms/hop: {', '.join(f'{t / STEPS * 1000:.2f}' for t in bare)}. "
        f"1-minute load average at the start: {load:.1f}.\n"
        f"\nProfile of one more run (py-spy on both worker pools):\n\n{profile.top(stacks)}"
    )
    write_section("exec", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
