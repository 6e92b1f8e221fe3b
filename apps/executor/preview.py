"""Dry-run previews of a plan's steps, for the person deciding whether it may run.

`preview_plan(plan)` asks each step's adapter what it would do (`Adapter.preview`): the
kubernetes adapter sends its PATCH with dryRun=All and diffs the answer against the live
Deployment, the script adapter builds the argv without starting it, the http adapter builds
the request (URL checked against the egress allow-list) without resolving or sending it.
A secret reference is shown as a reference and never read. Nothing is written, here or in
the systems the steps name; a step `run` would refuse is shown with the reason.
"""

from __future__ import annotations

import logging

from apps.executor import secretrefs
from apps.executor.adapters import get_adapter
from apps.executor.adapters.base import Context, StepError, StepSpec

log = logging.getLogger(__name__)

PHASES = (("forward", "steps"), ("rollback", "rollback"))
# Each preview waits at most this long on the systems it asks (the dry-run API calls).
PREVIEW_TIMEOUT_S = 10.0


def preview_plan(plan) -> list[dict]:
    """One dict per step, forward steps then rollback steps: phase, index, step_id,
    adapter, action, target, summary, detail, refused (why `run` would refuse, or "")."""
    spec = plan.document.get("spec") or {}
    target = spec.get("target") or {}
    return [
        preview_step(raw, phase=phase, index=index, target=target, case_id=str(plan.case_id))
        for phase, key in PHASES
        for index, raw in enumerate(spec.get(key) or [])
    ]


def preview_step(raw: dict, *, phase: str, index: int, target: dict, case_id: str) -> dict:
    adapter, action = str(raw.get("adapter", "")), str(raw.get("action", ""))
    entry = {
        "phase": phase,
        "index": index,
        "step_id": str(raw.get("id", f"{phase}-{index}")),
        "adapter": adapter,
        "action": action,
        "target": "",
        "summary": "",
        "detail": {},
        "refused": "",
    }
    try:
        params, _ = secretrefs.resolve(raw.get("params") or {}, _as_shown)
        step = StepSpec(
            step_id=entry["step_id"],
            adapter=adapter,
            action=action,
            params=params,
            timeout_s=PREVIEW_TIMEOUT_S,
            attempt=0,
            message_id="",
            case_id=case_id,
            run_id="",
            target=target,
        )
        preview = get_adapter(adapter).preview(step, Context(PREVIEW_TIMEOUT_S))
    except StepError as exc:
        entry.update(summary=f"would be refused: {exc}", refused=str(exc))
        return entry
    except Exception as exc:  # an adapter bug must not hide the other steps' previews
        log.exception("preview of %s.%s crashed", adapter, action)
        entry.update(summary=f"no preview: {type(exc).__name__}", refused=str(exc)[:300])
        return entry
    entry.update(summary=preview.summary, detail=preview.detail, target=preview.target)
    return entry


def _as_shown(ref) -> str:
    """What a preview shows for a secret reference: its name, never its value."""
    return f"[secretRef {secretrefs.describe(ref)}]"
