"""ORM reads on the hottest paths, compiled once per process and thread.

Django builds and compiles a query's SQL on every call. In the control pool that was about a
third of its CPU in the unattended loop (py-spy, docs/perf/loop.md): a dozen small selectors
(the latest plan, the live approval, the verified run, …) each compiled per delivery.

`@prepared` takes a function that builds a QuerySet from its arguments and calls it once,
with an `Arg` placeholder in place of each argument; the compiled SQL is kept and each call
runs it with that call's values. The rows are read by the QuerySet's own iterable (model
instances with their select_related rows, values, values_list), with the same converters.

The function may place its arguments only where a value goes in the SQL (a filter's value,
an annotation's operand); it must not branch on them or slice by them: it runs once, with
placeholders. A value goes to the driver as given: pass a primary key, not an instance.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from django.db.models import Expression, QuerySet
from django.db.transaction import TransactionManagementError


class Arg(Expression):
    """An argument of a prepared query: a placeholder the call's value fills."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", (_Slot(self.name),)

    def __repr__(self):
        return f"Arg({self.name!r})"


class _Slot:
    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name


class _Compiled:
    """One thread's compiled query: the QuerySet whose compiler answers with the SQL built
    on first use and the current call's values."""

    def __init__(self, queryset: QuerySet):
        if queryset._prefetch_related_lookups:
            raise TypeError("a prepared query cannot prefetch_related")
        compiler = queryset.query.get_compiler(using=queryset.db)
        # as_sql() also fills the compiler's select list, klass_info and annotation map,
        # which the iterable reads after every execution: they stay as built here.
        self.sql, self.template = compiler.as_sql()
        self.locks = bool(queryset.query.select_for_update)
        self.connection = compiler.connection
        self.params: tuple = ()
        compiler.as_sql = lambda *args, **kwargs: (self.sql, self.params)
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        self.queryset = queryset

    def rows(self, values: dict[str, Any]) -> list:
        if self.locks and self.connection.get_autocommit():
            # What the ORM checks while compiling, which these calls skip.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        self.params = tuple(values[p.name] if isinstance(p, _Slot) else p for p in self.template)
        try:
            return list(self.queryset._iterable_class(self.queryset))
        finally:
            self.params = ()


class Prepared:
    """A query-building function compiled once per thread and database alias; calling it
    returns the list of rows (see the module's docstring)."""

    def __init__(self, build: Callable[..., QuerySet]):
        functools.update_wrapper(self, build)
        self.build = build
        self.names = tuple(inspect.signature(build).parameters)
        self.local = threading.local()

    def _compiled(self) -> _Compiled:
        compiled = getattr(self.local, "compiled", None)
        if compiled is None:
            placeholders = {name: Arg(name) for name in self.names}
            compiled = _Compiled(self.build(**placeholders))
            self.local.compiled = compiled
        return compiled

    def __call__(self, *args, **kwargs) -> list:
        # Not inspect.Signature.bind: it cost as much as the rest of a call.
        values = dict(zip(self.names, args, strict=False)) | kwargs
        if len(args) > len(self.names) or values.keys() != set(self.names):
            raise TypeError(f"{self.build.__name__}() takes the arguments {self.names}")
        return self._compiled().rows(values)

    def first(self, *args, **kwargs):
        """The first row, or None (build the query with its order and `[:1]`)."""
        rows = self(*args, **kwargs)
        return rows[0] if rows else None


def prepared(build: Callable[..., QuerySet]) -> Prepared:
    return Prepared(build)
