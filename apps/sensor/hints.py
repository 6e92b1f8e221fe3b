"""Pure validation of evidence hints: what a locator is evidence for, and the locators.

A hint is `{"target": {"kind", "id", "case_id"?}, "locators": [...], "note"?}`. Errors are
(index, field, message): index -1 for the target and the note, the locator's position for
its fields. Whether the named case exists is the service's question (it needs the database).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from apps.sensor.locators import Locator, parse_locator
from apps.sensor.points import PointError

CASE, FINDING, STEP = "case", "finding", "step"
KINDS = (CASE, FINDING, STEP)
BODY_FIELDS = {"target", "locators", "note"}
TARGET_FIELDS = {"kind", "id", "case_id"}
MAX_TARGET_ID, MAX_NOTE = 100, 2000
# The spelling the schema's `format: uuid` means (uuid.UUID also takes braces, urn:, no dashes).
UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Hint:
    target_kind: str
    target_id: str
    case_id: uuid.UUID | None
    locators: tuple[Locator, ...]
    note: str


def unpack_body(raw) -> tuple[dict, list[PointError]]:
    """The keyword arguments of `check_hint` (and services.hint_write) from a POST
    /ingest/hint body, and the errors of its shape."""
    if not isinstance(raw, dict):
        return {}, [PointError(-1, "", "The body must be a JSON object.")]
    errors = [PointError(-1, name, "Unknown field.") for name in sorted(set(raw) - BODY_FIELDS)]
    target = raw.get("target")
    if target is None:
        errors.append(PointError(-1, "target", "This field is required."))
        target = {}
    elif not isinstance(target, dict):
        errors.append(PointError(-1, "target", "Must be an object {kind, id, case_id?}."))
        target = {}
    errors += [
        PointError(-1, f"target.{name}", "Unknown field.")
        for name in sorted(set(target) - TARGET_FIELDS)
    ]
    if "case_id" in target and target["case_id"] is None:
        errors.append(PointError(-1, "target.case_id", "Must be a UUID (or left out)."))
    kwargs = {
        "target_kind": target.get("kind"),
        "target_id": target.get("id"),
        "case_id": target.get("case_id"),
        "locators": raw.get("locators"),
        "note": raw.get("note", ""),
    }
    return kwargs, errors


def check_hint(
    *,
    target_kind,
    target_id,
    case_id=None,
    locators,
    note="",
    max_locators: int,
    max_range: timedelta,
) -> tuple[Hint | None, list[PointError]]:
    """Validate a hint's parts. A case target's case is its id; a step's case is required."""
    errors: list[PointError] = []

    def fail(name: str, message: str) -> None:
        errors.append(PointError(-1, name, message))

    if target_kind is None:
        fail("target.kind", "This field is required.")
    elif target_kind not in KINDS:
        fail("target.kind", f"One of {', '.join(KINDS)}.")
    target_id = canonical_id(_target_id(target_id, fail))
    case = _uuid(case_id, "target.case_id", fail) if case_id is not None else None
    if target_kind == CASE and target_id:
        own = _uuid(target_id, "target.id", fail)
        if case is not None and own is not None and case != own:
            fail("target.case_id", "A case target's case_id, if given, is its id.")
        case = own
    if target_kind == STEP and case_id is None:
        fail("target.case_id", "Required for a step target.")
    if not isinstance(note, str):
        fail("note", "Must be a string.")
    elif len(note) > MAX_NOTE:
        fail("note", f"At most {MAX_NOTE} characters.")
    elif "\x00" in note:
        fail("note", "Must not contain NUL characters.")
    parsed = []
    if locators is None:
        fail("locators", "This field is required.")
    elif not isinstance(locators, list) or not locators:
        fail("locators", "Must be a non-empty array of locators.")
    elif len(locators) > max_locators:
        fail("locators", f"At most {max_locators} locators per hint.")
    else:
        for index, raw in enumerate(locators):
            locator, problems = parse_locator(index, raw, max_range=max_range)
            errors.extend(problems)
            parsed.append(locator)
    if errors:
        return None, errors
    return Hint(target_kind, target_id, case, tuple(parsed), note), []


def canonical_id(value: str) -> str:
    """A UUID in its canonical spelling (so lookups match however it was written); any other
    id as it is."""
    try:
        return str(uuid.UUID(value)) if value else value
    except ValueError:
        return value


def _target_id(value, fail) -> str:
    if value is None:
        fail("target.id", "This field is required.")
    elif isinstance(value, bool) or not isinstance(value, str | int):
        fail("target.id", "Must be a string (or an integer id).")
    elif not str(value) or len(str(value)) > MAX_TARGET_ID:
        fail("target.id", f"1 to {MAX_TARGET_ID} characters.")
    elif any(ch.isspace() or not ch.isprintable() for ch in str(value)):
        fail("target.id", "No spaces or control characters.")
    else:
        return str(value)
    return ""


def _uuid(value, name: str, fail) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and UUID.match(value):
        return uuid.UUID(value)
    fail(name, "Must be a UUID.")
    return None
