from django.apps import AppConfig


class AnalystConfig(AppConfig):
    name = "apps.analyst"
    label = "analyst"
    verbose_name = "Analyst"
