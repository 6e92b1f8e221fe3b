"""script: runs an allow-listed executable by NAME from settings.AIOPS_SCRIPT_DIR.

params: name (a file name in the directory — no "/", no "..", no leading "."), args (a list
of strings/numbers passed as argv, never through a shell; an item may be a secretRef in the
plan, resolved by the runner before this adapter sees it). The child gets a sanitized
environment, its own session (process group), capped stdout/stderr. Every process of the
attempt carries its token (apps.executor.procs) and the child dies with the worker process
that started it; when the attempt ends — exit, timeout or cancel — every process carrying the
token or left in its group is killed (SIGTERM, then SIGKILL on timeout or cancel), children
that escaped with setsid or a double fork included, and the attempt is over only once none
is left.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
from pathlib import Path

from django.conf import settings

from aiops.registry import ActionSpec, AdapterSpec, secret_ok
from apps.executor import procs
from apps.executor.adapters.base import (
    Adapter,
    Context,
    Outcome,
    Preview,
    StepCancelled,
    StepError,
    StepSpec,
    StepTimeout,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
KILL_GRACE_S = 2.0


def resolve_script(name) -> Path:
    """The executable for `name`, or StepError (not retryable) saying why it is refused."""
    if not isinstance(name, str) or not name:
        raise StepError("script param 'name' must be a non-empty string", retryable=False)
    if "/" in name or "\\" in name or ".." in name or not NAME_RE.match(name):
        raise StepError(
            f"script name {name!r} is refused: use a plain file name from the script directory "
            "(letters, digits, '.', '_', '-'; no '/', '..' or shell characters)",
            retryable=False,
        )
    directory = Path(settings.AIOPS_SCRIPT_DIR).resolve()
    path = (directory / name).resolve()
    if path.parent != directory or not path.is_file():
        raise StepError(f"script {name!r} is not in {directory}", retryable=False)
    if not os.access(path, os.X_OK):
        raise StepError(f"script {name!r} is not executable", retryable=False)
    return path


def check_args(args) -> list[str]:
    if args is None:
        return []
    if not isinstance(args, list):
        raise StepError("script param 'args' must be a list", retryable=False)
    out = []
    for arg in args:
        if isinstance(arg, bool) or not isinstance(arg, (str, int, float)):
            raise StepError("script args must be strings or numbers", retryable=False)
        if "\0" in str(arg):
            raise StepError("script args must not contain NUL", retryable=False)
        out.append(str(arg))
    return out


class _CappedReader(threading.Thread):
    """Drains a pipe to the end (so the child never blocks) keeping the first `cap` bytes."""

    def __init__(self, pipe, cap: int):
        super().__init__(daemon=True)
        self.pipe, self.cap = pipe, cap
        self.data = bytearray()
        self.truncated = False

    def run(self):
        for chunk in iter(lambda: self.pipe.read(65536), b""):
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
            if len(chunk) > room:
                self.truncated = True
        self.pipe.close()

    def output(self) -> bytes:
        return bytes(self.data) + (b"\n[output truncated]\n" if self.truncated else b"")


class ScriptAdapter(Adapter):
    spec = AdapterSpec(
        name="script",
        description="an allow-listed executable by name from AIOPS_SCRIPT_DIR",
        actions={
            "run": ActionSpec(
                risk=20,
                description="run the script `name` with argv `args` (no shell)",
                params_schema={
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": NAME_RE.pattern},
                        # an argument may be a secretRef, the script's name may not
                        "args": {
                            "type": "array",
                            "items": secret_ok({"type": ["string", "number"]}),
                        },
                    },
                },
            )
        },
    )

    def preview(self, step: StepSpec, ctx: Context) -> Preview:
        """The argv `run` would exec, from the same checks; nothing is started."""
        self.check_action(step)
        path = resolve_script(step.params.get("name"))
        argv = [str(path), *check_args(step.params.get("args"))]
        return Preview(
            summary=f"run {shlex.join(argv)}",
            detail={"argv": argv, "cwd": str(path.parent)},
            target=path.name,
        )

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        self.check_action(step)
        path = resolve_script(step.params.get("name"))
        argv = [str(path), *check_args(step.params.get("args"))]
        env = {
            "PATH": SAFE_PATH,
            "LANG": "C.UTF-8",
            "HOME": str(path.parent),
            "AIOPS_CASE_ID": step.case_id,
            "AIOPS_RUN_ID": step.run_id,
            "AIOPS_STEP_ID": step.step_id,
            "AIOPS_ATTEMPT": str(step.attempt),
            "AIOPS_MESSAGE_ID": step.message_id,
            procs.TOKEN_VAR: step.message_id,
        }
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=path.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
            preexec_fn=procs.die_with_parent(os.getpid()),
        )
        started = procs.start_time(proc.pid)
        ctx.spawned(proc.pid, started)
        cap = settings.EXEC_LOG_MAX_BYTES
        readers = [_CappedReader(proc.stdout, cap), _CappedReader(proc.stderr, cap)]
        for reader in readers:
            reader.start()
        stop: StepError | None = None
        while proc.poll() is None:
            try:
                ctx.check()
            except (StepTimeout, StepCancelled) as exc:
                stop = exc
                break
            ctx.cancelled.wait(0.05)
        # On exit too: whatever the script left behind dies with the step.
        survivors = procs.kill_attempt(
            step.message_id, pgid=proc.pid, start=started, grace=KILL_GRACE_S if stop else 0
        )
        proc.wait()
        for reader in readers:
            reader.join(5)
        outcome = Outcome(
            result={"argv": argv[1:], "exit_code": proc.returncode},
            exit_code=proc.returncode,
            stdout=readers[0].output(),
            stderr=readers[1].output(),
        )
        if survivors:
            error = StepError(
                f"processes {survivors} of the step survived SIGKILL; not retried while they "
                "may still run",
                retryable=False,
                exit_code=proc.returncode,
            )
            error.outcome = outcome
            raise error
        if stop is not None:
            stop.exit_code = proc.returncode
            stop.outcome = outcome
            raise stop
        if proc.returncode != 0:
            error = StepError(
                f"script exited with code {proc.returncode}", exit_code=proc.returncode
            )
            error.outcome = outcome
            raise error
        return outcome
