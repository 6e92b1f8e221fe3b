"""The host's own sweep, in every execution worker (services.sweep_here).

A step's processes can be seen and killed only from the host (PID namespace) it ran on,
and the beat sweep runs on the control pool: under `make run` that is the same host, but on
Kubernetes or compose the control pod never sees an execution pod's processes. So each
execution worker's main process sweeps for its own host every EXEC_SWEEP_SECONDS, from a
thread: a dead pool process's attempt is killed, declared lost and (if idempotent) retried
there, and leftovers of attempts that are over are killed, without waiting for a message
behind the steps in the queue. Sweepers on one host take turns (host_turn).
"""

from __future__ import annotations

import logging
import threading

from celery import signals
from django.conf import settings
from django.db import connection

from aiops.sweeps import first_in_window
from apps.executor import procs

log = logging.getLogger(__name__)


class HostSweeper(threading.Thread):
    def __init__(self, every: float):
        super().__init__(daemon=True, name="exec-host-sweep")
        self.every = every
        self.halt = threading.Event()

    def run(self) -> None:
        from apps.executor import services

        while not self.halt.wait(self.every):
            try:
                if host_turn():
                    lost = services.sweep_here()
                    if lost:
                        log.warning("host sweep: %d attempt(s) of this host declared lost", lost)
            except Exception:  # the database away, say: the next round tries again
                log.exception("host sweep failed; retrying in %.0f s", self.every)
            finally:
                # No connection held between rounds: a pool process forked meanwhile would
                # inherit its socket (and one broken by a database restart is not reused).
                connection.close()

    def stop(self) -> None:
        self.halt.set()


_sweeper: HostSweeper | None = None


def host_turn() -> bool:
    """Is it this process's turn to sweep this host? One sweep per host per half interval,
    whoever asks: its execution workers, and beat's sweep when it runs on the same host (as
    under `make run`). Each reads every process's environment in /proc."""
    return first_in_window(f"exec-sweep:{procs.host_id()}", settings.EXEC_SWEEP_SECONDS / 2)


def consumes_exec_queue(consumer) -> bool:
    """Does this worker take steps (`-Q executor`, alone or among others)?"""
    return settings.EXEC_QUEUE in (consumer.app.amqp.queues.consume_from or {})


@signals.worker_ready.connect
def _start(sender=None, **kwargs) -> None:
    """In the main process of a worker that takes steps, once its pool is up."""
    global _sweeper
    if _sweeper is None and consumes_exec_queue(sender) and settings.EXEC_SWEEP_SECONDS > 0:
        _sweeper = HostSweeper(settings.EXEC_SWEEP_SECONDS)
        _sweeper.start()
        log.info("host sweep: every %.0f s for %s", settings.EXEC_SWEEP_SECONDS, procs.host_id())


@signals.worker_shutdown.connect
def _stop(**kwargs) -> None:
    if _sweeper is not None:
        _sweeper.stop()
