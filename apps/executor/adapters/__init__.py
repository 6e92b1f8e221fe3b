"""Adapters by name: the step's `adapter` field picks one."""

from apps.executor.adapters.base import Adapter, StepError


def get_adapter(name: str) -> Adapter:
    from apps.executor.adapters.echo import EchoAdapter
    from apps.executor.adapters.http import HttpAdapter
    from apps.executor.adapters.kubernetes import KubernetesAdapter
    from apps.executor.adapters.script import ScriptAdapter

    adapters = {a.name: a for a in (EchoAdapter, ScriptAdapter, KubernetesAdapter, HttpAdapter)}
    if name not in adapters:
        raise StepError(
            f"unknown adapter '{name}' (known: {', '.join(sorted(adapters))})", retryable=False
        )
    return adapters[name]()
