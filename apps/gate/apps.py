from django.apps import AppConfig


class GateConfig(AppConfig):
    name = "apps.gate"
    label = "gate"
    verbose_name = "Gatekeeper"

    def ready(self):
        from aiops import registry
        from apps.cases import autopilot
        from apps.cases.guards import register_guard
        from apps.gate import (
            handlers,  # noqa: F401 — registers the subscribers
            summary,  # noqa: F401 — its summary part and retention
        )
        from apps.gate.guards import gate_approved
        from apps.gate.selectors import autopilot_for, on_verify_fail_for, target_violations

        register_guard("gate_approved", gate_approved)
        autopilot.register(autopilot_for)
        autopilot.register_on_verify_fail(on_verify_fail_for)
        registry.register_target_check(target_violations)
