"""Guards of FSM transitions, registered by the app that owns the facts they check.

A guard is `fn(case) -> str | None`: None lets the transition through, a string says why
not. It may read the database (inside the transition's transaction) but never does I/O
beyond it. A guard named in the workflow table with nothing registered refuses: closed
by default, so a missing module can never wave a case through.
"""

from collections.abc import Callable

GuardFn = Callable[[object], "str | None"]
_GUARDS: dict[str, GuardFn] = {}


def register_guard(name: str, fn: GuardFn) -> None:
    _GUARDS[name] = fn


def check_guard(name: str, case) -> str | None:
    fn = _GUARDS.get(name)
    if fn is None:
        return f"no guard '{name}' is installed"
    return fn(case)
