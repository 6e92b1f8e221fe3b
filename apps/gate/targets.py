"""What a plan touches, and whether its environment may touch it. Pure: no DB, no I/O.

The gate policy names, per environment, what its plans may reach (config/gate-policy.yaml):

    targets:
      actions: ["echo.*", "kubernetes.rollout_*"]       # adapter.action
      kubernetes_namespaces: [staging]
      http_hosts: ["gw.staging.internal", "127.0.0.1:*"]  # host, or host:port
      scripts: [flush_cache.sh]                           # names in AIOPS_SCRIPT_DIR

Every entry is a shell-style pattern (fnmatch, case-sensitive). A step may run when its
`adapter.action` matches `actions` and what it names matches its kind's list: a kubernetes
step's namespace (`params.namespace`, else `spec.target.namespace`, as the adapter reads
it), an http step's url host (an entry without a port allows every port, as the adapter's
AIOPS_EXEC_HTTP_ALLOWED_HOSTS does), a script step's name. A list left out allows nothing of
its kind. An environment without `targets` (or one the policy does not name) may run echo
steps only: they touch nothing, and a new environment must not reach anything until someone
says what it may reach.

The Planner (through aiops.registry), the gate and the Executor all judge by these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

DEFAULT_TARGETS = {"actions": ["echo.*"]}
# kind of thing touched → the policy list that allows it, and how a message names it
KINDS = {
    "action": "actions",
    "namespace": "kubernetes_namespaces",
    "host": "http_hosts",
    "script": "scripts",
}
TARGET_KEYS = tuple(KINDS.values())


@dataclass(frozen=True)
class Touch:
    """One thing one step touches: its kind, its value, and where the plan names it."""

    kind: str
    value: str
    path: str
    source: str = ""  # where the value came from when not at `path` (inherited)


@dataclass(frozen=True)
class Targets:
    """Everything a plan touches (the gate's facts), each sorted and without repeats."""

    actions: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()


def step_touches(step: dict, target: dict, path: str) -> list[Touch]:
    """What the step at JSON path `path` touches; `target` is the plan's spec.target."""
    adapter, action = str(step.get("adapter", "")), str(step.get("action", ""))
    params = step.get("params") or {}
    touches = [Touch("action", f"{adapter}.{action}", f"{path}.action")]
    if adapter == "kubernetes":
        if params.get("namespace"):
            touches.append(Touch("namespace", str(params["namespace"]), f"{path}.params.namespace"))
        else:
            namespace = str((target or {}).get("namespace") or "")
            touches.append(Touch("namespace", namespace, path, source="spec.target.namespace"))
    elif adapter == "http":
        touches.append(Touch("host", url_host(params.get("url")), f"{path}.params.url"))
    elif adapter == "script":
        touches.append(Touch("script", str(params.get("name") or ""), f"{path}.params.name"))
    return touches


def plan_touches(spec: dict) -> list[Touch]:
    """What every step of a plan touches, forward steps first, then rollback steps."""
    target = spec.get("target") or {}
    return [
        touch
        for phase in ("steps", "rollback")
        for index, step in enumerate(spec.get(phase) or [])
        for touch in step_touches(step, target, f"$.spec.{phase}[{index}]")
    ]


def plan_targets(spec: dict) -> Targets:
    touches = plan_touches(spec)

    def values(kind: str) -> tuple[str, ...]:
        return tuple(sorted({t.value for t in touches if t.kind == kind}))

    return Targets(values("action"), values("namespace"), values("host"), values("script"))


def violations(touches: list[Touch], allowance: dict | None, environment: str) -> list[dict]:
    """`{path, message}` for every touch the environment's `targets` do not allow, e.g.
    `$.spec.steps[1].params.namespace: namespace 'prod' is not allowed in dev`."""
    return [
        {
            "path": touch.path,
            "message": _message(touch.kind, touch.value, environment, touch.source),
        }
        for touch in touches
        if not allows(allowance, touch.kind, touch.value)
    ]


def disallowed(targets: Targets, allowance: dict | None, environment: str) -> list[str]:
    """Why a plan with these targets may not run in `environment` ([] if it may)."""
    pairs = [
        ("action", targets.actions),
        ("namespace", targets.namespaces),
        ("host", targets.hosts),
        ("script", targets.scripts),
    ]
    return [
        _message(kind, value, environment)
        for kind, values in pairs
        for value in values
        if not allows(allowance, kind, value)
    ]


def allows(allowance: dict | None, kind: str, value: str) -> bool:
    """Does an environment's `targets` (None: the default, echo only) allow this one thing?"""
    if not value:
        return False  # a step that names no namespace/host/script is refused, not guessed
    patterns = (DEFAULT_TARGETS if allowance is None else allowance).get(KINDS[kind]) or []
    candidates = {value}
    if kind == "host":  # "gw" allows gw on every port; "gw:8080" only that one
        candidates.add(_host_only(value))
    return any(fnmatchcase(c, str(p)) for c in candidates for p in patterns)


def url_host(url) -> str:
    """`host` or `host:port` of an http(s) url, lower-cased; "" when it has none."""
    try:
        parts = urlsplit(str(url or ""))
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if host and port else host


def problems(targets) -> list[str]:
    """What is wrong with an environment's `targets` (for the policy's validation)."""
    if not isinstance(targets, dict):
        return ["targets must be a mapping"]
    found = [f"unknown targets key '{k}'" for k in sorted(set(targets) - set(TARGET_KEYS))]
    for key in TARGET_KEYS:
        patterns = targets.get(key, [])
        if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
            found.append(f"targets.{key} must be a list of non-empty strings")
    return found


def _host_only(value: str) -> str:
    try:
        return urlsplit("//" + value).hostname or value
    except ValueError:
        return value


def _message(kind: str, value: str, environment: str, source: str = "") -> str:
    if not value:
        return f"names no {kind}: nothing may be touched unnamed in {environment}"
    origin = f" (from {source})" if source else ""
    return f"{kind} '{value}'{origin} is not allowed in {environment}"
