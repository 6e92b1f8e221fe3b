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

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault
from django.db.models.fields import AutoFieldMixin


# Identifiers come from model metadata (quoted), never from input; values are parameters
# (S608 below).
def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


# A CTE that makes the statement's own commit asynchronous (a statement that uses it joins
# `relaxed`, so that it runs once). set_config(..., true) lasts until the transaction ends,
# and its commit reads it: in autocommit that is the statement alone.
RELAXED = "relaxed AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true))"


def relaxed_commit(bookkeeping: bool = True) -> bool:
    """May the next statement commit without waiting for its WAL to reach the disk?

    Only bookkeeping a crash may lose, because it is done again after one: a relay's lease
    on outbox rows (lost: the rows are claimed again) and their published mark (lost: they
    are delivered again, and the inbox makes that a no-op). An event, a timeline row, a
    step attempt or an inbox row never: those commit durably before anyone acts on them.
    Each such write waited for a WAL flush of its own, in the loop's path (docs/perf/loop.md).

    And only in autocommit: inside a transaction the setting would reach its every write."""
    return bookkeeping and _db().get_autocommit()


ONE, ALL, COUNT = "one", "all", "count"


def run(sql: str, params=None, result: str = ALL):
    """Execute one statement on the default connection, in the caller's transaction or in
    autocommit; its first row (ONE, or None), its rows (ALL) or how many rows it touched
    (COUNT).

    Django's cursor wrapper costs about 40 µs a statement over psycopg's own (a cursor
    made and closed, its wrappers and checks): a tenth of a statement's client CPU, and a
    transition makes a dozen. Here each connection keeps one psycopg cursor, made by
    Django's backend (so with its timezone and binding), and what the wrapper guards is
    kept: the health check and connecting, the thread check, no statement after an error
    inside an atomic block, and Django's exceptions (IntegrityError, OperationalError, …)
    for psycopg's. While Django logs or wraps queries (DEBUG, assertNumQueries, an
    execute_wrapper) its own cursor is used, so they see these statements too."""
    db = _db()
    if db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return _result(cursor, result)
    cursor = _kept_cursor(db)
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor.execute(sql, params)
        return _result(cursor, result)


def _db():
    """The default connection itself: `django.db.connection` is a proxy that looks it up
    again on every attribute, and field conversions ask it several times a row."""
    return connections[DEFAULT_DB_ALIAS]


def _result(cursor, result: str):
    if result == ONE:
        return cursor.fetchone()
    if result == ALL:
        return cursor.fetchall()
    return cursor.rowcount


def _kept_cursor(db):
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    cursor = db.__dict__.get("_aiops_cursor")
    # A reconnect (age, a failed health check, close()) leaves the old one behind.
    if cursor is None or cursor.connection is not db.connection:
        with db.wrap_database_errors:
            cursor = db._aiops_cursor = db.create_cursor()
    return cursor


def insert(obj: Model) -> Model:
    """INSERT an unsaved instance (its defaults set by its constructor) in the caller's
    transaction; sets its generated primary key. A field left to its database default is
    left out of the statement."""
    fields = [
        f for f in _writable(type(obj)) if not isinstance(getattr(obj, f.attname), DatabaseDefault)
    ]
    db = _db()
    values = [f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields]
    obj.pk = run(_insert_sql(type(obj), tuple(f.attname for f in fields)), values, ONE)[0]
    obj._state.adding = False
    obj._state.db = db.alias
    return obj


def update(obj: Model, names: tuple[str, ...], *, expect: dict | None = None) -> int:
    """UPDATE the columns `names` of a saved instance's row from its attributes (as
    `save(update_fields=names)`; an auto_now field among them is set now). With `expect`
    ({field name: value}) only a row that still holds those values is updated: a conditional
    UPDATE, of which concurrent callers see one succeed. Returns the rows updated (0 or 1)."""
    meta = obj._meta
    fields = [meta.get_field(name) for name in names]
    db = _db()
    values = [f.get_db_prep_save(f.pre_save(obj, False), db) for f in fields]
    expect = expect or {}
    conditions = tuple(expect)
    for name, value in expect.items():
        values.append(meta.get_field(name).get_db_prep_value(value, db))
    return run(_update_sql(type(obj), names, conditions), [*values, obj.pk], COUNT)


def update_where(
    model: type[Model],
    values: dict,
    where: dict,
    *,
    null: tuple[str, ...] = (),
    bookkeeping: bool = False,
) -> int:
    """UPDATE the rows of `model` whose fields equal `where` ({field name: value}; a tuple
    value: one of) and whose `null` fields are null, setting `values` ({field name: value});
    returns the rows updated. As `filter(...).update(...)`, without compiling it per call.
    `bookkeeping`: a write a crash may lose (see relaxed_commit)."""
    meta = model._meta
    db = _db()
    params = [meta.get_field(name).get_db_prep_save(value, db) for name, value in values.items()]
    params += _where_params(model, where)
    sql = _update_where_sql(
        model, tuple(values), _where_key(where), null, relaxed_commit(bookkeeping)
    )
    return run(sql, params, COUNT)


def select_where(model: type[Model], where: dict) -> list[Model]:
    """The rows of `model` whose fields equal `where` (as update_where), in primary key
    order: `filter(...).order_by("pk")`, without compiling it per call."""
    sql = _select_where_sql(model, _where_key(where))
    return [_build(model, row) for row in run(sql, _where_params(model, where))]


def pks_where(model: type[Model], where: dict) -> list:
    """The primary keys of the rows of `model` whose fields equal `where` (as update_where)."""
    meta = model._meta
    sql = _pks_where_sql(model, _where_key(where))
    return [meta.pk.to_python(row[0]) for row in run(sql, _where_params(model, where))]


def lock(model: type[Model], pk, *, related: str | None = None) -> Model | None:
    """SELECT … FOR UPDATE one row by primary key (caller's transaction): the instance, or
    None when there is no such row. With `related` (a foreign key, may be null) the row it
    points to comes in the same statement, attached as `select_related` would; only the
    model's own row is locked."""
    return _select(model, pk, lock=True, related=related)


def get(model: type[Model], pk, *, related: str | None = None) -> Model | None:
    """SELECT one row by primary key, without a lock: the instance, or None (`related` as
    for lock)."""
    return _select(model, pk, lock=False, related=related)


def find(
    model: type[Model], field: str, value, *, related: str, extra: tuple[tuple[str, str], ...] = ()
) -> list[Model]:
    """The rows of `model` whose `field` equals `value`, each with the row its foreign key
    `related` (not null) points to joined and attached (as `select_related(related)`).
    `extra` adds (attribute, SQL expression) pairs to the select list, set on each row's
    instance: the expression is code, never input."""
    meta = model._meta
    sql, target = _find_sql(model, field, related, extra)
    found = run(sql, [meta.get_field(field).get_db_prep_value(value, _db())])
    width, other = len(_layout(model).attnames), len(_layout(target).attnames)
    out = []
    for row in found:
        obj = _build(model, row[:width])
        setattr(obj, related, _build(target, row[width : width + other]))
        for (name, _), value in zip(extra, row[width + other :], strict=True):
            setattr(obj, name, value)
        out.append(obj)
    return out


def _select(model: type[Model], pk, *, lock: bool, related: str | None = None) -> Model | None:
    sql = _select_sql(model, lock, related)
    row = run(sql, [model._meta.pk.get_db_prep_value(pk, _db())], ONE)
    if row is None:
        return None
    if related is None:
        return _build(model, row)
    width = len(_layout(model).attnames)
    obj = _build(model, row[:width])
    target = model._meta.get_field(related).related_model
    pk_at = _layout(target).attnames.index(target._meta.pk.attname)
    # A null foreign key joins no row: every joined column is NULL, the primary key too.
    joined = None if row[width + pk_at] is None else _build(target, row[width:])
    setattr(obj, related, joined)
    return obj


def columns(model: type[Model]) -> str:
    """Every concrete column of `model`, qualified, in the order build() takes them: for a
    statement of the caller's own (`… RETURNING {columns}`)."""
    return _layout(model).columns


def build(model: type[Model], row) -> Model:
    """An instance of `model` from a row of columns(model), as the ORM would read it."""
    return _build(model, row)


def _build(model: type[Model], row) -> Model:
    layout, db = _layout(model), _db()
    values = list(row)
    for i, expression, functions in layout.converters:
        for convert in functions:
            values[i] = convert(values[i], expression, db)
    return model.from_db(db.alias, layout.attnames, values)


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


def _where_key(where: dict) -> tuple[tuple[str, bool], ...]:
    return tuple((name, isinstance(value, tuple | list)) for name, value in where.items())


def _where_params(model: type[Model], where: dict) -> list:
    meta, params, db = model._meta, [], _db()
    for name, value in where.items():
        field = meta.get_field(name)
        if isinstance(value, tuple | list):
            params.append([field.get_db_prep_value(v, db) for v in value])
        else:
            params.append(field.get_db_prep_value(value, db))
    return params


def _where_sql(model: type[Model], key: tuple[tuple[str, bool], ...], null=()) -> str:
    meta = model._meta
    terms = [
        f"{_quote(meta.get_field(name).column)} = " + ("ANY(%s)" if many else "%s")
        for name, many in key
    ]
    terms += [f"{_quote(meta.get_field(name).column)} IS NULL" for name in null]
    return " AND ".join(terms)


@functools.cache
def _update_where_sql(model: type[Model], names: tuple[str, ...], key, null, relaxed) -> str:
    meta = model._meta
    sets = ", ".join(f"{_quote(meta.get_field(name).column)} = %s" for name in names)
    where = _where_sql(model, key, null)
    sql = f"UPDATE {_quote(meta.db_table)} SET {sets}"  # noqa: S608
    if relaxed:
        sql = f"WITH {RELAXED} {sql} FROM relaxed"
    return f"{sql} WHERE {where}"


@functools.cache
def _select_where_sql(model: type[Model], key) -> str:
    meta = model._meta
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    where = _where_sql(model, key)
    return f"SELECT {_layout(model).columns} FROM {table} WHERE {where} ORDER BY {pk}"  # noqa: S608


@functools.cache
def _pks_where_sql(model: type[Model], key) -> str:
    meta = model._meta
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    return f"SELECT {pk} FROM {table} WHERE {_where_sql(model, key)} ORDER BY {pk}"  # noqa: S608


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
def _select_sql(model: type[Model], lock: bool, related: str | None) -> str:
    meta = model._meta
    table, pk = _quote(meta.db_table), _quote(meta.pk.column)
    columns, joins = _layout(model).columns, ""
    if related is not None:
        target = meta.get_field(related).related_model
        columns = f"{columns}, {_layout(target).columns}"
        joins = f" LEFT JOIN {_quote(target._meta.db_table)} ON {_join(model, related)}"
    sql = f"SELECT {columns} FROM {table}{joins} WHERE {table}.{pk} = %s"  # noqa: S608
    return sql + (f" FOR UPDATE OF {table}" if lock else "")


@functools.cache
def _find_sql(
    model: type[Model], field: str, related: str, extra: tuple[tuple[str, str], ...]
) -> tuple[str, type[Model]]:
    meta = model._meta
    target = meta.get_field(related).related_model
    table, other = _quote(meta.db_table), _quote(target._meta.db_table)
    where = f"{table}.{_quote(meta.get_field(field).column)} = %s"
    columns = ", ".join(
        [_layout(model).columns, _layout(target).columns, *(sql for _, sql in extra)]
    )
    join = _join(model, related)
    return f"SELECT {columns} FROM {table} JOIN {other} ON {join} WHERE {where}", target  # noqa: S608


def _join(model: type[Model], related: str) -> str:
    """The ON condition from `model`'s table to the one its foreign key `related` names."""
    foreign = model._meta.get_field(related)
    target = foreign.related_model
    table, other = _quote(model._meta.db_table), _quote(target._meta.db_table)
    return f"{other}.{_quote(target._meta.pk.column)} = {table}.{_quote(foreign.column)}"
