"""`make demo`: the seed's closed loop over HTTP against a running `make run`, driving itself.

    create → start_analysis → (Analyst → PLANNING) → plan/generate → and then, with no
    further call: plan_ready → gate → EXECUTING → run → VERIFYING → verify → CLOSED/PARKED

Run 1 seeds healthy metrics and ends CLOSED; run 2 makes the metrics after the change breach
the SLO and ends PARKED with the failing check named. The plan is the `restart` template's,
proposed by hand with its steps run through the echo adapter (no Kubernetes cluster at
hand; a case created with `"template": "restart"` would need none of these calls).
Environment: AIOPS_URL (default http://127.0.0.1:$PORT or :8000), AIOPS_TOKEN (default: the
api token in $AIOPS_DATA_DIR/admin-credentials.txt, ./var).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

SERVICE = "checkout"
TERMINAL = ("CLOSED", "PARKED")


class DemoError(RuntimeError):
    pass


def settings_from_env() -> tuple[str, str]:
    url = os.environ.get("AIOPS_URL") or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"
    token = os.environ.get("AIOPS_TOKEN", "")
    if not token:
        data_dir = Path(os.environ.get("AIOPS_DATA_DIR", Path(__file__).parent.parent / "var"))
        credentials = data_dir / "admin-credentials.txt"
        if not credentials.exists():
            raise DemoError(f"Set AIOPS_TOKEN, or start `make run` once to create {credentials}.")
        for line in credentials.read_text().splitlines():
            if line.startswith("api token:"):
                token = line.split(":", 1)[1].strip()
    if not token:
        raise DemoError("No API token: set AIOPS_TOKEN.")
    return url.rstrip("/"), token


class Client:
    def __init__(self, url: str, token: str):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def call(self, method: str, path: str, body=None, expect=(200, 201, 202)) -> dict | list:
        response = self.session.request(
            method,
            self.url + path,
            json=body,
            headers={"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {},
            timeout=30,
        )
        if response.status_code not in expect:
            raise DemoError(f"{method} {path} → {response.status_code}: {response.text[:800]}")
        return response.json()

    def state(self, case_id: str) -> str:
        return self.call("GET", f"/case/{case_id}")["state"]

    def wait_state(self, case_id: str, states, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state(case_id)
            if state in states:
                return state
            time.sleep(0.5)
        raise DemoError(f"case {case_id} did not reach {states} in {timeout:.0f}s")


def say(step: str, detail: str = "") -> None:
    print(f"  {step:<34} {detail}", flush=True)


def seed_metrics(client: Client, *, p95_ms: float, error_rate: float, minutes: int = 11):
    now = datetime.now(UTC)
    points = [
        {
            "service": SERVICE,
            "metric": metric,
            "ts": (now - timedelta(minutes=m)).isoformat(),
            "value": value,
        }
        for m in range(minutes)
        for metric, value in (("http_p95_ms", p95_ms), ("http_error_rate", error_rate))
    ]
    stored = client.call("POST", "/ingest/metrics", points)["stored"]
    say("POST /ingest/metrics", f"{stored} points: p95 {p95_ms} ms, error rate {error_rate}")


def echo_rendition(document: dict) -> dict:
    """The template's plan with each step run by the echo adapter (no cluster in the demo)."""

    def echo(step: dict) -> dict:
        message = f"{step['adapter']}.{step['action']} {step.get('params', {})}"
        return {**step, "adapter": "echo", "action": "echo", "params": {"message": message}}

    spec = document["spec"]
    plan = {
        "apiVersion": document["apiVersion"],
        "kind": document["kind"],
        "metadata": {"name": document["metadata"]["name"] + "-echo", "template": "restart"},
        "spec": {
            **spec,
            "steps": [echo(s) for s in spec["steps"]],
            "rollback": [echo(s) for s in spec["rollback"]],
        },
    }
    return plan


def restart_plan(verify_delay_s: int) -> dict:
    """The restart template's plan for the demo service, its steps through the echo adapter."""
    from apps.planner.templates import build_change_plan

    params = {"verify_delay_s": verify_delay_s, "verify_window_s": 300, "p95_ms": 300}
    target = {"environment": "staging", "service": SERVICE}
    return echo_rendition(build_change_plan("restart", target, params, now=datetime.now(UTC)))


def run_loop(client: Client, *, title: str, verify_delay_s: int, after_change=None) -> dict:
    case = client.call(
        "POST",
        "/case/create",
        {"title": title, "service": SERVICE, "environment": "staging", "severity": "sev3"},
    )
    case_id = case["id"]
    say("POST /case/create", f"{case_id} → {case['state']}")
    moved = client.call("PATCH", f"/case/{case_id}/transition", {"event": "start_analysis"})
    say("PATCH transition start_analysis", f"→ {moved['state']}")
    say("  (Analyst → Orchestrator)", f"→ {client.wait_state(case_id, ('PLANNING',))}")
    plan = client.call(
        "POST", "/plan/generate", {"case_id": case_id, "plan": restart_plan(verify_delay_s)}
    )
    say("POST /plan/generate (restart, echo)", f"r{plan['revision']} risk {plan['risk_score']}")
    # Echo steps take milliseconds: the case is usually VERIFYING (waiting out delay_s) here.
    moving = client.wait_state(case_id, ("EXECUTING", "VERIFYING", *TERMINAL))
    say("  (the loop drives itself)", f"→ {moving}")
    if after_change:
        after_change()
    say("  (executor → verifier)", f"verify after {verify_delay_s}s …")
    final = client.wait_state(case_id, TERMINAL, timeout=verify_delay_s + 180)
    # Paginated, oldest first: one page of the largest size holds a demo case's timeline.
    timeline = client.call("GET", f"/case/{case_id}/timeline?limit=500")["results"]
    transitions = [t for t in timeline if t["from_state"] != t["to_state"]]
    last = transitions[-1]
    say("final state", f"{final} ({last['event']})")
    for checkpoint in client.call("GET", f"/verify/{case_id}/checkpoints")["results"]:
        say(
            f"  checkpoint {checkpoint['check_name']}",
            f"{checkpoint['result']}: {checkpoint['sentence']}",
        )
    if final == "PARKED":
        say("  reason", last["reason"])
    print(
        "  transitions: " + " → ".join(f"{t['event']} ({t['actor']})" for t in transitions),
        flush=True,
    )
    return {"case_id": case_id, "state": final}


def main() -> int:
    try:
        url, token = settings_from_env()
        client = Client(url, token)
        print(f"aiops demo against {url}\n\nRun 1: healthy metrics after the change", flush=True)
        seed_metrics(client, p95_ms=180, error_rate=0.01)
        first = run_loop(client, title="checkout p95 up (demo, healthy)", verify_delay_s=0)
        print("\nRun 2: the metrics after the change breach the SLO (p95 < 300 ms)", flush=True)
        second = run_loop(
            client,
            title="checkout p95 up (demo, breach)",
            verify_delay_s=5,
            after_change=lambda: seed_metrics(client, p95_ms=412, error_rate=0.01),
        )
    except (DemoError, requests.RequestException) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    ok = first["state"] == "CLOSED" and second["state"] == "PARKED"
    print(f"\n{'OK' if ok else 'UNEXPECTED'}: run 1 {first['state']}, run 2 {second['state']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
