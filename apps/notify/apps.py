from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "apps.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self):
        from apps.notify import handlers  # noqa: F401 — registers the subscribers
