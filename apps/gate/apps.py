from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "apps.gate"
    label = "gate"
    verbose_name = "Gatekeeper"

    def ready(self):
        from apps.cases.guards import register_guard
        from apps.gate.guards import gate_approved

        register_guard("gate_approved", gate_approved)
