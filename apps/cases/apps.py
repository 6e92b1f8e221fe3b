from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "apps.cases"
    label = "cases"
    verbose_name = "Orchestrator"

    def ready(self):
        from aiops.ops import register_collector
        from apps.cases import handlers  # noqa: F401 — registers the subscribers
        from apps.cases.metrics import OutboxCollector

        register_collector(OutboxCollector())
