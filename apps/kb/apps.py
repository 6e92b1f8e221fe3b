from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "apps.kb"
    label = "kb"
    verbose_name = "Librarian"

    def ready(self):
        from celery import signals

        from apps.cases import relayd
        from apps.kb import handlers  # noqa: F401 — registers the subscriber

        signals.worker_process_init.connect(_preload_embedding, weak=False)
        relayd.process_starting.connect(_preload_for_relay, weak=False)


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


def _preload_for_relay(**kwargs) -> None:
    """The relay process applies the Planner's deliveries, whose knowledge lookup embeds the
    query: it loads the model as it starts, in the background, as the control pool's
    processes do, not on the first case it plans with every other event waiting behind it."""
    from django.conf import settings

    from apps.kb import embedding

    if settings.KB_PRELOAD:
        embedding.preload()
