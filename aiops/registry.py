"""The project's extension points: executor adapters and verifier metric sources, by name;
and the environment bounds check (what a plan may touch), registered by the Gatekeeper.

Each adapter or source declares itself once, next to its implementation, as an
`AdapterSpec` / `SourceSpec`; its app registers it when Django calls `AppConfig.ready()`
(the executor its adapters, the verifier its sources). Readers that must not import those
apps — the Planner builds the plan JSON Schema and its risk table from `adapter_specs()` —
read the declarations here. This module is pure: it imports no app and does no I/O.

A registry's `version` changes with every (un)registration, so a reader may cache what it
derives from the specs keyed by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# A params schema node marked with this keyword may also be a secret reference,
# {"secretRef": {...}} (docs/plan-dsl.md#secrets), which the Executor resolves at run time.
# Opt-in per node: a new adapter's target fields (urls, names, namespaces) stay plain strings
# the gate can judge unless the adapter says otherwise.
REF_OK = "x-aiops-secretRef"


def secret_ok(schema: Mapping | None = None) -> dict:
    """`schema` (default: any JSON value) marked as REF_OK. On a schema with a `type`, the
    value may be a reference instead; on one without, every string leaf of the value may be
    (a request body whose one field is a token). The Planner's plan schema expands it."""
    return {**(schema or {}), REF_OK: True}


@dataclass(frozen=True)
class ActionSpec:
    """One action of an adapter: the JSON Schema of a step's `params` for it, the points it
    adds to a plan's risk score (the riskiest step's action counts), and a line for docs."""

    params_schema: Mapping = field(default_factory=lambda: {"type": "object"})
    risk: int = 0
    description: str = ""


@dataclass(frozen=True)
class AdapterSpec:
    """An executor adapter: the name a plan step's `adapter` field uses, and its actions."""

    name: str
    actions: Mapping[str, ActionSpec]
    description: str = ""

    def __post_init__(self):
        # Frozen all the way down: a spec is shared by every reader of the registry.
        object.__setattr__(self, "actions", MappingProxyType(dict(self.actions)))


@dataclass(frozen=True)
class SourceSpec:
    """A verifier metric source and how a check selects it: `reads` lists the check fields it
    can answer ("metric", "promql"). A check's field picks the configured source
    (AIOPS_VERIFY_METRIC_SOURCE) when that source reads it, else the first registered one
    that does."""

    name: str
    reads: tuple[str, ...]
    description: str = ""


class Registry:
    """Specs (with an optional implementation object) by name, in registration order."""

    def __init__(self, kind: str):
        self.kind = kind
        self.version = 0
        self._entries: dict[str, tuple[object, object]] = {}

    def register(self, spec, implementation=None) -> None:
        """Add `spec` under `spec.name`. Registering the same spec again (a second
        `ready()`, an autoreload) is a no-op; a different spec under a taken name is a bug."""
        current = self._entries.get(spec.name)
        if current is not None and current != (spec, implementation):
            raise ValueError(f"{self.kind} '{spec.name}' is already registered")
        if current is None:
            self._entries[spec.name] = (spec, implementation)
            self.version += 1

    def unregister(self, name: str) -> None:
        if self._entries.pop(name, None) is not None:
            self.version += 1

    def specs(self) -> tuple:
        return tuple(spec for spec, _ in self._entries.values())

    def implementation(self, name: str):
        """The object registered with `name`'s spec; KeyError when `name` is unknown."""
        return self._entries[name][1]


adapters = Registry("adapter")
sources = Registry("metric source")


def register_adapter(spec: AdapterSpec, implementation=None) -> None:
    adapters.register(spec, implementation)


def unregister_adapter(name: str) -> None:
    adapters.unregister(name)


def adapter_specs() -> tuple[AdapterSpec, ...]:
    return adapters.specs()


def register_source(spec: SourceSpec, implementation=None) -> None:
    sources.register(spec, implementation)


def unregister_source(name: str) -> None:
    sources.unregister(name)


def source_specs() -> tuple[SourceSpec, ...]:
    return sources.specs()


# --- what a plan may touch ------------------------------------------------------------------
# The Gatekeeper owns the policy that bounds each environment's targets and registers the
# check at start-up (GateConfig.ready); the Planner, which must not import the gate, asks it
# here before it stores a plan.

TargetCheck = Callable[[str, Mapping], list[dict]]
_target_check: TargetCheck | None = None


def register_target_check(check: TargetCheck) -> None:
    global _target_check
    _target_check = check


def target_violations(environment: str, spec: Mapping) -> list[dict]:
    """`{path, message}` for every target of the plan `spec` that `environment` may not
    touch ([] if none). Fails closed: with no check registered, every plan is out of bounds."""
    if _target_check is None:
        return [
            {
                "path": "$.spec",
                "message": "no environment bounds are registered (is the Gatekeeper "
                "installed?): nothing may be touched",
            }
        ]
    return _target_check(environment, spec)
