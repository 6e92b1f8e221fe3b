"""The aiops/v1 Plan DSL: parse (YAML or JSON), validate against the plan schema, normalize.

Pure functions, no database: the Planner's service and the tests call them directly. The
schema is schemas/plan.v1.json (the document's shape) completed by `plan_schema` with what
the registered adapters declare (aiops.registry): adapter names, their actions and each
action's params.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from aiops import registry

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "plan.v1.json"
STEP_DEFAULTS = {"params": {}, "retries": 0, "backoff_s": 0, "idempotent": False}
CHECK_DEFAULTS = {"metric": "", "promql": "", "labels": {}, "for_minutes": 1, "dry_run": False}


@dataclass(frozen=True)
class PlanDefaults:
    """What `normalize` gives a plan that leaves these out. The Planner's service builds it
    from settings (apps.planner.defaults), so every stored plan carries the deployment's
    defaults rather than values fixed here."""

    step_timeout_s: int
    verify_delay_s: int
    verify_window_s: int
    check_no_data: str


class PlanSyntaxError(ValueError):
    """The text is neither YAML nor JSON (or not a mapping)."""


class _JSONCompatibleLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, so every document is JSON-serializable,
    and refuses anchors and aliases: a few hundred bytes of nested aliases expand to billions
    of nodes ("billion laughs"), and JSON, which a plan must fit, has no references anyway.
    The first anchor stops the parse, before anything is expanded."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&, *) are not allowed in a plan", event.start_mark
            )
        return super().compose_node(parent, index)


_JSONCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_text(text: str | bytes):
    """YAML (a superset of JSON) → Python data; raises PlanSyntaxError."""
    try:
        data = yaml.load(text, Loader=_JSONCompatibleLoader)  # noqa: S506 - a SafeLoader subclass
        # Round-trip: rejects what JSON cannot hold (binary, non-finite numbers as keys...).
        return json.loads(json.dumps(data, allow_nan=False))
    except (yaml.YAMLError, TypeError, ValueError, RecursionError) as exc:
        raise PlanSyntaxError(f"not valid YAML or JSON: {exc}") from None


def schema() -> dict:
    """The full plan JSON Schema for the adapters registered now (they register when the
    apps are ready). Built once per registry version; callers must not modify it."""
    return _schema(registry.adapters.version)


@functools.lru_cache(maxsize=1)
def _schema(version: int) -> dict:
    generated = plan_schema(json.loads(SCHEMA_PATH.read_text()), registry.adapter_specs())
    Draft202012Validator.check_schema(generated)  # a bad params_schema fails here, not later
    return generated


@functools.lru_cache(maxsize=1)
def _validator(version: int) -> Draft202012Validator:
    return Draft202012Validator(_schema(version))


def plan_schema(base: dict, adapters: Iterable[registry.AdapterSpec]) -> dict:
    """`base` (the shape of a plan) with its step definition completed from `adapters`: the
    adapter enum, and one `if`/`then` rule per adapter (its action enum) and per action (its
    params schema; `params` becomes required when that schema requires a key). Errors thus
    land at the step's `action` or `params`, e.g. "$.spec.steps[0].params: 'image' is a
    required property". Where a params schema is marked `registry.REF_OK` the value may be
    a secretRef instead (`_secret_refs`)."""
    plan = copy.deepcopy(base)
    step = plan["$defs"]["step"]
    adapters = list(adapters)
    step["properties"]["adapter"]["enum"] = [adapter.name for adapter in adapters]
    rules = []
    for adapter in adapters:
        rules.append(
            {
                "if": _selects(adapter=adapter.name),
                "then": {"properties": {"action": {"enum": list(adapter.actions)}}},
            }
        )
        for action, spec in adapter.actions.items():
            then = {"properties": {"params": _secret_refs(copy.deepcopy(dict(spec.params_schema)))}}
            if spec.params_schema.get("required"):
                then["required"] = ["params"]
            rules.append({"if": _selects(adapter=adapter.name, action=action), "then": then})
    step["allOf"] = rules
    return plan


def _secret_refs(node):
    """`node` (a params schema) with every REF_OK mark expanded. A typed node becomes
    if/then/else rather than anyOf, so an error reads as the branch's own: "'../X' does not
    match …" at the reference's `name`, or "5 is not of type 'string'"."""
    if isinstance(node, list):
        return [_secret_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _secret_refs(value) for key, value in node.items()}
    if not node.pop(registry.REF_OK, False):
        return node
    if "type" in node:
        return {
            "if": {"type": "object", "required": ["secretRef"]},
            "then": {"$ref": "#/$defs/secretRef"},
            "else": node,
        }
    # any JSON value: a reference may stand for any string in it
    return {"$ref": "#/$defs/secretJson", **({"allOf": [node]} if node else {})}


def _selects(**fields) -> dict:
    return {
        "properties": {key: {"const": value} for key, value in fields.items()},
        "required": list(fields),
    }


def validate(document) -> list[dict]:
    """[] when `document` is a valid Plan; else one {path, message} per error, by path."""
    validator = _validator(registry.adapters.version)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    found = [{"path": error.json_path, "message": error.message} for error in errors]
    return found or _duplicate_step_ids(document)


def _duplicate_step_ids(document: dict) -> list[dict]:
    # JSON Schema cannot say "unique by id"; the Executor keys step results on it.
    errors, seen = [], set()
    for key in ("steps", "rollback"):
        for index, step in enumerate(document["spec"].get(key, [])):
            if step["id"] in seen:
                errors.append(
                    {
                        "path": f"$.spec.{key}[{index}].id",
                        "message": f"step id '{step['id']}' is used twice in the plan",
                    }
                )
            seen.add(step["id"])
    return errors


def normalize(document: dict, *, defaults: PlanDefaults) -> dict:
    """A copy of a valid plan with every optional field given its default value."""
    plan = copy.deepcopy(document)
    metadata = plan.setdefault("metadata", {})
    metadata.setdefault("name", "")
    metadata.setdefault("template", "")
    spec = plan["spec"]
    step_defaults = {**STEP_DEFAULTS, "timeout_s": defaults.step_timeout_s}
    for key in ("steps", "rollback"):
        spec[key] = [{**copy.deepcopy(step_defaults), **step} for step in spec.get(key, [])]
    verify = spec.setdefault("verify", {})
    verify.setdefault("delay_s", defaults.verify_delay_s)
    verify.setdefault("window_s", defaults.verify_window_s)
    check_defaults = {**CHECK_DEFAULTS, "no_data": defaults.check_no_data}
    verify["checks"] = [
        _check_mode({**copy.deepcopy(check_defaults), **check})
        for check in verify.get("checks", [])
    ]
    return plan


def _check_mode(check: dict) -> dict:
    """`mode: dry_run` and `dry_run: true` say the same; the stored check carries both."""
    dry_run = bool(check.get("dry_run")) or check.get("mode") == "dry_run"
    return {**check, "dry_run": dry_run, "mode": "dry_run" if dry_run else "enforce"}


def missing_parts(document: dict) -> list[str]:
    """What keeps a (schema-valid) plan from going to the gate: [] when it is ready."""
    spec = document.get("spec", {})
    missing = []
    if not spec.get("steps"):
        missing.append("at least one step in spec.steps")
    if not spec.get("rollback"):
        missing.append("at least one rollback step in spec.rollback")
    if not (spec.get("verify") or {}).get("checks"):
        missing.append("at least one check in spec.verify.checks")
    return missing
