"""The step runner: runs one claimed step attempt in a Celery worker.

Claim (short transaction) → adapter outside any transaction, with a heartbeat thread that
renews the lease and watches for cancellation → logs to the log store → record (short
transaction, which queues what comes next). A redelivered message finds its attempt
already claimed and does nothing. On SIGTERM the attempt gets EXEC_DRAIN_SECONDS to finish;
after that it is stopped and handed back to the queue, so a restarting worker never takes
a half-known step down with it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from django.conf import settings
from django.db import connection

from apps.executor import logstore, secretrefs, services
from apps.executor.adapters import get_adapter
from apps.executor.adapters.base import (
    Context,
    Outcome,
    StepCancelled,
    StepError,
    StepSpec,
    StepTimeout,
)
from apps.executor.models import ExecStep

log = logging.getLogger(__name__)

# The attempt running in this process (one at a time per prefork child) and the drain flag.
_current: Context | None = None
_draining = threading.Event()


def execute(message_id: str, *, worker: str = "", chain_s: float = 0) -> str:
    """Run the attempt behind `message_id` once. Returns what happened, for logs and tests.

    With `chain_s`, the worker goes on with the run's next attempts for up to that many
    seconds: each is claimed in the transaction that records the one before (step_record's
    take_next), so it is as durable as a claim, without a trip through the broker. Past that
    time the next attempt is published, and other runs' steps get their turn."""
    worker = worker or f"pid-{os.getpid()}"
    step = services.step_claim(message_id, worker=worker)
    if step is None:
        log.info("step message %s already taken; duplicate delivery ignored", message_id)
        return "duplicate"
    until = time.monotonic() + chain_s
    # SIGTERM is held for the whole chain, so no attempt is claimed and then dropped.
    previous_handler = _install_drain_handler()
    try:
        while True:
            status, step = _attempt(step, worker=worker, chain_until=until)
            if step is None:
                return status
            if _draining.is_set():
                handed = services.step_hand_back(step)
                log.warning("worker draining: step %s handed back (%s)", step, handed)
                return status
    finally:
        _restore_handler(previous_handler)


def _attempt(step: ExecStep, *, worker: str, chain_until: float) -> tuple[str, ExecStep | None]:
    """Run one claimed attempt and record it; returns its status and the next attempt when
    the record claimed one for this worker (until `chain_until`, unless draining)."""
    global _current
    if step.run.cancel_requested:
        services.step_record(
            step, status=ExecStep.CANCELLED, error="run cancelled before the step started"
        )
        return ExecStep.CANCELLED, None
    ctx = Context(step.timeout_s)
    ctx.on_spawn = lambda pgid, start: _record_spawn(step, pgid, start)
    heartbeat = _Heartbeat(step, ctx)
    _current = ctx
    heartbeat.start()
    status, error, retryable, outcome = ExecStep.SUCCEEDED, "", True, Outcome()
    secrets: frozenset[str] = frozenset()
    try:
        # Only the adapter sees the values: the row keeps the references, and whatever the
        # attempt produced is redacted below before it is stored or emitted.
        params, secrets = secretrefs.resolve(step.params, secretrefs.lookup)
        spec = StepSpec(
            step_id=step.step_id,
            adapter=step.adapter,
            action=step.action,
            params=params,
            timeout_s=step.timeout_s,
            attempt=step.attempt,
            message_id=str(step.message_id),
            case_id=str(step.run.case_id),
            run_id=str(step.run_id),
            target=(step.run.document.get("spec") or {}).get("target") or {},
        )
        outcome = get_adapter(step.adapter).run(spec, ctx)
        if time.monotonic() > ctx.deadline + 1:
            status, error = ExecStep.TIMED_OUT, f"finished after its timeout of {step.timeout_s:g}s"
    except StepTimeout as exc:
        status, error, outcome = ExecStep.TIMED_OUT, str(exc), exc.outcome or outcome
    except StepCancelled as exc:
        outcome = exc.outcome or outcome
        if _draining.is_set() and not heartbeat.cancel_seen and not heartbeat.lost:
            heartbeat.stop()
            _current = None
            handed = services.step_hand_back(step)
            log.warning("worker draining: step %s handed back (%s)", step, handed)
            return "handed_back", None
        status, error = ExecStep.CANCELLED, str(exc)
    except StepError as exc:
        status, error, retryable = ExecStep.FAILED, str(exc), exc.retryable
        outcome = exc.outcome or outcome
    except Exception as exc:  # an adapter bug must still end the attempt, never hang the run
        log.exception("adapter %s crashed on %s", step.adapter, step)
        status, error = ExecStep.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        heartbeat.stop()
        _current = None
    # The error travels on into the step_finished event and the case's timeline.
    error = secretrefs.redact_text(error, secrets)
    refs = {}
    for stream, data in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        try:
            refs[stream] = logstore.save(
                run_id=step.run_id,
                step_pk=step.pk,
                stream=stream,
                data=secretrefs.redact_bytes(data, secrets),
            )
        except OSError as exc:  # a full disk must not strand the step in "running"
            log.error("could not store the %s of %s: %s", stream, step, exc)
            refs[stream] = ""
    chain = time.monotonic() < chain_until and not _draining.is_set()
    recorded, taken = services.step_record(
        step,
        status=status,
        result=secretrefs.redact(_jsonable(outcome.result), secrets),
        error=error,
        exit_code=outcome.exit_code,
        stdout_ref=refs["stdout"],
        stderr_ref=refs["stderr"],
        retryable=retryable,
        take_next=worker if chain else "",
    )
    return (status if recorded else "discarded"), taken


def _record_spawn(step: ExecStep, pgid: int, start: int | None) -> None:
    # Best effort: if it fails, the sweeper still finds the processes by the attempt's token.
    try:
        services.step_spawned(step, pgid=pgid, start=start)
    except Exception:
        log.exception("could not record the process group of %s", step)


class _Heartbeat(threading.Thread):
    """Renews the attempt's lease; stops the adapter if the run is cancelled or the lease
    was taken over by the sweeper. Uses (and closes) its own database connection."""

    def __init__(self, step: ExecStep, ctx: Context):
        super().__init__(daemon=True, name=f"heartbeat-{step.pk}")
        self.step, self.ctx = step, ctx
        self.interval = max(0.2, min(settings.EXEC_LEASE_SECONDS / 3, 2.0))
        self._halt = threading.Event()
        self.cancel_seen = self.lost = False

    def run(self):
        try:
            while not self._halt.wait(self.interval):
                try:
                    alive, cancel = services.step_heartbeat(self.step)
                except Exception:
                    log.exception("heartbeat of %s failed; the lease may lapse", self.step)
                    continue
                if not alive:
                    self.lost = True
                    self.ctx.cancel("the step's lease was lost and the step taken over")
                elif cancel:
                    self.cancel_seen = True
                    self.ctx.cancel("run cancelled: the case was parked")
        finally:
            connection.close()

    def stop(self):
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(5)


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))


# --- graceful drain ---
# Installed only while a step runs, over billiard's own SIGTERM handler (which would exit
# the pool process at once and strand the attempt until its lease expired).


def _install_drain_handler():
    if threading.current_thread() is not threading.main_thread():
        return None
    _draining.clear()
    return signal.signal(signal.SIGTERM, _on_sigterm)


def _restore_handler(previous) -> None:
    if previous is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, previous)


def _on_sigterm(signum, frame) -> None:
    ctx = _current
    if _draining.is_set():
        return
    _draining.set()  # between two attempts of a chain: the next one is handed back
    if ctx is None:
        return
    log.warning("SIGTERM: the running step may finish for up to %ss", settings.EXEC_DRAIN_SECONDS)
    timer = threading.Timer(settings.EXEC_DRAIN_SECONDS, ctx.cancel, args=["worker shutting down"])
    timer.daemon = True
    timer.start()
