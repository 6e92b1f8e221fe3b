from django.apps import AppConfig


class VerifierConfig(AppConfig):
    name = "apps.verifier"
    label = "verifier"
    verbose_name = "Verifier"
