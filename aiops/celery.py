"""The Celery app (`celery -A aiops worker|beat` finds it here).

Importing it starts nothing. A worker or beat process prepares itself (aiops.bootstrap) when
Celery asks it to import its task modules, just before Celery's Django fixup sets Django up.
"""

import logging
import os
import time

from celery import Celery, signals

from aiops import bootstrap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops.settings")


# Connected before the app exists, so that it runs before the receiver Celery's Django fixup
# connects when the app is made (receivers run in the order they were connected). Only the
# worker and beat send import_modules; web and shell processes were prepared by their own
# entry point.
@signals.import_modules.connect
def _prepare_process(**kwargs) -> None:
    bootstrap.prepare()


# The relay's own task runs once per commit that wrote an event a subscriber wants, a
# hundred times a second under load; Celery's "received" and "succeeded" lines for it were
# most of the worker log, and hid the lines about work. Its failures are still logged
# (ERROR), and what it relays is counted (outbox_published_total).
QUIET_TASKS = frozenset({"apps.cases.tasks.relay_outbox"})


class _QuietTasks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args  # Celery logs these lines with a dict: the task's name and id
        return not (
            record.levelno == logging.INFO
            and isinstance(args, dict)
            and args.get("name") in QUIET_TASKS
        )


for _logger in ("celery.app.trace", "celery.worker.strategy"):
    logging.getLogger(_logger).addFilter(_QuietTasks())


@signals.worker_init.connect
@signals.beat_init.connect
def _serve_metrics(**kwargs) -> None:
    """A worker's (or beat's) counters, from its main process (aiops.metrics)."""
    from aiops.metrics import serve_process_metrics

    serve_process_metrics()


@signals.worker_process_init.connect
def _freeze_heap(**kwargs) -> None:
    """Each pool process, once forked with every task module loaded: no full collection
    walks the start-up heap in the middle of a task (aiops.warm)."""
    from aiops import warm

    warm.freeze()


@signals.task_prerun.connect
def _check_database_connection(task=None, **kwargs) -> None:
    """Before each task, as before each request: drop a connection that is past
    DB_CONN_MAX_AGE, left in a transaction or broken by an error (it is pinged first), so
    that a task never inherits a dead one from the last. Celery's fixup, told to reuse
    connections (settings.CELERY_DB_REUSE_MAX), no longer closes them after every task."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inside the caller's transaction
    from django.db import close_old_connections

    close_old_connections()


@signals.before_task_publish.connect
def _stamp_sent_at(headers=None, **kwargs) -> None:
    """Every message says when it was sent: the sweeps read the oldest waiting one to tell
    work still queued from work lost (aiops.backoff.oldest_waiting)."""
    if headers is not None:
        from aiops.backoff import SENT_AT

        headers[SENT_AT] = time.time()


app = Celery("aiops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
