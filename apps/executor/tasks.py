"""Thin Celery tasks of the executor: steps run on the "executor" queue, the beat sweep on the
control plane's (settings.CELERY_TASK_ROUTES); each execution worker also sweeps its own host
(apps.executor.hostsweep)."""

from celery import shared_task
from django.conf import settings

from aiops.sweeps import first_in_window
from apps.executor import hostsweep, runner, services


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_step(self, message_id: str) -> str:
    """Run one step attempt (the task id is the attempt's message id), and the run's next
    ones for up to EXEC_CHAIN_SECONDS."""
    return runner.execute(
        message_id, worker=self.request.hostname or "", chain_s=settings.EXEC_CHAIN_SECONDS
    )


@shared_task(ignore_result=True)
def sweep_steps() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): recover steps whose worker died, re-publish lost
    messages and publish deferred steps when due."""
    if not first_in_window("exec-sweep", settings.EXEC_SWEEP_SECONDS / 2):
        return {"lost": 0, "republished": 0}
    return services.sweep_steps(here=hostsweep.host_turn())
