"""Gate policy and its evaluation: pure functions of (plan facts, policy, now). No DB, no clock.

A policy document (config/gate-policy.yaml, versioned as GatePolicy rows):

    approval_ttl_minutes: 240
    environments:                      # the allow-list: an environment not named is rejected
      prod:
        auto_approve_max: 20           # risk <= this → approved
        reject_min: 80                 # risk >= this → rejected; in between → needs_human
        four_eyes: true                # a human approver must not be the plan's requester
        timezone: Europe/Berlin        # for change windows and freezes
        change_windows: [{days: [mon, tue], start: "09:00", end: "16:00"}]
        outside_window: reject         # reject | needs_human
        freezes: [{start: "2026-12-21T00:00", end: "2027-01-04T00:00", reason: "year end"}]
        autopilot: supervised          # manual | supervised | low_risk (see AUTOPILOT below)
        on_kill_switch: pause          # pause | rollback: what a run stopped by the switch does
        on_verify_fail: rollback       # rollback | pause: a failed verification runs the
                                       # plan's rollback steps, or waits for a person
        max_automated_runs: 1          # blast radius: automated runs in flight per service
        targets:                       # what its plans may touch (apps.gate.targets)
          actions: ["kubernetes.*", "echo.*"]
          kubernetes_namespaces: [prod]
    cedar: |                           # optional Cedar policies; a `forbid` that applies rejects
      forbid(principal, action, resource) when { context.risk > 60 };
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import cedarpy

from apps.gate import targets as bounds

APPROVED, REJECTED, NEEDS_HUMAN = "approved", "rejected", "needs_human"
# An approval the policy would give, held back because the service's automated runs in
# flight reached the environment's max_automated_runs: re-judged when one of them ends.
DEFERRED = "deferred"
DEFAULT_MAX_AUTOMATED_RUNS = 3
# How far the loop runs without a person (apps.cases.workflow names the same modes):
# manual — nothing moves on its own; people call each stage (risk rules approve as before);
# supervised — the loop runs by itself, but every plan waits for a human approval;
# low_risk — plans within the auto-approve maximum and change windows run unattended.
MANUAL, SUPERVISED, LOW_RISK = "manual", "supervised", "low_risk"
AUTOPILOT = (MANUAL, SUPERVISED, LOW_RISK)
PAUSE, ROLLBACK = "pause", "rollback"
DEFAULT_APPROVAL_TTL_MINUTES = 240
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ENVIRONMENT_KEYS = {
    "auto_approve_max",
    "reject_min",
    "four_eyes",
    "timezone",
    "change_windows",
    "outside_window",
    "freezes",
    "autopilot",
    "on_kill_switch",
    "on_verify_fail",
    "targets",
    "max_automated_runs",
}
# Cedar: user policies come first so their ids (policy0, policy1, …) follow the text's order;
# the trailing permit makes "no forbid applies" mean allow.
_PERMIT_ALL = "\npermit(principal, action, resource);\n"


@dataclass(frozen=True)
class PlanFacts:
    """What the gate knows about the plan it judges."""

    environment: str
    service: str
    risk: int
    template: str = ""
    actions: tuple[str, ...] = ()  # adapter.action of every step, rollback included
    namespaces: tuple[str, ...] = ()  # what the steps touch (apps.gate.targets.plan_targets)
    hosts: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    requester: str = ""
    kill_switch: bool = False  # engaged: nothing is approved without a person
    automated_in_flight: int = 0  # this service's runs approved by the policy, not yet done


@dataclass(frozen=True)
class Decision:
    decision: str
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    version: int
    environments: dict
    cedar: str = ""
    approval_ttl_minutes: int = DEFAULT_APPROVAL_TTL_MINUTES

    @classmethod
    def from_document(cls, version: int, document: dict, cedar: str = "") -> Policy:
        return cls(
            version=version,
            environments=document.get("environments") or {},
            cedar=cedar or document.get("cedar") or "",
            approval_ttl_minutes=int(
                document.get("approval_ttl_minutes", DEFAULT_APPROVAL_TTL_MINUTES)
            ),
        )

    def four_eyes(self, environment: str) -> bool:
        # An environment the policy does not know gets the stricter rule.
        return bool((self.environments.get(environment) or {}).get("four_eyes", True))

    def autopilot(self, environment: str) -> str:
        # Unset: the loop runs but a person approves every plan. Unknown environment: manual.
        rules = self.environments.get(environment)
        if rules is None:
            return MANUAL
        return rules.get("autopilot", SUPERVISED)

    def on_kill_switch(self, environment: str) -> str:
        return (self.environments.get(environment) or {}).get("on_kill_switch", PAUSE)

    def on_verify_fail(self, environment: str) -> str:
        return (self.environments.get(environment) or {}).get("on_verify_fail", ROLLBACK)

    def targets(self, environment: str) -> dict | None:
        """What plans in `environment` may touch; None: the default, echo only."""
        return (self.environments.get(environment) or {}).get("targets")


def evaluate(facts: PlanFacts, policy: Policy, now: datetime) -> Decision:
    """Judge a plan: any rejecting rule rejects; else any doubt needs a human; else approve."""
    rules = policy.environments.get(facts.environment)
    if rules is None:
        allowed = ", ".join(sorted(policy.environments)) or "none"
        return Decision(
            REJECTED,
            [f"environment '{facts.environment}' is not allowed (allowed: {allowed})"],
        )
    rejects: list[str] = []
    doubts: list[str] = []
    local = now.astimezone(ZoneInfo(rules.get("timezone", "UTC")))
    freeze = _active_freeze(rules.get("freezes") or [], local)
    if freeze is not None:
        rejects.append(
            f"{facts.environment} is in a change freeze until {freeze['end']}"
            + (f" ({freeze['reason']})" if freeze.get("reason") else "")
        )
    windows = rules.get("change_windows") or []
    if windows and not any(_in_window(w, local) for w in windows):
        reason = (
            f"{local:%a %H:%M} {local.tzname()} is outside the change windows of "
            f"{facts.environment} ({'; '.join(_describe(w) for w in windows)})"
        )
        (doubts if rules.get("outside_window") == NEEDS_HUMAN else rejects).append(reason)
    # The policy may have narrowed since the Planner checked the plan's targets.
    touched = bounds.Targets(facts.actions, facts.namespaces, facts.hosts, facts.scripts)
    rejects += bounds.disallowed(touched, rules.get("targets"), facts.environment)
    auto_max, reject_min = rules.get("auto_approve_max", 0), rules.get("reject_min", 100)
    if facts.risk >= reject_min:
        rejects.append(f"risk {facts.risk} ≥ reject threshold {reject_min} for {facts.environment}")
    elif facts.risk > auto_max:
        doubts.append(
            f"risk {facts.risk} is above the auto-approve maximum {auto_max} "
            f"for {facts.environment}: a human must approve"
        )
    if policy.cedar.strip():
        forbidding, errors = _cedar(facts, policy.cedar, local)
        rejects += [f"Cedar policy {pid} forbids this change" for pid in forbidding]
        if errors:
            doubts.append("Cedar policies could not be evaluated: " + "; ".join(errors))
    if rejects:
        return Decision(REJECTED, rejects)
    if facts.kill_switch:
        doubts.append("the kill switch is engaged: nothing runs without a person")
    if rules.get("autopilot", SUPERVISED) == SUPERVISED:
        doubts.append(f"autopilot for {facts.environment} is supervised: a human approves")
    if doubts:
        return Decision(NEEDS_HUMAN, doubts)
    cap = rules.get("max_automated_runs", DEFAULT_MAX_AUTOMATED_RUNS)
    if facts.automated_in_flight >= cap:
        return Decision(
            DEFERRED,
            [
                f"blast radius: {facts.automated_in_flight} automated run(s) of {facts.service} "
                f"in {facts.environment} in flight (max_automated_runs {cap}); waiting for one "
                "to finish"
            ],
        )
    return Decision(
        APPROVED,
        [f"risk {facts.risk} ≤ auto-approve maximum {auto_max} for {facts.environment}"],
    )


def _active_freeze(freezes: list[dict], local: datetime) -> dict | None:
    for freeze in freezes:
        start, end = _local_datetime(freeze["start"], local), _local_datetime(freeze["end"], local)
        if start <= local < end:
            return freeze
    return None


def _local_datetime(value: str, local: datetime) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=local.tzinfo) if moment.tzinfo is None else moment


def _in_window(window: dict, local: datetime) -> bool:
    days = [d.lower()[:3] for d in window.get("days") or DAYS]
    start, end = time.fromisoformat(window["start"]), time.fromisoformat(window["end"])
    now_time = local.time().replace(tzinfo=None)
    today = DAYS[local.weekday()]
    if start <= end:
        return today in days and start <= now_time < end
    # Overnight window (22:00-02:00): its day is the day it starts.
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (today in days and now_time >= start) or (yesterday in days and now_time < end)


def _describe(window: dict) -> str:
    days = ",".join(window.get("days") or ["every day"])
    return f"{days} {window['start']}-{window['end']}"


def _cedar(facts: PlanFacts, policies: str, local: datetime) -> tuple[list[str], list[str]]:
    request = {
        "principal": {"type": "User", "id": facts.requester or "unknown"},
        "action": {"type": "Action", "id": "execute"},
        "resource": {"type": "Service", "id": facts.service},
        "context": {
            "environment": facts.environment,
            "service": facts.service,
            "risk": int(facts.risk),
            "template": facts.template,
            "actions": list(facts.actions),
            "namespaces": list(facts.namespaces),
            "hosts": list(facts.hosts),
            "scripts": list(facts.scripts),
            "hour": local.hour,
            "weekday": DAYS[local.weekday()],
        },
    }
    result = cedarpy.is_authorized(request, policies + _PERMIT_ALL, [])
    errors = [str(e) for e in result.diagnostics.errors]
    if result.allowed:
        return [], errors
    return list(result.diagnostics.reasons), errors


def validate_document(document, cedar: str = "") -> list[str]:
    """Problems with a policy document (for the seed command and the admin form); [] if fine."""
    if not isinstance(document, dict):
        return ["the policy must be a mapping"]
    problems = []
    ttl = document.get("approval_ttl_minutes", DEFAULT_APPROVAL_TTL_MINUTES)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
        problems.append("approval_ttl_minutes must be a positive integer")
    environments = document.get("environments")
    if not isinstance(environments, dict) or not environments:
        return [*problems, "environments must map at least one environment to its rules"]
    for name, rules in environments.items():
        problems += [f"environments.{name}: {p}" for p in _environment_problems(rules)]
    text = cedar or document.get("cedar") or ""
    if text.strip():
        result = cedarpy.is_authorized(
            {
                "principal": {"type": "User", "id": "x"},
                "action": {"type": "Action", "id": "execute"},
                "resource": {"type": "Service", "id": "x"},
                "context": {},
            },
            text + _PERMIT_ALL,
            [],
        )
        problems += [f"cedar: {e}" for e in result.diagnostics.errors if "parse" in str(e).lower()]
    return problems


def _environment_problems(rules) -> list[str]:
    if not isinstance(rules, dict):
        return ["rules must be a mapping"]
    problems = [f"unknown key '{k}'" for k in sorted(set(rules) - ENVIRONMENT_KEYS)]
    low, high = rules.get("auto_approve_max", 0), rules.get("reject_min", 100)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
        problems.append("auto_approve_max and reject_min must be integers")
    elif not 0 <= low < high <= 101:
        problems.append("need 0 ≤ auto_approve_max < reject_min ≤ 101")
    if rules.get("outside_window", REJECTED) not in (REJECTED, "reject", NEEDS_HUMAN):
        problems.append("outside_window must be reject or needs_human")
    cap = rules.get("max_automated_runs", DEFAULT_MAX_AUTOMATED_RUNS)
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
        problems.append("max_automated_runs must be an integer ≥ 0 (0: never run unattended)")
    if rules.get("autopilot", SUPERVISED) not in AUTOPILOT:
        problems.append("autopilot must be one of " + ", ".join(AUTOPILOT))
    if rules.get("on_kill_switch", PAUSE) not in (PAUSE, ROLLBACK):
        problems.append("on_kill_switch must be pause or rollback")
    if rules.get("on_verify_fail", ROLLBACK) not in (PAUSE, ROLLBACK):
        problems.append("on_verify_fail must be rollback or pause")
    if "targets" in rules:
        problems += bounds.problems(rules["targets"])
    try:
        zone = ZoneInfo(rules.get("timezone", "UTC"))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return [*problems, f"unknown time zone {rules.get('timezone')!r}"]
    now = datetime(2026, 1, 1, tzinfo=zone)
    for window in rules.get("change_windows") or []:
        try:
            _in_window(window, now)
            if any(d.lower()[:3] not in DAYS for d in window.get("days") or []):
                raise ValueError("unknown day")
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"bad change window {window!r}: {exc}")
    for freeze in rules.get("freezes") or []:
        try:
            _active_freeze([freeze], now)
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"bad freeze {freeze!r}: {exc}")
    return problems
