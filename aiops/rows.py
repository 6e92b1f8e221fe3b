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
from typing import NamedTuple

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


def update(obj: Model, names: tuple[str, ...], *, expect: dict | None = None) -> int:
    """UPDATE the columns `names` of a saved instance's row from its attributes (as
    `save(update_fields=names)`; an auto_now field among them is set now). With `expect`
    ({field name: value}) only a row that still holds those values is updated: a conditional
    UPDATE, of which concurrent callers see one succeed. Returns the rows updated (0 or 1)."""
    meta = obj._meta
    fields = [meta.get_field(name) for name in names]
    values = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in fields]
    expect = expect or {}
    conditions = tuple(expect)
    for name, value in expect.items():
        values.append(meta.get_field(name).get_db_prep_value(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(type(obj), names, conditions), [*values, obj.pk])
        return cursor.rowcount


def lock(model: type[Model], pk) -> Model | None:
    """SELECT … FOR UPDATE one row by primary key (caller's transaction): the instance, or
    None when there is no such row."""
    return _select(model, pk, lock=True)


def get(model: type[Model], pk) -> Model | None:
    """SELECT one row by primary key, without a lock: the instance, or None."""
    return _select(model, pk, lock=False)


def find(model: type[Model], field: str, value, *, related: str) -> list[Model]:
    """The rows of `model` whose `field` equals `value`, each with the row its foreign key
    `related` (not null) points to joined and attached (as `select_related(related)`)."""
    meta = model._meta
    sql, target = _find_sql(model, field, related)
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.get_field(field).get_db_prep_value(value, connection)])
        found = cursor.fetchall()
    width = len(_layout(model).attnames)
    out = []
    for row in found:
        obj = _build(model, row[:width])
        setattr(obj, related, _build(target, row[width:]))
        out.append(obj)
    return out


def _select(model: type[Model], pk, *, lock: bool) -> Model | None:
    sql = _select_sql(model, lock)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    return None if row is None else _build(model, row)


def _build(model: type[Model], row) -> Model:
    layout = _layout(model)
    values = list(row)
    for i, expression, functions in layout.converters:
        for convert in functions:
            values[i] = convert(values[i], expression, connection)
    return model.from_db(connection.alias, layout.attnames, values)


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
def _update_sql(model: type[Model], names: tuple[str, ...], conditions: tuple[str, ...]) -> str:
    meta = model._meta
    sets = ", ".join(f"{_quote(meta.get_field(name).column)} = %s" for name in names)
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    where = [f"{_quote(meta.get_field(name).column)} = %s" for name in conditions]
    where = " AND ".join([*where, f"{pk} = %s"])
    return f"UPDATE {table} SET {sets} WHERE {where}"  # noqa: S608


class _Layout(NamedTuple):
    columns: str  # "table"."column", … of every concrete field
    attnames: list[str]
    converters: list  # (index, expression, converter functions) where a field has any


@functools.cache
def _layout(model: type[Model]) -> _Layout:
    meta = model._meta
    fields = meta.concrete_fields
    table = _quote(meta.db_table)
    columns = ", ".join(f"{table}.{_quote(f.column)}" for f in fields)
    converters = []
    for i, field in enumerate(fields):
        expression = field.get_col(meta.db_table)
        functions = connection.ops.get_db_converters(expression) + field.get_db_converters(
            connection
        )
        if functions:
            converters.append((i, expression, functions))
    return _Layout(columns, [f.attname for f in fields], converters)


@functools.cache
def _select_sql(model: type[Model], lock: bool) -> str:
    meta = model._meta
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    sql = f"SELECT {_layout(model).columns} FROM {table} WHERE {pk} = %s"  # noqa: S608
    return sql + (" FOR UPDATE" if lock else "")


@functools.cache
def _find_sql(model: type[Model], field: str, related: str) -> tuple[str, type[Model]]:
    meta = model._meta
    foreign = meta.get_field(related)
    target = foreign.related_model
    table, other = _quote(meta.db_table), _quote(target._meta.db_table)
    join = f"{other}.{_quote(target._meta.pk.column)} = {table}.{_quote(foreign.column)}"
    where = f"{table}.{_quote(meta.get_field(field).column)} = %s"
    columns = f"{_layout(model).columns}, {_layout(target).columns}"
    return f"SELECT {columns} FROM {table} JOIN {other} ON {join} WHERE {where}", target  # noqa: S608
