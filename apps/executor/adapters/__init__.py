"""Adapters by name: the step's `adapter` field picks one.

Every module of this package that defines an `Adapter` subclass is an adapter; there is no
list to keep. `register_all()` (called by `ExecutorConfig.ready()`) puts each class's `spec`
into `aiops.registry` with the class as its implementation, and `get_adapter` looks names up
there — the same declarations the Planner's schema and risk table are built from.
"""

import importlib
import inspect
import pkgutil

from aiops import registry
from apps.executor.adapters.base import Adapter, StepError


def register_all() -> None:
    for module_info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            declared_here = cls.__module__ == module.__name__ and "spec" in vars(cls)
            if declared_here and issubclass(cls, Adapter):
                registry.register_adapter(cls.spec, implementation=cls)


def get_adapter(name: str) -> Adapter:
    try:
        implementation = registry.adapters.implementation(name)
    except KeyError:
        known = ", ".join(spec.name for spec in registry.adapter_specs())
        raise StepError(f"unknown adapter '{name}' (known: {known})", retryable=False) from None
    return implementation()
