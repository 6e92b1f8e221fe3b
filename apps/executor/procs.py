"""An attempt's processes on this host: mark them, tie them to their worker, kill them all.

Every process a step attempt starts carries `AIOPS_ATTEMPT_TOKEN=<message id>` in its
environment. fork, setsid and exec keep the environment, so a child that left the step's
process group (setsid) or its process tree (double fork) is still found by reading
/proc/<pid>/environ. `kill_attempt` SIGKILLs every process carrying the token, plus the
attempt's process group, and repeats until none is left: that is how an attempt is known
to be gone before it is retried. The attempt's direct child also dies with the worker
process that started it (`die_with_parent`: PR_SET_PDEATHSIG).

Limits: only processes of this host (this PID namespace, `host_id`) can be seen; a process
that re-execs itself with a cleared environment (`env -i`) drops the token and is then found
only while it stays in the attempt's process group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import time

TOKEN_VAR = "AIOPS_ATTEMPT_TOKEN"  # noqa: S105 - a variable name, not a secret
KILL_TIMEOUT_S = 5.0
PR_SET_PDEATHSIG = 1

_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork, not in the child


def host_id() -> str:
    """Where an attempt's processes can be seen from: the hostname and the PID namespace
    (two containers may share a hostname but never see each other's processes)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:")
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()}:{namespace}"[:255]


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22), or None
    when there is no such process. With the pid it names one process, even after pid reuse."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def die_with_parent(parent_pid: int):
    """A `preexec_fn`: the child gets SIGKILL when the thread that started it dies. It exits at
    once if that parent died before the request took effect (it would never be signalled)."""

    def preexec():
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(137)

    return preexec


def kill_attempt(
    token: str,
    *,
    pgid: int | None = None,
    start: int | None = None,
    grace: float = 0.0,
    timeout: float = KILL_TIMEOUT_S,
) -> list[int]:
    """Kill every process of the attempt `token` on this host; return those still alive after
    `timeout` ([] = the attempt is gone). Its processes are those carrying the token and, with
    `pgid`, the members of that process group — unless the group's leader pid now belongs to
    another process than the one started at `start`. With `grace` they get SIGTERM first."""
    marker = f"{TOKEN_VAR}={token}".encode()
    if pgid is not None and start is not None and start_time(pgid) not in (None, start):
        pgid = None  # the pid was reused: that group is not ours
    if grace > 0:
        _signal_all(_members(marker, pgid), signal.SIGTERM)
        end = time.monotonic() + grace
        while time.monotonic() < end and _members(marker, pgid):
            time.sleep(0.05)
    end = time.monotonic() + timeout
    while True:
        alive = _members(marker, pgid)
        if not alive or time.monotonic() > end:
            return alive
        # Repeated: a process may fork between the scan and the kill; its child shows next time.
        _signal_all(alive, signal.SIGKILL)
        time.sleep(0.02)


def tokens_here() -> set[str]:
    """The tokens carried by live processes on this host (of this deployment and others)."""
    prefix = f"{TOKEN_VAR}=".encode()
    return {
        entry[len(prefix) :].decode(errors="replace")
        for pid in _live_pids()
        for entry in _environ(pid)
        if entry.startswith(prefix)
    }


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _members(marker: bytes, pgid: int | None) -> list[int]:
    """Live processes carrying `marker` in their environment or in group `pgid`."""
    return [
        pid
        for pid, fields in _live_pids().items()
        if (pgid is not None and int(fields[2]) == pgid) or marker in _environ(pid)
    ]


def _live_pids() -> dict[int, list[str]]:
    """pid → /proc stat fields of every other process that is neither gone nor a zombie
    (dead, waiting to be reaped: nothing left to run)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            fields = _stat(int(entry))
            if fields and fields[0] not in ("Z", "X"):
                found[int(entry)] = fields
    return found


def _environ(pid: int) -> list[bytes]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as environ:
            return environ.read().split(b"\0")
    except OSError:  # exited meanwhile, or another user's process (not ours to kill)
        return []


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; [] when the process does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return []
    return text[text.rindex(")") + 2 :].split()  # the name in (...) may contain spaces
