from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "apps.kb"
    label = "kb"
    verbose_name = "Librarian"

    def ready(self):
        from celery import signals

        from apps.kb import handlers  # noqa: F401 — registers the subscriber

        signals.worker_process_init.connect(_preload_embedding, weak=False)


def _preload_embedding(**kwargs) -> None:
    """Each process of a Celery pool that plans or embeds loads the embedding model as it
    starts (apps.kb.embedding.preload), not on the first case it plans. The queues were chosen
    (-Q) in the pool's main process before it forked this one."""
    from celery import current_app
    from django.conf import settings

    from apps.kb import embedding

    queues = current_app.amqp.queues.consume_from
    if embedding.wants_preload(queues, enabled=settings.KB_PRELOAD):
        embedding.preload()
