"""The aiops/v1 Plan DSL: parse (YAML or JSON), validate against schemas/plan.v1.json, normalize.

Pure functions, no database: the Planner's service and the tests call them directly.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "plan.v1.json"
STEP_DEFAULTS = {"params": {}, "timeout_s": 300, "retries": 0, "backoff_s": 0}
CHECK_DEFAULTS = {
    "metric": "",
    "promql": "",
    "labels": {},
    "for_minutes": 1,
    "no_data": "inconclusive",
    "dry_run": False,
}
VERIFY_DEFAULTS = {"delay_s": 60, "window_s": 300}


class PlanSyntaxError(ValueError):
    """The text is neither YAML nor JSON (or not a mapping)."""


class _JSONCompatibleLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings, so every document is JSON-serializable."""


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


@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def validate(document) -> list[dict]:
    """[] when `document` is a valid Plan; else one {path, message} per error, by path."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
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


def normalize(document: dict) -> dict:
    """A copy of a valid plan with every optional field given its default value."""
    plan = copy.deepcopy(document)
    metadata = plan.setdefault("metadata", {})
    metadata.setdefault("name", "")
    metadata.setdefault("template", "")
    spec = plan["spec"]
    for key in ("steps", "rollback"):
        spec[key] = [{**copy.deepcopy(STEP_DEFAULTS), **step} for step in spec.get(key, [])]
    verify = spec.setdefault("verify", {})
    for key, value in VERIFY_DEFAULTS.items():
        verify.setdefault(key, value)
    verify["checks"] = [
        {**copy.deepcopy(CHECK_DEFAULTS), **check} for check in verify.get("checks", [])
    ]
    return plan


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
