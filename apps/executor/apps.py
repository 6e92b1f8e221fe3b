from django.apps import AppConfig


class ExecutorConfig(AppConfig):
    name = "apps.executor"
    label = "executor"
    verbose_name = "Executor"

    def ready(self):
        from apps.cases.guards import register_guard
        from apps.executor import (  # noqa: F401  (subscribers, worker signals)
            handlers,
            hostsweep,
            summary,
            tasks,
        )
        from apps.executor.adapters import register_all
        from apps.executor.guards import exec_done

        register_guard("exec_done", exec_done)
        register_all()
