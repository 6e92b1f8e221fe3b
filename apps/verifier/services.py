"""Verifier use cases: schedule a verification, run it, and find overdue ones.

Evaluation reads metric sources (HTTP for Prometheus) with no transaction open; only then
one transaction locks the case, writes one verify_checkpoint per check and emits
evt.verify.result.v1, which the Orchestrator turns into verify_pass or verify_failed.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from redis import RedisError

from aiops.backoff import CAP, oldest_waiting
from aiops.commit import after_commit
from apps.cases import workflow as wf
from apps.cases.models import OpsCase
from apps.cases.selectors import case_get
from apps.cases.services import lock_case, timeline_note
from apps.executor.selectors import verified_run
from apps.verifier import evaluate, metrics, selectors
from apps.verifier.events import VerificationDone
from apps.verifier.models import VerifyCheckpoint
from apps.verifier.sources import SourceError, source_for

log = logging.getLogger(__name__)
ACTOR = "system:verifier"
NAMESPACE = uuid.UUID("5b0c6f0e-8f7a-4a53-9d7e-2d4b8f0c9a11")


@dataclass(frozen=True)
class VerifySpec:
    delay_s: int
    window_s: int
    checks: list[dict]


@dataclass(frozen=True)
class Evaluated:
    """One check's verdict plus where it was read from."""

    verdict: evaluate.Verdict
    source: str
    query: str


def verify_spec(document: dict | None) -> VerifySpec:
    """spec.verify of a plan document, with the settings' defaults for what it leaves out."""
    verify = ((document or {}).get("spec") or {}).get("verify") or {}
    delay = verify.get("delay_s")
    window = verify.get("window_s")
    return VerifySpec(
        delay_s=int(settings.VERIFY_DEFAULT_DELAY_S if delay is None else delay),
        window_s=int(window or settings.VERIFY_DEFAULT_WINDOW_S),
        checks=list(verify.get("checks") or []),
    )


def verification_schedule(*, case_id: str, case_version: int | None = None) -> int | None:
    """VERIFYING asked for a verification (caller's transaction): note when it is due and
    enqueue it after commit, `delay_s` later. The checks come from the run that just
    succeeded. Returns the delay; None if the case moved on since it asked."""
    case = lock_case(case_id)
    if case.state != wf.VERIFYING:
        return None
    if case_version is not None and case.version != case_version:
        return None
    run = verified_run(case.pk)
    spec = verify_spec(run.document if run else None)
    due = timezone.now() + timedelta(seconds=spec.delay_s)
    timeline_note(
        case,
        event="verify_scheduled",
        actor=ACTOR,
        data={"delay_s": spec.delay_s, "window_s": spec.window_s, "due": due.isoformat()},
    )
    if spec.delay_s <= settings.BROKER_MAX_DELAY_S:
        after_commit(
            lambda: _enqueue(str(case.pk), countdown=spec.delay_s),
            what=f"queueing the verification of case {case.pk}",
        )
    # else: a delay longer than the broker may hold; the verify sweep runs it when due.
    return spec.delay_s


def _enqueue(case_id: str, *, countdown: float) -> None:
    from apps.verifier.tasks import verify_case

    # No countdown at all for "now": an ETA task takes the worker's timer path.
    verify_case.apply_async(args=(case_id,), countdown=countdown or None)


def evaluate_checks(
    spec: VerifySpec, *, service: str, now: datetime, change_time: datetime | None
) -> list[Evaluated]:
    """Judge each check of `spec` over the window ending at `now` (pure reads, no writes).
    A source that fails makes its check inconclusive; it never passes."""
    window = evaluate.window_before(now, spec.window_s)
    baseline_window = (
        evaluate.window_before(change_time, spec.window_s) if change_time is not None else None
    )
    results = []
    for raw in spec.checks:
        check = evaluate.Check.from_plan(raw, default_no_data=settings.VERIFY_DEFAULT_NO_DATA)
        source_name, query = "", check.promql or check.metric
        try:
            source = source_for(check)
            source_name, query = source.name, source.describe(check, service=service)
            series = source.fetch(check, service=service, window=window)
            before = None
            if check.max_increase_pct is not None and baseline_window is not None:
                before = source.fetch(check, service=service, window=baseline_window)
            verdict = evaluate.evaluate(
                check, series, window, baseline_series=before, baseline_window=baseline_window
            )
        except SourceError as exc:
            verdict = evaluate.inconclusive(check, window, str(exc))
        results.append(Evaluated(verdict=verdict, source=source_name, query=query))
    return results


def verify_case(*, case_id: str, now: datetime | None = None) -> dict | None:
    """Run the verification of a case in VERIFYING: evaluate its approved plan's checks,
    then in one transaction write the checkpoints and emit evt.verify.result.v1.
    Returns the event data, or None when there was nothing to do (not VERIFYING any more,
    or this entry into VERIFYING was verified already)."""
    case = case_get(case_id)
    entry = selectors.verifying_entry(case)
    if case.state != wf.VERIFYING or entry is None:
        return None
    verification_id = uuid.uuid5(NAMESPACE, f"{case.pk}:{entry.pk}")
    if selectors.verified(verification_id):
        return None
    run = verified_run(case.pk)
    plan = run.plan if run else None
    spec = verify_spec(run.document if run else None)
    now = now or timezone.now()
    try:
        evaluated = evaluate_checks(
            spec, service=case.service, now=now, change_time=selectors.change_time(case)
        )
    except evaluate.InvalidCheck as exc:
        evaluated, problem = [], f"Verification inconclusive: {exc}"
    else:
        problem = "" if run else "Verification inconclusive: the case has no succeeded run"
    if not evaluated and not problem:
        problem = "Verification inconclusive: the plan has no verify checks"
    with transaction.atomic():
        case = lock_case(case_id)
        current = selectors.verifying_entry(case)
        if case.state != wf.VERIFYING or current is None or current.pk != entry.pk:
            timeline_note(case, event="verify_skipped", actor=ACTOR, reason="case moved on")
            return None
        if selectors.verified(verification_id):
            return None
        rows = _write_checkpoints(case, plan, verification_id, evaluated)
        if problem:
            passed, summary = False, problem
        else:
            passed, summary = evaluate.decide([e.verdict for e in evaluated])
        event = VerificationDone(
            case_id=str(case.pk),
            verification_id=str(verification_id),
            run_id=str(run.pk) if run else "",
            passed=passed,
            summary=summary,
            checkpoints=[_checkpoint_data(row) for row in rows],
        )
        event.emit()
        data = event.to_data()
        transaction.on_commit(lambda: _count(rows, passed))
    return data


def _write_checkpoints(case: OpsCase, plan, verification_id, evaluated: list[Evaluated]):
    created_at = timezone.now()  # one instant per verification keeps its rows together
    rows = []
    for position, item in enumerate(evaluated):
        verdict, check = item.verdict, item.verdict.check
        rows.append(
            VerifyCheckpoint(
                case=case,
                plan=plan,
                verification_id=verification_id,
                position=position,
                check_name=check.name[:100],
                source=item.source,
                query=item.query,
                aggregate=check.aggregate,
                operator=check.operator,
                threshold=check.threshold,
                for_minutes=check.for_minutes,
                max_increase_pct=check.max_increase_pct,
                observed=verdict.observed,
                baseline=verdict.baseline,
                change_pct=_finite(verdict.change_pct),
                window_start=verdict.window.start,
                window_end=verdict.window.end,
                minutes_with_data=len(verdict.minutes),
                minutes_breached=verdict.breached_minutes,
                longest_breach=verdict.longest_breach,
                minute_values=[[m.isoformat(), v] for m, v in verdict.minutes],
                result=verdict.result,
                dry_run=check.dry_run,
                sentence=verdict.sentence,
                created_at=created_at,
            )
        )
    return VerifyCheckpoint.objects.bulk_create(rows)


def _finite(value: float | None) -> float | None:
    # JSON and the API cannot carry infinity (a rise from a zero baseline).
    if value is None or value in (float("inf"), float("-inf")):
        return None
    return value


def _checkpoint_data(row: VerifyCheckpoint) -> dict:
    return {
        "name": row.check_name,
        "result": row.result,
        "dry_run": row.dry_run,
        "observed": row.observed,
        "threshold": row.threshold,
        "operator": row.operator,
        "baseline": row.baseline,
        "window_start": row.window_start.isoformat(),
        "window_end": row.window_end.isoformat(),
        "sentence": row.sentence,
    }


def _count(rows: list[VerifyCheckpoint], passed: bool) -> None:
    for row in rows:
        metrics.verify_checks_total.labels(result=row.result, dry_run=str(row.dry_run)).inc()
    metrics.verify_results_total.labels(passed=str(passed)).inc()


def verifications_overdue(*, now: datetime | None = None) -> list[str]:
    """Cases in VERIFYING whose verification is overdue by VERIFY_OVERDUE_S (its task was
    lost) and has not run for their current entry into VERIFYING."""
    return [case_id for case_id, _, _ in _overdue(now or timezone.now())]


def _overdue(now: datetime) -> list[tuple[str, uuid.UUID, datetime]]:
    # Only a case that entered VERIFYING at least this long ago can be overdue (a short delay
    # waits its grace, a long one is longer than the broker's): most are not even read.
    soonest = min(settings.VERIFY_OVERDUE_S, settings.BROKER_MAX_DELAY_S)
    overdue = []
    for case in OpsCase.objects.filter(
        state=wf.VERIFYING, updated_at__lte=now - timedelta(seconds=soonest)
    ):
        entry = selectors.verifying_entry(case)
        if entry is None:
            continue
        run = verified_run(case.pk)
        spec = verify_spec(run.document if run else None)
        # A long delay was never given to the broker: due at its time. A short one was: it
        # is looked for only once overdue (its message lost).
        grace = 0 if spec.delay_s > settings.BROKER_MAX_DELAY_S else settings.VERIFY_OVERDUE_S
        due = entry.created_at + timedelta(seconds=spec.delay_s + grace)
        verification_id = uuid.uuid5(NAMESPACE, f"{case.pk}:{entry.pk}")
        if due < now and not selectors.verified(verification_id):
            overdue.append((str(case.pk), verification_id, entry.created_at))
    return overdue


def verifications_kick_overdue(*, now: datetime | None = None) -> int:
    """Enqueue the overdue verifications now (the periodic sweep). One still overdue after a
    kick may only be waiting its turn in a busy queue: it is kicked again after
    VERIFY_OVERDUE_S, then twice that, and so on (aiops.backoff)."""
    now = now or timezone.now()
    waiting = oldest_waiting(settings.CONTROL_QUEUE)
    kicked = 0
    for case_id, verification_id, entered in _overdue(now):
        if waiting is not None and entered >= waiting:
            continue  # its task was sent after the oldest message still queued: behind it
        if _kick_due(verification_id, now):
            log.info("verification of case %s is due; running it now", case_id)
            _enqueue(case_id, countdown=0)
            kicked += 1
    return kicked


def _kick_due(verification_id: uuid.UUID, now: datetime) -> bool:
    """Whether the sweep may kick this verification now; if so, count the kick. The count
    lives in the cache (Redis): it only spares the queue duplicates, so a cache that is
    down or has forgotten means one kick more, never one less."""
    key = f"verify-kick:{verification_id}"
    base = max(settings.VERIFY_OVERDUE_S, 1)
    try:
        kicks, last = cache.get(key) or (0, None)
        if last is not None and now < last + timedelta(seconds=base * 2 ** min(kicks - 1, CAP)):
            return False
        cache.set(key, (kicks + 1, now), timeout=base * 2 ** (CAP + 1))
    except RedisError:
        pass
    return True
