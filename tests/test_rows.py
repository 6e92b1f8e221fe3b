"""aiops.rows writes and reads the same values the ORM would, and its lock is a real row lock."""

import psycopg
import pytest
from django.db import connection, transaction
from django.db.models.expressions import DatabaseDefault
from django.test.utils import CaptureQueriesContext

from aiops import rows
from apps.cases.models import CaseTimeline, OpsCase, Outbox


@pytest.mark.django_db
def test_an_inserted_row_reads_back_through_the_orm_as_written(new_case):
    case = new_case(labels={"finding": "latency", "n": 3})
    entry = rows.insert(
        CaseTimeline(
            case=case,
            event="note",
            from_state="NEW",
            to_state="NEW",
            actor="t",
            data={"nested": {"ok": True}, "list": [1, "two"]},
        )
    )

    stored = CaseTimeline.objects.get(pk=entry.pk)
    assert entry.pk is not None and not entry._state.adding
    assert stored.data == {"nested": {"ok": True}, "list": [1, "two"]}
    assert (stored.case_id, stored.event, stored.actor) == (case.pk, "note", "t")
    assert stored.created_at == entry.created_at  # the model's default, set once


@pytest.mark.django_db
def test_a_field_left_to_its_database_default_gets_it():
    with transaction.atomic():
        event = Outbox(type="evt.test", subject="s", source="urn:t", data={})
        field = Outbox._meta.get_field("resends")
        # What the constructor sets for a field with a database default and no default.
        event.resends = DatabaseDefault(field.db_default, output_field=field)
        rows.insert(event)

    assert Outbox.objects.get(pk=event.pk).resends == 0


@pytest.mark.django_db
def test_an_update_writes_only_the_named_columns_and_moves_auto_now(new_case):
    case = new_case()
    before = OpsCase.objects.get(pk=case.pk)
    case.version = 41
    case.title = "not written"

    rows.update(case, ("version", "updated_at"))

    after = OpsCase.objects.get(pk=case.pk)
    assert after.version == 41
    assert after.title == before.title
    assert after.updated_at > before.updated_at


@pytest.mark.django_db
def test_a_locked_row_reads_as_the_orm_reads_it(new_case):
    case = new_case(labels={"finding": "latency"}, params={"replicas": 3})

    with transaction.atomic():
        locked = rows.lock(OpsCase, str(case.pk))

    orm = OpsCase.objects.get(pk=case.pk)
    for field in OpsCase._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(orm, field.attname), field.name
    assert locked.labels == {"finding": "latency"}
    assert not locked._state.adding


@pytest.mark.django_db
def test_a_conditional_update_writes_only_a_row_that_still_holds_the_expected_values(new_case):
    case = new_case()
    case.title = "first"
    assert rows.update(case, ("title",), expect={"state": case.state}) == 1
    case.title = "second"
    assert rows.update(case, ("title",), expect={"state": "CLOSED"}) == 0

    assert OpsCase.objects.get(pk=case.pk).title == "first"


@pytest.mark.django_db
def test_a_row_read_without_a_lock_is_the_row_the_orm_reads(new_case):
    case = new_case(labels={"finding": "latency"})

    read = rows.get(OpsCase, case.pk)

    orm = OpsCase.objects.get(pk=case.pk)
    for field in OpsCase._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert rows.get(OpsCase, "00000000-0000-4000-8000-000000000000") is None


@pytest.mark.django_db
def test_found_rows_come_with_their_related_row_as_select_related_gives_them(new_case):
    case = new_case(labels={"finding": "latency"})
    other = new_case()
    for target in (case, case, other):
        rows.insert(CaseTimeline(case=target, event="note", from_state="NEW", to_state="NEW"))

    found = rows.find(CaseTimeline, "case", case.pk, related="case")

    orm = CaseTimeline.objects.filter(case=case).select_related("case")
    assert sorted(e.pk for e in found) == sorted(e.pk for e in orm)
    for entry in found:
        stored = CaseTimeline.objects.get(pk=entry.pk)
        for field in CaseTimeline._meta.concrete_fields:
            assert getattr(entry, field.attname) == getattr(stored, field.attname), field.name
        assert entry.case.labels == {"finding": "latency"}
    assert (
        rows.find(CaseTimeline, "case", "00000000-0000-4000-8000-000000000000", related="case")
        == []
    )


@pytest.mark.django_db(transaction=True)
def test_a_lock_with_its_related_row_reads_it_and_locks_only_its_own(new_case, operator):
    case = new_case()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other, transaction.atomic():
        locked = rows.lock(OpsCase, str(case.pk), related="created_by")
        other.execute("SELECT 1 FROM auth_user WHERE id = %s FOR UPDATE NOWAIT", [operator.pk])
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT 1 FROM ops_case WHERE id = %s FOR UPDATE NOWAIT", [case.pk])

    with CaptureQueriesContext(connection) as queries:
        assert locked.created_by.username == operator.username
    assert len(queries) == 0


@pytest.mark.django_db
def test_a_lock_with_a_null_related_row_attaches_none():
    case = OpsCase.objects.create(title="t", service="s", environment="e", created_by=None)

    with transaction.atomic():
        locked = rows.lock(OpsCase, str(case.pk), related="created_by")

    assert locked.pk == case.pk and locked.created_by is None


@pytest.mark.django_db
def test_locking_a_missing_row_gives_none():
    with transaction.atomic():
        assert rows.lock(OpsCase, "00000000-0000-4000-8000-000000000000") is None


@pytest.mark.django_db(transaction=True)
def test_a_locked_row_cannot_be_locked_by_another_transaction_until_commit(new_case):
    case = new_case()
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        with transaction.atomic():
            rows.lock(OpsCase, str(case.pk))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM ops_case WHERE id = %s FOR UPDATE NOWAIT", [case.pk])
        other.execute("SELECT 1 FROM ops_case WHERE id = %s FOR UPDATE NOWAIT", [case.pk])


@pytest.mark.django_db
def test_update_where_changes_only_the_rows_that_match_as_the_orm_would(new_case):
    case, other = new_case(), new_case()
    for target in (case, case, other):
        rows.insert(CaseTimeline(case=target, event="note", from_state="NEW", to_state="NEW"))
    CaseTimeline.objects.filter(case=case, event="note").update(reason="kept")
    CaseTimeline.objects.filter(case=case, event="note").first().delete()
    expected = CaseTimeline.objects.filter(case=case, request_id="", event__in=["note", "x"])

    count = rows.update_where(
        CaseTimeline,
        {"actor": "swept", "data": {"why": "test"}},
        {"case": case.pk, "event": ("note", "x"), "request_id": ""},
    )

    assert count == 1 == expected.count()
    swept = CaseTimeline.objects.filter(actor="swept")
    assert [(e.case_id, e.data, e.reason) for e in swept] == [(case.pk, {"why": "test"}, "kept")]


@pytest.mark.django_db
def test_update_where_with_null_fields_skips_rows_where_they_are_set():
    published, waiting = (
        rows.insert(Outbox(type="evt.test", subject="rows-test", source="urn:t", data={}))
        for _ in range(2)
    )
    Outbox.objects.filter(pk=published.pk).update(published_at=published.time)

    count = rows.update_where(
        Outbox, {"last_error": "stale"}, {"subject": "rows-test"}, null=("published_at",)
    )

    assert count == 1
    assert Outbox.objects.get(pk=waiting.pk).last_error == "stale"
    assert Outbox.objects.get(pk=published.pk).last_error == ""


@pytest.mark.django_db
def test_pks_where_gives_the_primary_keys_the_orm_filter_gives(new_case):
    case, other = new_case(), new_case()

    found = rows.pks_where(OpsCase, {"state": ("NEW", "PARKED"), "service": "checkout"})

    orm = OpsCase.objects.filter(state__in=["NEW", "PARKED"], service="checkout")
    assert found == sorted(orm.values_list("pk", flat=True))
    assert set(found) == {case.pk, other.pk}
    assert rows.pks_where(OpsCase, {"service": "none"}) == []


@pytest.mark.django_db
def test_select_where_reads_the_matching_rows_in_key_order_as_the_orm_does(new_case):
    case, other = new_case(), new_case()
    for target in (other, case, case):
        rows.insert(CaseTimeline(case=target, event="note", from_state="NEW", to_state="NEW"))

    found = rows.select_where(CaseTimeline, {"case": case.pk, "event": ("note", "create")})

    orm = list(CaseTimeline.objects.filter(case=case, event__in=["note", "create"]).order_by("pk"))
    assert [e.pk for e in found] == [e.pk for e in orm] and len(found) == 3
    for entry, stored in zip(found, orm, strict=True):
        for field in CaseTimeline._meta.concrete_fields:
            assert getattr(entry, field.attname) == getattr(stored, field.attname), field.name


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def _event(**fields) -> Outbox:
    return rows.insert(Outbox(type="evt.test", subject="s", source="urn:t", data={}, **fields))


@pytest.mark.django_db(transaction=True)
def test_a_bookkeeping_update_alone_commits_without_waiting_for_the_flush():
    event = _event()

    with CaptureQueriesContext(connection) as queries:
        changed = rows.update_where(
            Outbox, {"claimed_by": "relay-1"}, {"seq": event.seq}, bookkeeping=True
        )

    assert changed == 1
    assert Outbox.objects.get(seq=event.seq).claimed_by == "relay-1"
    assert "set_config('synchronous_commit', 'off', true)" in queries[0]["sql"]
    assert _synchronous_commit() == "on"  # for that statement only, not the session


@pytest.mark.django_db(transaction=True)
def test_a_bookkeeping_update_in_a_transaction_leaves_the_transaction_durable():
    with transaction.atomic():
        event = _event()
        with CaptureQueriesContext(connection) as queries:
            rows.update_where(
                Outbox, {"claimed_by": "relay-1"}, {"seq": event.seq}, bookkeeping=True
            )
        # The event inserted beside it must still commit durably.
        assert _synchronous_commit() == "on"
    assert "set_config" not in queries[0]["sql"]


@pytest.mark.django_db(transaction=True)
def test_a_relay_claim_alone_is_relaxed_and_in_a_transaction_is_not():
    from apps.cases import relay

    _event()
    with CaptureQueriesContext(connection) as alone:
        relay.relay_once(limit=1)
    _event()
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        relay.relay_once(limit=1)
        assert _synchronous_commit() == "on"

    claim = next(q["sql"] for q in alone if "claimed_until" in q["sql"])
    assert "set_config('synchronous_commit', 'off', true)" in claim
    assert not any("set_config" in q["sql"] for q in inside)


# rows.run keeps a psycopg cursor per connection instead of Django's wrapper: what the
# wrapper guarantees must still hold.


@pytest.mark.django_db
def test_a_failed_statement_raises_djangos_error_not_psycopgs(new_case):
    from django.db import IntegrityError

    case = new_case()
    sql = "INSERT INTO ops_case (id) SELECT id FROM ops_case WHERE id = %s"

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.run(sql, [case.pk], rows.COUNT)


@pytest.mark.django_db
def test_no_statement_runs_after_an_error_inside_an_atomic_block(new_case):
    from django.db import IntegrityError
    from django.db.transaction import TransactionManagementError

    case = new_case()
    with transaction.atomic():
        # Out of an inner block without a savepoint: Django marks the transaction broken.
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            rows.run("INSERT INTO ops_case (id) VALUES (%s)", [case.pk], rows.COUNT)
        with pytest.raises(TransactionManagementError):
            rows.run("SELECT 1", result=rows.ONE)


@pytest.mark.django_db(transaction=True)
def test_statements_go_on_over_a_new_connection_after_the_old_one_closed():
    assert rows.run("SELECT 1", result=rows.ONE) == (1,)
    before = connection.connection

    connection.close()

    assert rows.run("SELECT 2", result=rows.ONE) == (2,)
    assert connection.connection is not before


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_closed_is_replaced_before_the_next_request_uses_it():
    from django.db import close_old_connections

    rows.run("SELECT 1", result=rows.ONE)
    pid = rows.run("SELECT pg_backend_pid()", result=rows.ONE)[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])

    close_old_connections()  # what every request and task does first
    assert rows.run("SELECT pg_backend_pid()", result=rows.ONE)[0] != pid


@pytest.mark.django_db
def test_statements_are_seen_by_query_capture_and_execute_wrappers():
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries:
        rows.run("SELECT 1", result=rows.ONE)
    with connection.execute_wrapper(wrapper):
        rows.run("SELECT 2", result=rows.ONE)

    assert [q["sql"] for q in queries] == ["SELECT 1"]
    assert seen == ["SELECT 2"]
