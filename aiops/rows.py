"""Single-row reads and writes for the hottest paths, without compiling a query per call.

Every case transition locks the case row, updates it, and inserts a timeline and an outbox
row. Through the ORM each of those builds and compiles a query on every call, which took
as long as the round trips themselves (docs/perf/transitions.md). Here the SQL of each
(model, columns) is built once per process from the model's metadata, and values pass
through each field's own `pre_save` (auto_now) and `get_db_prep_save` (JSON, UUID, aware
datetimes) on the way in and its converters on the way out: the same values the ORM would
send and return. No model signals are sent: no model written here has receivers.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import AutoFieldMixin


# Identifiers come from model metadata (quoted), never from input; values are parameters
# (S608 below).
def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def insert(obj: Model) -> Model:
    """INSERT an unsaved instance (its defaults set by its constructor) in the caller's
    transaction; sets its generated primary key. A field left to its database default is
    left out of the statement."""
    fields = [
        f for f in _writable(type(obj)) if not isinstance(getattr(obj, f.attname), DatabaseDefault)
    ]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(type(obj), tuple(f.attname for f in fields)), values)
        pk = cursor.fetchone()[0]
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def update(obj: Model, names: tuple[str, ...]) -> None:
    """UPDATE the columns `names` of a saved instance's row from its attributes (as
    `save(update_fields=names)`; an auto_now field among them is set now)."""
    meta = obj._meta
    fields = [meta.get_field(name) for name in names]
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(obj), names), [*values, obj.pk])


def lock(model: type[Model], pk) -> Model | None:
    """SELECT … FOR UPDATE one row by primary key (caller's transaction): the instance, or
    None when there is no such row."""
    sql, attnames, converters = _lock_sql(model)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, expression, functions in converters:
        for convert in functions:
            values[i] = convert(values[i], expression, connection)
    return model.from_db(connection.alias, attnames, values)


@functools.cache
def _writable(model: type[Model]) -> tuple:
    return tuple(
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, AutoFieldMixin))
    )


@functools.cache
def _insert_sql(model: type[Model], attnames: tuple[str, ...]) -> str:
    meta = model._meta
    columns = ", ".join(_quote(meta.get_field(name).column) for name in attnames)
    marks = ", ".join(["%s"] * len(attnames))
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608


@functools.cache
def _update_sql(model: type[Model], names: tuple[str, ...]) -> str:
    meta = model._meta
    sets = ", ".join(f"{_quote(meta.get_field(name).column)} = %s" for name in names)
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    return f"UPDATE {table} SET {sets} WHERE {pk} = %s"  # noqa: S608


@functools.cache
def _lock_sql(model: type[Model]) -> tuple[str, list[str], list]:
    meta = model._meta
    fields = meta.concrete_fields
    columns = ", ".join(_quote(f.column) for f in fields)
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    sql = f"SELECT {columns} FROM {table} WHERE {pk} = %s FOR UPDATE"  # noqa: S608
    converters = []
    for i, field in enumerate(fields):
        expression = field.get_col(meta.db_table)
        functions = connection.ops.get_db_converters(expression) + field.get_db_converters(
            connection
        )
        if functions:
            converters.append((i, expression, functions))
    return sql, [f.attname for f in fields], converters
