from django.apps import AppConfig


class AiopsConfig(AppConfig):
    """The project package as an app: it owns cross-cutting commands, tasks and models."""

    name = "aiops"
    label = "aiops"
    verbose_name = "Platform"

    def ready(self):
        # Every Django process (web, worker, shell, tests) sends tasks through the configured
        # Celery app; importing it here binds the apps' @shared_task to it.
        from aiops import celery  # noqa: F401
