"""Plan templates and the risk score: pure functions of their arguments (no DB, no clock) and
of the registered adapters' declared risk points (aiops.registry).

`build_change_plan(kind, target, params, now=..., recent_failures=...)` and
`build_incident_plan(finding, target, params, ...)` return an aiops/v1 Plan document whose
`metadata.risk` holds the score (0-100) and every factor that contributed to it. Templates
leave out what the plan's defaults fill in (step timeout_s, verify delay_s/window_s, a
check's no_data) unless params ask for a value, so the deployment's settings apply.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from aiops import registry

CHANGE_TEMPLATES = ("restart", "canary", "scale_out", "rollback")
TEMPLATES = (*CHANGE_TEMPLATES, "incident")

# Which change answers which kind of finding (Analyst kinds; unknown kinds get a restart).
INCIDENT_REMEDIES = {
    "error_rate": "rollback",
    "error_rate_spike": "rollback",
    "bad_deploy": "rollback",
    "latency": "scale_out",
    "latency_p95": "scale_out",
    "saturation": "scale_out",
    "cpu": "scale_out",
    "threshold": "scale_out",
    "zscore": "scale_out",
    "log_pattern": "restart",
    "new_log_pattern": "restart",
    "crashloop": "restart",
    "memory_leak": "restart",
}

ENVIRONMENT_POINTS = {"prod": 35, "production": 35, "staging": 10, "dev": 0, "test": 0}
UNKNOWN_ENVIRONMENT_POINTS = 20
UNKNOWN_ACTION_POINTS = 20  # an action no adapter declares (a plan the schema would refuse)
BUSINESS_HOURS = range(8, 18)  # in the time zone of the `now` passed in
OFF_HOURS_POINTS = 10
POINTS_PER_RECENT_FAILURE = 10
MAX_FAILURE_POINTS = 30
MAX_BLAST_POINTS = 25
# Evidence the plan's author controls. A deciding check that passes on missing data, beside
# checks that watch only series never ingested, lets a plan close its case on nothing: the
# two together (62) exceed the shipped policy's highest auto_approve_max (dev, 60), so a
# person looks; no_data: pass alone in prod (35 + 42) stays under its reject_min (80).
NO_DATA_PASS_POINTS = 42
UNOBSERVED_EVIDENCE_POINTS = 20


class TemplateError(ValueError):
    """Unknown template or unusable parameters (the API answers 400 with the message)."""


# --- risk -----------------------------------------------------------------------------------


def assess_risk(
    spec: dict,
    *,
    now: datetime,
    recent_failures: int = 0,
    unobserved_metrics: Collection[str] = (),
) -> tuple[int, list[dict]]:
    """Score a plan's spec 0-100; returns (score, factors) where each factor carries its points.

    Factors: environment, action kind (the riskiest step), blast radius (replicas touched or
    traffic percentage), time of day (outside business hours / weekend), recent failed
    changes of the service (cases parked after exec/verify failure, counted by the caller),
    deciding checks (not dry_run) that pass on missing data (`no_data: pass`), and
    unobserved evidence: every deciding check reads a `metric` in `unobserved_metrics` (the
    caller's finding: no sample of it for the target service was ever stored), so the
    verdict would rest on no data. A `promql` check is evidence the caller cannot look up:
    with one among the deciding checks the factor scores nothing.
    """
    environment = spec.get("target", {}).get("environment", "")
    factors = [
        _factor(
            "environment",
            environment,
            ENVIRONMENT_POINTS.get(environment.lower(), UNKNOWN_ENVIRONMENT_POINTS),
        )
    ]
    steps = spec.get("steps", [])
    table = risk_table()
    riskiest = max(
        ((_action_points(s, table), f"{s.get('adapter')}.{s.get('action')}") for s in steps),
        default=(0, "none"),
    )
    factors.append(_factor("action", riskiest[1], riskiest[0]))
    replicas, percentage = _blast_radius(steps)
    blast = min(MAX_BLAST_POINTS, max(2 * replicas, percentage // 4))
    factors.append(_factor("blast_radius", {"replicas": replicas, "percentage": percentage}, blast))
    if now.weekday() >= 5:
        moment = "weekend"
    else:
        moment = "business hours" if now.hour in BUSINESS_HOURS else "off hours"
    factors.append(
        _factor("time_of_day", moment, 0 if moment == "business hours" else OFF_HOURS_POINTS)
    )
    failures = max(0, int(recent_failures))
    factors.append(
        _factor(
            "recent_failures",
            failures,
            min(MAX_FAILURE_POINTS, POINTS_PER_RECENT_FAILURE * failures),
        )
    )
    factors.extend(_evidence_factors(spec, unobserved_metrics))
    score = max(0, min(100, sum(f["points"] for f in factors)))
    return score, factors


def _evidence_factors(spec: dict, unobserved_metrics: Collection[str]) -> list[dict]:
    checks = (spec.get("verify") or {}).get("checks") or []
    deciding = [c for c in checks if not c.get("dry_run")]
    passing_blind = [c.get("name", "") for c in deciding if c.get("no_data") == "pass"]
    unobserved = [
        c.get("name", "")
        for c in deciding
        if not c.get("promql") and c.get("metric") in unobserved_metrics
    ]
    blind = bool(deciding) and len(unobserved) == len(deciding)
    return [
        _factor("no_data_pass", passing_blind, NO_DATA_PASS_POINTS if passing_blind else 0),
        _factor("unobserved_evidence", unobserved, UNOBSERVED_EVIDENCE_POINTS if blind else 0),
    ]


def _factor(name: str, value, points: int) -> dict:
    return {"name": name, "value": value, "points": int(points)}


def risk_table() -> dict[tuple[str, str], int]:
    """Points per (adapter, action), as each registered adapter declares them."""
    return {
        (adapter.name, action): spec.risk
        for adapter in registry.adapter_specs()
        for action, spec in adapter.actions.items()
    }


def _action_points(step: dict, table: dict[tuple[str, str], int]) -> int:
    key = (step.get("adapter", ""), step.get("action", ""))
    return table.get(key, UNKNOWN_ACTION_POINTS)


def _blast_radius(steps: list[dict]) -> tuple[int, int]:
    replicas = percentage = 0
    for step in steps:
        params = step.get("params") or {}
        for key in ("replicas", "affected_replicas"):
            if isinstance(params.get(key), int | float):
                replicas = max(replicas, int(params[key]))
        for key in ("percentage", "weight"):
            if isinstance(params.get(key), int | float):
                percentage = max(percentage, int(params[key]))
    return replicas, percentage


# --- templates ------------------------------------------------------------------------------


def build_change_plan(
    kind: str,
    target: dict,
    params: dict | None = None,
    *,
    now: datetime,
    recent_failures: int = 0,
    last_change: dict | None = None,
) -> dict:
    """A change plan from a template: restart | canary | scale_out | rollback.

    `target` has environment and service (namespace, kind, name optional); `last_change` is
    the service's latest approved plan document (used by the rollback template).
    """
    params = dict(params or {})
    builders = {
        "restart": _restart,
        "canary": _canary,
        "scale_out": _scale_out,
        "rollback": _rollback,
    }
    if kind not in builders:
        raise TemplateError(f"unknown template '{kind}'; known: {', '.join(TEMPLATES)}")
    target = _target(target, params)
    steps, rollback, notes = builders[kind](target, params, last_change)
    return _plan(kind, target, params, steps, rollback, notes, now, recent_failures)


def build_incident_plan(
    finding: dict,
    target: dict,
    params: dict | None = None,
    *,
    now: datetime,
    recent_failures: int = 0,
    last_change: dict | None = None,
) -> dict:
    """A plan answering an Analyst finding: its `remedy` (a rule's, or an alert's `remedy`
    label) picks the change, else its `kind` does (INCIDENT_REMEDIES)."""
    if not isinstance(finding, dict) or not isinstance(finding.get("kind"), str):
        raise TemplateError("the incident template needs params.finding with a 'kind'")
    remedy = finding.get("remedy")
    if remedy not in CHANGE_TEMPLATES:
        remedy = INCIDENT_REMEDIES.get(finding["kind"], "restart")
    if remedy == "rollback" and last_change is None:
        remedy = "restart"  # nothing to roll back to: a restart is the least risky answer
    plan = build_change_plan(
        remedy,
        target,
        params,
        now=now,
        recent_failures=recent_failures,
        last_change=last_change,
    )
    plan["metadata"]["template"] = "incident"
    plan["metadata"]["name"] = f"incident-{finding['kind']}-{plan['spec']['target']['service']}"
    plan["metadata"]["incident"] = {"finding": finding, "remedy": remedy}
    return plan


def _target(target: dict, params: dict) -> dict:
    for key in ("environment", "service"):
        if not str(target.get(key) or "").strip():
            raise TemplateError(f"the target needs a {key}")
    service = target["service"]
    result = {
        "environment": target["environment"],
        "service": service,
        # No namespace given: the one named after the environment, which the shipped gate
        # policy lets that environment touch (Kubernetes' "default" is nobody's in particular).
        "namespace": str(
            params.get("namespace") or target.get("namespace") or target["environment"]
        ),
        "kind": str(params.get("kind") or target.get("kind") or "Deployment"),
        "name": str(params.get("name") or target.get("name") or service),
    }
    return result


def _step(step_id, adapter, action, params, timeout_s=None, retries=0, backoff_s=0) -> dict:
    step = {
        "id": step_id,
        "adapter": adapter,
        "action": action,
        "params": params,
        "retries": retries,
        "backoff_s": backoff_s,
    }
    if timeout_s is not None:  # else the setting's default (AIOPS_STEP_TIMEOUT_S)
        step["timeout_s"] = timeout_s
    return step


def _k8s(target: dict, name: str | None = None, **extra) -> dict:
    return {
        "namespace": target["namespace"],
        "kind": target["kind"],
        "name": name or target["name"],
        **extra,
    }


def _int_param(params: dict, key: str, default: int, low: int, high: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TemplateError(f"params.{key} must be an integer from {low} to {high}")
    return value


def _str_param(params: dict, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"params.{key} is required (a non-empty string)")
    return value


def _restart(target, params, last_change):
    replicas = _int_param(params, "replicas", 3, 1, 1000)
    wait = _step("wait", "kubernetes", "rollout_status", _k8s(target), timeout_s=600)
    steps = [
        _step(
            "restart",
            "kubernetes",
            "rollout_restart",
            _k8s(target, affected_replicas=replicas),
            retries=1,
            backoff_s=5,
        ),
        wait,
    ]
    rollback = [
        _step("undo", "kubernetes", "rollout_undo", _k8s(target)),
        {**wait, "id": "wait-undo"},
    ]
    return steps, rollback, f"rolling restart of {replicas} replica(s)"


def _canary(target, params, last_change):
    image = _str_param(params, "image")
    previous = params.get("previous_image")
    percentage = _int_param(params, "percentage", 10, 1, 100)
    canary = str(params.get("canary_name") or f"{target['name']}-canary")
    steps = [
        _step("canary-set-image", "kubernetes", "set_image", _k8s(target, canary, image=image)),
        _step("canary-ready", "kubernetes", "rollout_status", _k8s(target, canary), timeout_s=600),
    ]
    rollback = [_step("canary-undo", "kubernetes", "rollout_undo", _k8s(target, canary))]
    gateway = params.get("gateway_url")
    if gateway:
        shift = {"method": "POST", "url": gateway, "json": {"service": target["service"]}}
        steps.append(
            _step(
                "shift-traffic",
                "http",
                "request",
                {**shift, "json": {**shift["json"], "canary_weight": percentage}},
                retries=2,
                backoff_s=2,
            )
        )
        rollback.insert(
            0,
            _step(
                "unshift-traffic",
                "http",
                "request",
                {**shift, "json": {**shift["json"], "canary_weight": 0}},
                retries=2,
                backoff_s=2,
            ),
        )
    steps[0]["params"]["percentage"] = percentage
    steps += [
        _step("promote", "kubernetes", "set_image", _k8s(target, image=image)),
        _step("promote-ready", "kubernetes", "rollout_status", _k8s(target), timeout_s=600),
    ]
    undo_main = _k8s(target, image=previous) if previous else _k8s(target)
    rollback.append(
        _step("undo", "kubernetes", "set_image" if previous else "rollout_undo", undo_main)
    )
    return steps, rollback, f"canary {canary} at {percentage}% with {image}, then promote"


def _scale_out(target, params, last_change):
    current = _int_param(params, "from_replicas", 2, 0, 1000)
    wanted = _int_param(params, "replicas", current + 2, 1, 1000)
    if wanted <= current:
        raise TemplateError("params.replicas must be more than params.from_replicas")
    steps = [
        _step(
            "scale", "kubernetes", "scale", _k8s(target, replicas=wanted), retries=1, backoff_s=5
        ),
        _step("wait", "kubernetes", "rollout_status", _k8s(target), timeout_s=600),
    ]
    rollback = [_step("scale-back", "kubernetes", "scale", _k8s(target, replicas=current))]
    # Blast radius of a scale-out is the replicas added, not the total.
    steps[0]["params"]["affected_replicas"] = wanted - current
    return steps, rollback, f"scale out from {current} to {wanted} replicas"


def _rollback(target, params, last_change):
    if last_change:
        spec = last_change.get("spec", {})
        steps = [_renamed(s, "revert-") for s in spec.get("rollback", [])]
        again = [_renamed(s, "reapply-") for s in spec.get("steps", [])]
        name = last_change.get("metadata", {}).get("name", "") or "the last change"
        if steps and again:
            return steps, again, f"roll back {name}"
    undo_params = _k8s(target)
    if "to_revision" in params:
        undo_params["to_revision"] = _int_param(params, "to_revision", 0, 0, 100000)
    steps = [
        _step("undo", "kubernetes", "rollout_undo", undo_params),
        _step("wait", "kubernetes", "rollout_status", _k8s(target), timeout_s=600),
    ]
    # Undoing an undo brings the newer revision back.
    rollback = [_step("redo", "kubernetes", "rollout_undo", _k8s(target))]
    return steps, rollback, "undo the last rollout"


def _renamed(step: dict, prefix: str) -> dict:
    return {**step, "id": (prefix + step["id"])[:63]}


def _verify(params: dict) -> dict:
    p95 = params.get("p95_ms", 300)
    error_rate = params.get("error_rate_max", 0.05)
    for key, value in (("p95_ms", p95), ("error_rate_max", error_rate)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise TemplateError(f"params.{key} must be a non-negative number")
    # Left out unless asked for: the plan's defaults (AIOPS_VERIFY_DELAY_S/_WINDOW_S) apply.
    verify = {}
    if "verify_delay_s" in params:
        verify["delay_s"] = _int_param(params, "verify_delay_s", 0, 0, 86400)
    if "verify_window_s" in params:
        verify["window_s"] = _int_param(params, "verify_window_s", 0, 60, 86400)
    return {
        **verify,
        "checks": [
            {
                "name": "p95-latency",
                "metric": "http_p95_ms",
                "aggregate": "p95",
                "operator": "<",
                "threshold": p95,
                "for_minutes": 3,
            },
            {
                "name": "error-rate",
                "metric": "http_error_rate",
                "aggregate": "avg",
                "operator": "<",
                "threshold": error_rate,
                "for_minutes": 3,
            },
        ],
    }


def _plan(kind, target, params, steps, rollback, notes, now, recent_failures) -> dict:
    spec = {"target": target, "steps": steps, "rollback": rollback, "verify": _verify(params)}
    score, factors = assess_risk(spec, now=now, recent_failures=recent_failures)
    return {
        "apiVersion": "aiops/v1",
        "kind": "Plan",
        "metadata": {
            "name": f"{kind}-{target['service']}",
            "template": kind,
            "description": notes,
            "risk": {"score": score, "factors": factors},
        },
        "spec": spec,
    }
