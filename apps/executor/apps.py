from django.apps import AppConfig


class ExecutorConfig(AppConfig):
    name = "apps.executor"
    label = "executor"
    verbose_name = "Executor"
