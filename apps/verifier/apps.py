from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "apps.verifier"
    label = "verifier"
    verbose_name = "Verifier"

    def ready(self):
        from apps.cases.guards import register_guard
        from apps.verifier import (
            handlers,  # noqa: F401 — registers the subscriber
            summary,  # noqa: F401 — its summary part and retention
        )
        from apps.verifier.guards import verify_pass
        from apps.verifier.sources import register_all

        register_guard("verify_pass", verify_pass)
        register_all()
