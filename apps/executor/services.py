"""Executor use cases. Each write is one short transaction; adapters run outside them.

A run moves forward one step attempt at a time: `exec_start` queues the first attempt;
`step_claim` lets exactly one delivery of an attempt's message run it; `step_record` stores
the outcome, emits evt.exec.step_result.v1 and queues what comes next (the next step, a
retry after backoff, the rollback steps) or finishes the run with evt.exec.done.v1 /
evt.exec.failed.v1. `sweep_steps` recovers attempts whose worker died (expired lease), and
never lets two attempts of a step be alive at once.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aiops import rows
from aiops.backoff import next_resend, oldest_waiting
from aiops.commit import after_commit
from apps.cases.models import OpsCase
from apps.cases.services import lock_case, timeline_note
from apps.cases.workflow import EXECUTING, PARKED
from apps.executor import metrics, procs, selectors
from apps.executor.events import RunFailed, RunSucceeded, StepFinished
from apps.executor.exceptions import ExecNotAllowed, RunActive
from apps.executor.models import ExecRun, ExecStep
from apps.gate import selectors as gate_selectors
from apps.gate import services as gate_services
from apps.gate import targets
from apps.gate.models import PlanApproved
from apps.gate.policy import ROLLBACK

log = logging.getLogger(__name__)
ACTOR = "system:executor"
DEFAULT_TIMEOUT_S = settings.EXEC_DEFAULT_STEP_TIMEOUT_S


def exec_start(*, case_id, actor: str, case_version: int | None = None) -> ExecRun | None:
    """Start a run of the plan whose approval moved the case into EXECUTING, consuming that
    approval (good for one run); the first step is queued on commit.

    With `case_version` (the Orchestrator asked) it returns None when the case moved on.
    Raises CaseNotFound (404), ExecNotAllowed (409: not EXECUTING / no unconsumed approval at
    this case version), RunActive (409, with run_id: a run of this case is still active).
    """
    with transaction.atomic():
        case = lock_case(case_id)
        if case_version is not None and (case.state, case.version) != (EXECUTING, case_version):
            return None
        if case.state != EXECUTING:
            raise ExecNotAllowed(
                f"Case is {case.state}; only a case in {EXECUTING} can be executed.",
                state=case.state,
            )
        active = selectors.active_run.first(case.pk)
        if active is not None:
            raise RunActive(f"Run {active.pk} is still {active.status}.", run_id=str(active.pk))
        run_id = uuid.uuid4()
        approval = gate_services.approval_consume(case=case, run_id=run_id)
        if approval is None:
            raise ExecNotAllowed(
                "No unused approval brought the case here: an approval is good for one run. "
                "Park, resume and have the new plan approved to run again.",
                state=case.state,
            )
        document = approval.plan.document
        now = timezone.now()
        run = rows.insert(
            ExecRun(
                id=run_id,
                case=case,
                plan=approval.plan,
                document=document,
                status=ExecRun.RUNNING,
                actor=actor,
                started_at=now,
            )
        )
        steps = _phase_steps(run, ExecRun.FORWARD)
        timeline_note(
            case,
            event="exec_started",
            actor=actor,
            data={
                "run_id": str(run.pk),
                "steps": len(steps),
                "plan_revision": approval.plan.revision,
            },
        )
        if steps:
            _queue_step(run, ExecRun.FORWARD, 0)
        else:
            _finish(run, ExecRun.SUCCEEDED)
    return run


def rollback_start(*, case_id, run_id, case_version: int, actor: str) -> ExecRun | None:
    """Run the rollback steps of `run_id` after its change failed verification
    (cmd.exec.rollback.v1): a new run in the rollback phase that `undoes` it, its first step
    queued on commit. No approval is consumed: the approval of the plan covered its rollback
    steps; the policy's bounds are still checked before each step. Returns None, with a
    timeline note saying why, when the case moved on (not PARKED at `case_version`), the run
    is not a succeeded run of the case, a run is active, or the plan has no rollback steps.
    """
    with transaction.atomic():
        case = lock_case(case_id)
        changed = ExecRun.objects.filter(pk=_uuid_or_none(run_id), case=case).first()
        why = ""
        if (case.state, case.version) != (PARKED, case_version):
            why = f"the case moved on ({case.state}, version {case.version})"
        elif changed is None or changed.status != ExecRun.SUCCEEDED:
            why = f"run {run_id} is not a succeeded run of this case"
        elif ExecRun.objects.filter(case=case, status__in=ExecRun.ACTIVE).exists():
            why = "a run of this case is still active"
        elif not _phase_steps(changed, ExecRun.ROLLBACK):
            why = "the plan has no rollback steps"
        if why:
            timeline_note(case, event="rollback_skipped", actor=ACTOR, reason=why)
            return None
        run = ExecRun.objects.create(
            case=case,
            plan=changed.plan,
            document=changed.document,
            status=ExecRun.RUNNING,
            phase=ExecRun.ROLLBACK,
            undoes=changed,
            actor=actor,
            started_at=timezone.now(),
            reason=f"undoing run {changed.pk}: its verification failed",
        )
        timeline_note(
            case,
            event="rollback_started",
            actor=actor,
            data={"run_id": str(run.pk), "undoes": str(changed.pk)},
        )
        _queue_step(run, ExecRun.ROLLBACK, 0)
    return run


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def step_claim(message_id: str, *, worker: str) -> ExecStep | None:
    """Take a queued attempt for this worker; None if it is not to run here: another delivery
    took it, or the preflight refused it (the kill switch, a target outside the case's
    environment, or — before a run's first step — an approval that no longer holds), in
    which case the run stops and says why."""
    with transaction.atomic():
        # FOR SHARE on the switch: engaging it waits for this claim, so none starts after.
        switch = gate_selectors.kill_switch_for_share()
        step = (
            ExecStep.objects.select_related("run", "run__case")
            .filter(message_id=message_id, status=ExecStep.QUEUED)
            .first()
        )
        if step is None:
            return None
        refusal = _preflight(step, switch)
        if refusal:
            _refuse(step, refusal, kill_switch=switch.engaged)
            return None
        # A conditional UPDATE: of concurrent deliveries only one matches.
        claim = _claim_fields(worker)
        taken = ExecStep.objects.filter(message_id=message_id, status=ExecStep.QUEUED).update(
            **claim
        )
    if not taken:
        return None
    for field, value in claim.items():  # what the UPDATE wrote, without reading it back
        setattr(step, field, value)
    return step


def _claim_fields(worker: str) -> dict:
    now = timezone.now()
    return {
        "status": ExecStep.RUNNING,
        "worker": worker[:200],
        "host": procs.host_id(),
        "started_at": now,
        "heartbeat_at": now,
        "lease_expires_at": now + timedelta(seconds=settings.EXEC_LEASE_SECONDS),
    }


def _preflight(step: ExecStep, switch) -> str:
    """Why this attempt must not start now ("" if it may): the kill switch (not for rollback
    steps: they restore what the run changed); a target the case's environment may not touch
    under the policy in force (every step, rollback included: the boundary does not bend
    for repairs, a person takes over); before the first step, an approval that no longer
    holds."""
    if step.phase != ExecRun.ROLLBACK and switch.engaged:
        return f"the kill switch is engaged by {switch.changed_by}: {switch.reason}"
    out_of_bounds = _out_of_bounds(step)
    if out_of_bounds:
        return out_of_bounds
    if step.phase == ExecRun.FORWARD and step.index == 0 and step.attempt == 1:
        approval = (
            PlanApproved.objects.select_related("plan", "decision")
            .filter(consumed_by_run=step.run_id)
            .first()
        )
        if approval is None:
            return "the run has no approval"
        return gate_services.approval_holds(approval) or ""
    return ""


def _out_of_bounds(step: ExecStep) -> str:
    # The policy may have narrowed since the gate approved the plan.
    environment = step.run.case.environment
    allowance = gate_selectors.rules_in_force().targets(environment)
    spec = {"adapter": step.adapter, "action": step.action, "params": step.params}
    target = (step.run.document or {}).get("spec", {}).get("target") or {}
    path = f"$.spec.{'steps' if step.phase == ExecRun.FORWARD else 'rollback'}[{step.index}]"
    touches = targets.step_touches(spec, target, path)
    found = targets.violations(touches, allowance, environment)
    return "; ".join(f"{v['path']}: {v['message']}" for v in found)


def _refuse(step: ExecStep, reason: str, *, kill_switch: bool) -> None:
    """End a queued attempt that may not start, and its run: under the kill switch with the
    policy's on_kill_switch=rollback a run that changed something rolls back; otherwise it
    stops. Either way the case parks with the reason (evt.exec.failed.v1)."""
    run = ExecRun.objects.select_for_update().select_related("case").get(pk=step.run_id)
    refused = ExecStep.objects.filter(pk=step.pk, status=ExecStep.QUEUED).update(
        status=ExecStep.CANCELLED, finished_at=timezone.now(), error=f"not started: {reason}"
    )
    if not refused or run.status not in ExecRun.ACTIVE:
        return
    step.refresh_from_db()
    changed = run.steps.filter(phase=ExecRun.FORWARD, status=ExecStep.SUCCEEDED).exists()
    policy = gate_selectors.rules_in_force()
    rollback = kill_switch and changed and policy.on_kill_switch(run.case.environment) == ROLLBACK
    run.reason = f"stopped before step '{step.step_id}': {reason}"[:2000]
    _step_finished(run, step, retryable=False, stop=True, rollback=rollback)


def step_heartbeat(step: ExecStep) -> tuple[bool, bool]:
    """Renew a running attempt's lease. Returns (still ours, cancel requested)."""
    now = timezone.now()
    alive = ExecStep.objects.filter(pk=step.pk, status=ExecStep.RUNNING).update(
        heartbeat_at=now, lease_expires_at=now + timedelta(seconds=settings.EXEC_LEASE_SECONDS)
    )
    cancel = ExecRun.objects.filter(pk=step.run_id, cancel_requested=True).exists()
    return bool(alive), cancel


def step_spawned(step: ExecStep, *, pgid: int, start: int | None) -> None:
    """Record the process group a running attempt started (the sweeper kills it if lost)."""
    ExecStep.objects.filter(pk=step.pk, status=ExecStep.RUNNING).update(pgid=pgid, proc_start=start)


def step_hand_back(step: ExecStep) -> bool:
    """Give a running attempt back to the queue (worker draining): same attempt, same message."""
    with transaction.atomic():
        returned = ExecStep.objects.filter(pk=step.pk, status=ExecStep.RUNNING).update(
            status=ExecStep.QUEUED,
            worker="",
            host=None,
            pgid=None,
            proc_start=None,
            started_at=None,
            heartbeat_at=None,
            lease_expires_at=None,
            queued_at=timezone.now(),
        )
        if returned:
            _enqueue_on_commit(step.message_id)
    return bool(returned)


def step_record(
    step: ExecStep,
    *,
    status: str,
    result: dict | None = None,
    error: str = "",
    exit_code: int | None = None,
    stdout_ref: str = "",
    stderr_ref: str = "",
    retryable: bool = True,
    take_next: str = "",
) -> tuple[bool, ExecStep | None]:
    """Store an attempt's outcome and move the run on. Returns (recorded, taken): recorded is
    False if the attempt was no longer ours (the sweeper declared it lost meanwhile) and the
    late result was discarded.

    With `take_next` (a worker name), the run's next attempt, when it is due now and passes
    the preflight, is claimed for that worker in this same transaction and returned as
    `taken` instead of being published: the worker goes straight on to it, without a broker
    round trip and a second transaction. Otherwise it is published on commit as usual."""
    outcome = {
        "status": status,
        "finished_at": timezone.now(),
        "lease_expires_at": None,
        "result": result or {},
        "error": error[:4000],
        "exit_code": exit_code,
        "stdout_ref": stdout_ref,
        "stderr_ref": stderr_ref,
    }
    with transaction.atomic():
        # Statements built once (aiops.rows): this transaction runs once per step.
        run = rows.lock(ExecRun, step.run_id)
        # The case for the timeline row, read as it is now (its lock is not needed: a note).
        run.case = rows.get(OpsCase, run.case_id)
        for field, value in outcome.items():
            setattr(step, field, value)
        if not rows.update(step, tuple(outcome), expect={"status": ExecStep.RUNNING}):
            step.refresh_from_db()  # the sweeper's account of the attempt stands
            return False, None
        publish: list[tuple] = []
        queued = _step_finished(run, step, retryable=retryable, publish=publish)
        taken = None
        if take_next and queued is not None and queued.not_before is None:
            taken = _claim_queued(queued, worker=take_next)
            if taken is not None:
                publish.remove((taken.message_id, 0))
    return True, taken


def _claim_queued(step: ExecStep, *, worker: str) -> ExecStep | None:
    """Claim `step`, just queued in the caller's transaction, for `worker` if the preflight
    lets it start; None leaves it queued (its delivery's claim then refuses it, and says why)."""
    switch = gate_selectors.kill_switch_for_share()
    if _preflight(step, switch):
        return None
    claim = _claim_fields(worker)
    for field, value in claim.items():
        setattr(step, field, value)
    rows.update(step, tuple(claim))
    return step


def run_cancel(*, case_id, reason: str) -> int:
    """Ask the case's active run to stop (the case was parked). A run with no attempt in
    progress ends now; a running attempt is stopped by its heartbeat and ends the run."""
    cancelled = 0
    # Every park comes here, most with no run: a statement built once (aiops.rows).
    for run_id in rows.pks_where(ExecRun, {"case": case_id, "status": ExecRun.ACTIVE}):
        run = ExecRun.objects.select_for_update().get(pk=run_id)
        if run.status not in ExecRun.ACTIVE:
            continue
        run.cancel_requested = True
        run.reason = reason or "case parked"
        run.save(update_fields=["cancel_requested", "reason"])
        running = run.steps.filter(status=ExecStep.RUNNING).exists()
        if not running:
            run.steps.filter(status=ExecStep.QUEUED).update(
                status=ExecStep.CANCELLED, finished_at=timezone.now(), error="run cancelled"
            )
            _finish(run, ExecRun.CANCELLED)
        cancelled += 1
    return cancelled


def sweep_steps(*, here: bool = True) -> dict:
    """Recover attempts whose lease expired (worker dead or wedged), and re-publish queued
    attempts whose message was lost.

    A lost attempt is declared lost only once it is known to be gone: on this host its
    processes are killed until none is left (else it waits for the next sweep). One recorded
    on another host cannot be checked from here: it is left one more lease for the sweeper on
    its own host (sweep_here, in every execution worker), then declared lost and never
    retried. A lost attempt had started, so it is retried (within its retries) only when its
    step is idempotent and it is known to be gone; otherwise the run fails (rollback,
    exec.failed naming the step and why). `here`: False when this host's part was just done by
    another sweeper of the host."""
    lost = sweep_here() if here else 0
    now = timezone.now()
    here = procs.host_id()
    lease = timedelta(seconds=settings.EXEC_LEASE_SECONDS)
    # Recorded elsewhere and left alone for a whole extra lease: its host's sweeper is gone
    # too (the pod was deleted), or cannot reach the database.
    abandoned = ExecStep.objects.filter(
        status=ExecStep.RUNNING, lease_expires_at__lt=now - lease
    ).exclude(host=here)
    for step in abandoned:
        error = (
            "worker lost: the step's lease expired without a heartbeat; not retried: its "
            f"processes on {step.host or 'an unknown host'} cannot be checked from {here}"
        )
        lost += _declare_lost(step, now, error, retryable=False)
    due = ExecStep.objects.filter(status=ExecStep.QUEUED, deferred=True, not_before__lte=now)
    for step in due:
        if ExecStep.objects.filter(pk=step.pk, deferred=True).update(deferred=False, queued_at=now):
            _enqueue(step.message_id)
    stale_before = now - timedelta(seconds=max(settings.EXEC_LEASE_SECONDS, 5))
    stale = (
        ExecStep.objects.filter(status=ExecStep.QUEUED, queued_at__lt=stale_before, deferred=False)
        .exclude(not_before__gt=stale_before)
        .alias(due=next_resend("queued_at", "republished", (now - stale_before).total_seconds()))
        .filter(due__lt=now)
    )
    waiting = oldest_waiting(settings.EXEC_QUEUE)
    if waiting is not None:  # queued after the oldest step message still waiting: behind it
        stale = stale.filter(queued_at__lt=waiting)
    republished = 0
    for step in stale:
        # A duplicate of a message still in the queue is harmless: the claim runs it once.
        ExecStep.objects.filter(pk=step.pk, status=ExecStep.QUEUED).update(
            queued_at=now, republished=F("republished") + 1
        )
        _enqueue(step.message_id)
        republished += 1
    return {"lost": lost, "republished": republished}


def sweep_here() -> int:
    """The part of the sweep that only this host can do: kill what is left of attempts of
    this host whose lease expired, then declare them lost (retried when idempotent), and kill
    the leftovers of attempts that are over. Every execution worker runs it for its own host
    (apps.executor.hostsweep): a step's processes can be seen only from where it ran.
    Returns the attempts declared lost."""
    _reap_orphans()
    now = timezone.now()
    here = procs.host_id()
    lost = 0
    expired = ExecStep.objects.filter(status=ExecStep.RUNNING, lease_expires_at__lt=now, host=here)
    for step in expired:
        survivors = procs.kill_attempt(str(step.message_id), pgid=step.pgid, start=step.proc_start)
        if survivors:
            log.error("lost step %s: processes %s survive SIGKILL; next sweep", step, survivors)
            continue
        error = "worker lost: the step's lease expired without a heartbeat"
        if not step.idempotent:
            error += "; not retried: it had started and the step is not idempotent"
        lost += _declare_lost(step, now, error, retryable=step.idempotent)
    return lost


def _declare_lost(step: ExecStep, now, error: str, *, retryable: bool) -> int:
    """Mark a running attempt lost and move its run on (retry or fail), if its lease is still
    expired: a worker that woke up meanwhile keeps it. Returns 1 if it was marked, else 0."""
    with transaction.atomic():
        run = ExecRun.objects.select_for_update().get(pk=step.run_id)
        taken = ExecStep.objects.filter(
            pk=step.pk, status=ExecStep.RUNNING, lease_expires_at__lt=now
        ).update(status=ExecStep.LOST, finished_at=now, lease_expires_at=None, error=error)
        if not taken:
            return 0
        metrics.steps_lost_total.inc()
        step.refresh_from_db()
        _step_finished(run, step, retryable=retryable)
    return 1


def _reap_orphans() -> None:
    """Kill processes on this host left by attempts of ours that are over — e.g. declared lost
    by a sweeper on another host. Safe: an attempt starts processes only once claimed
    (running) and its worker kills them all before it records or hands back the attempt.
    Tokens this database does not know (another deployment's) are left alone."""
    tokens = set()
    for token in procs.tokens_here():
        with contextlib.suppress(ValueError):
            tokens.add(uuid.UUID(token))
    over = ExecStep.objects.filter(message_id__in=tokens).exclude(status=ExecStep.RUNNING)
    for message_id in over.values_list("message_id", flat=True):
        survivors = procs.kill_attempt(str(message_id))
        log.warning(
            "killed the leftover processes of attempt %s (alive: %s)", message_id, survivors
        )


# --- moving a run on (inside the caller's transaction, run row locked) ---


def _phase_steps(run: ExecRun, phase: str) -> list[dict]:
    spec = (run.document or {}).get("spec", {})
    return list(spec.get("steps" if phase == ExecRun.FORWARD else "rollback") or [])


def _queue_step(
    run: ExecRun, phase: str, index: int, *, attempt: int = 1, delay: float = 0, publish=None
):
    spec = _phase_steps(run, phase)[index]
    now = timezone.now()
    step = ExecStep(
        run=run,
        phase=phase,
        index=index,
        step_id=str(spec.get("id", f"{phase}-{index}")),
        adapter=str(spec.get("adapter", "")),
        action=str(spec.get("action", "")),
        params=spec.get("params") or {},
        timeout_s=float(spec.get("timeout_s") or DEFAULT_TIMEOUT_S),
        retries=int(spec.get("retries") or 0),
        backoff_s=float(spec.get("backoff_s") or 0),
        idempotent=bool(spec.get("idempotent")),
        attempt=attempt,
        queued_at=now,
        not_before=now + timedelta(seconds=delay) if delay else None,
        deferred=delay > settings.BROKER_MAX_DELAY_S,
    )
    rows.insert(step)
    if step.deferred:
        return step  # the sweeper publishes it when due
    if publish is None:
        _enqueue_on_commit(step.message_id, delay)
    else:
        publish.append((step.message_id, delay))
    return step


def _enqueue(message_id, delay: float = 0) -> None:
    from apps.executor.tasks import run_step

    run_step.apply_async(args=[str(message_id)], task_id=str(message_id), countdown=delay or None)


def _enqueue_on_commit(message_id, delay: float = 0) -> None:
    after_commit(lambda: _enqueue(message_id, delay), what=f"queueing step {message_id}")


def _step_finished(
    run: ExecRun,
    step: ExecStep,
    *,
    retryable: bool,
    stop: bool = False,
    rollback: bool = False,
    publish: list[tuple] | None = None,
) -> ExecStep | None:
    """Record the attempt's end (event, timeline) and queue what comes next: the attempt
    queued, if any, is returned; its message leaves on commit from `publish`, which the caller
    may still take it out of (step_record's take_next)."""
    # Registered before the event's relay kick, so the next step's message leaves first.
    publish = [] if publish is None else publish
    after_commit(
        lambda: [_enqueue(message_id, delay) for message_id, delay in publish],
        what="queueing steps",
    )
    StepFinished(
        case_id=str(run.case_id),
        run_id=str(run.pk),
        step_id=step.step_id,
        phase=step.phase,
        index=step.index,
        attempt=step.attempt,
        message_id=str(step.message_id),
        adapter=step.adapter,
        action=step.action,
        status=step.status,
        exit_code=step.exit_code,
        duration_s=step.duration_s,
        error=step.error[:500],
    ).emit()
    # Operators read a run step by step on the case's own timeline, too.
    outcome = f"{step.phase} step '{step.step_id}' ({step.adapter}.{step.action}) "
    outcome += f"attempt {step.attempt}: {step.status}"
    timeline_note(
        run.case,
        event="exec_step",
        actor=ACTOR,
        reason=outcome + (f": {step.error[:300]}" if step.error else ""),
        data={
            "run_id": str(run.pk),
            "step_id": step.step_id,
            "phase": step.phase,
            "attempt": step.attempt,
            "status": step.status,
            "exit_code": step.exit_code,
            "duration_s": step.duration_s,
        },
    )
    if step.duration_s is not None:
        metrics.step_duration_seconds.labels(adapter=step.adapter, status=step.status).observe(
            step.duration_s
        )
    if run.status not in ExecRun.ACTIVE:
        return None
    if stop:
        if rollback and _phase_steps(run, ExecRun.ROLLBACK):
            run.phase = ExecRun.ROLLBACK
            run.save(update_fields=["reason", "phase"])
            return _queue_step(run, ExecRun.ROLLBACK, 0, publish=publish)
        else:
            _finish(run, ExecRun.FAILED)
        return None
    if step.status == ExecStep.CANCELLED or run.cancel_requested:
        _finish(run, ExecRun.CANCELLED)
        return None
    steps = _phase_steps(run, step.phase)
    if step.status == ExecStep.SUCCEEDED:
        if step.index + 1 < len(steps):
            return _queue_step(run, step.phase, step.index + 1, publish=publish)
        elif step.phase == ExecRun.FORWARD:
            _finish(run, ExecRun.SUCCEEDED)
        else:
            _finish(run, ExecRun.ROLLED_BACK)
        return None
    if retryable and step.attempt <= step.retries:
        delay = step.backoff_s * (2 ** (step.attempt - 1))
        return _queue_step(
            run, step.phase, step.index, attempt=step.attempt + 1, delay=delay, publish=publish
        )
    failure = f"step '{step.step_id}' {step.status} after {step.attempt} attempt(s): {step.error}"
    if step.phase == ExecRun.FORWARD:
        run.reason = failure[:2000]
        if _phase_steps(run, ExecRun.ROLLBACK):
            run.phase = ExecRun.ROLLBACK
            run.save(update_fields=["reason", "phase"])
            return _queue_step(run, ExecRun.ROLLBACK, 0, publish=publish)
        else:
            _finish(run, ExecRun.FAILED)
    else:
        run.reason = f"{run.reason}; rollback {failure}"[:2000]
        _finish(run, ExecRun.FAILED)
    return None


def _finish(run: ExecRun, status: str) -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "reason", "phase"])
    transaction.on_commit(lambda: metrics.runs_finished_total.labels(status=status).inc())
    data = {"case_id": str(run.case_id), "run_id": str(run.pk), "status": status}
    plan_id = str(run.plan_id or "")
    if run.undoes_id is not None:
        # Undoing a verified change: the case is parked and stays so; the timeline says how
        # the rollback ended, and no outcome event moves the case.
        data["undoes"] = str(run.undoes_id)
    elif status == ExecRun.SUCCEEDED:
        RunSucceeded(
            case_id=str(run.case_id), run_id=str(run.pk), plan_id=plan_id, status=status
        ).emit()
    elif status in (ExecRun.FAILED, ExecRun.ROLLED_BACK):
        reason = run.reason or "execution failed"
        if status == ExecRun.ROLLED_BACK:
            reason += " (rollback steps ran)"
        RunFailed(
            case_id=str(run.case_id),
            run_id=str(run.pk),
            plan_id=plan_id,
            status=status,
            reason=reason,
        ).emit()
    case = run.case
    timeline_note(
        case,
        event=f"run_{status}",
        actor=ACTOR,
        reason=run.reason if status != ExecRun.SUCCEEDED else "",
        data=data,
    )
