"""The adapter port: one small interface every executor adapter implements.

`run(step, ctx)` performs one attempt of one plan step and returns an `Outcome`. It runs in a
worker outside any transaction, must respect `ctx.deadline` (the attempt's timeout) and stop
promptly when `ctx.cancelled` is set (the run was cancelled or the worker is draining).
Raising `StepError` fails the attempt with a readable message; any other exception is
recorded as a failure too, but that is a bug in the adapter. An adapter that starts
processes reports their group with `ctx.spawned` and kills them all before it returns.

Each adapter class declares itself in its `spec` (`aiops.registry.AdapterSpec`: name, actions,
each action's params schema and risk points); that one declaration is what the executor looks
adapters up by and what the Planner's plan schema and risk table are built from.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiops.registry import AdapterSpec


class StepError(Exception):
    """An attempt failed. `retryable=False` skips the remaining retries (bad input, refused)."""

    def __init__(self, message: str, *, retryable: bool = True, exit_code: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.exit_code = exit_code
        self.outcome: Outcome | None = None  # what the attempt produced before failing


class StepTimeout(StepError):
    """The attempt ran past its timeout_s."""


class StepCancelled(StepError):
    """The attempt was stopped because the run was cancelled or the worker is draining."""


@dataclass
class StepSpec:
    """What an adapter needs from the exec_step row (kept free of the ORM)."""

    step_id: str
    adapter: str
    action: str
    params: dict
    timeout_s: float
    attempt: int
    message_id: str
    case_id: str
    run_id: str
    target: dict = field(default_factory=dict)


@dataclass
class Outcome:
    result: dict = field(default_factory=dict)
    exit_code: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""


@dataclass
class Preview:
    """A step as an approver should see it before it runs: one line, and the detail (the
    request, argv or diff) as JSON."""

    summary: str
    detail: dict = field(default_factory=dict)
    target: str = ""  # what the step touches: a Deployment, a host, a script


class Context:
    """The attempt's deadline and cancel flag, shared with the runner's heartbeat thread."""

    def __init__(self, timeout_s: float):
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s
        self.timeout_s = timeout_s
        self.cancelled = threading.Event()
        self.cancel_reason = ""
        # Set by the runner: records where the attempt's processes are, for the sweeper.
        self.on_spawn: Callable[[int, int | None], None] | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def cancel(self, reason: str) -> None:
        self.cancel_reason = reason
        self.cancelled.set()

    def spawned(self, pgid: int, start: int | None) -> None:
        """The attempt started process group `pgid`, its leader at `start` (/proc ticks)."""
        if self.on_spawn is not None:
            self.on_spawn(pgid, start)

    def check(self) -> None:
        """Raise StepCancelled / StepTimeout when the attempt must stop now."""
        if self.cancelled.is_set():
            raise StepCancelled(self.cancel_reason or "cancelled")
        if time.monotonic() >= self.deadline:
            raise StepTimeout(f"timed out after {self.timeout_s:g}s")

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking for cancel or the deadline (then raise)."""
        end = min(time.monotonic() + seconds, self.deadline)
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            self.cancelled.wait(min(left, 0.2))


class Adapter:
    spec: AdapterSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def run(self, step: StepSpec, ctx: Context) -> Outcome:  # pragma: no cover - interface
        raise NotImplementedError

    def preview(self, step: StepSpec, ctx: Context) -> Preview:
        """What `run` would do, found without changing anything (apps/executor/preview.py).
        Raises StepError when `run` would refuse the step. The default restates the step."""
        self.check_action(step)
        return Preview(summary=f"{self.name}.{step.action}", detail={"params": step.params})

    def check_action(self, step: StepSpec) -> None:
        if step.action not in self.spec.actions:
            raise StepError(
                f"adapter '{self.name}' has no action '{step.action}' "
                f"(known: {', '.join(self.spec.actions)})",
                retryable=False,
            )
