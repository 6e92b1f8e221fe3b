from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "apps.gate"
    label = "gate"
    verbose_name = "Gatekeeper"

    def ready(self):
        from apps.cases import autopilot
        from apps.cases.guards import register_guard
        from apps.gate import handlers  # noqa: F401 — registers the subscribers
        from apps.gate.guards import gate_approved
        from apps.gate.selectors import autopilot_for

        register_guard("gate_approved", gate_approved)
        autopilot.register(autopilot_for)
