"""Thin Celery tasks of the executor; all routed to the "executor" queue."""

from celery import shared_task

from apps.executor import runner, services


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_step(self, message_id: str) -> str:
    """Run one step attempt (the task id is the attempt's message id)."""
    return runner.execute(message_id, worker=self.request.hostname or "")


@shared_task(ignore_result=True)
def sweep_steps() -> dict:
    """Periodic (CELERY_BEAT_SCHEDULE): recover steps whose worker died."""
    return services.sweep_steps()
