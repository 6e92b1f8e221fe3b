from django.apps import AppConfig


class KbConfig(AppConfig):
    name = "apps.kb"
    label = "kb"
    verbose_name = "Librarian"

    def ready(self):
        from apps.kb import handlers  # noqa: F401 — registers the subscriber
