"""aiops.prepared: a query compiled once answers each call with that call's values, and
reads the same rows, values and related rows the ORM would."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aiops.prepared import prepared
from apps.cases.models import CaseTimeline, OpsCase


@prepared
def _latest_note(case_id):
    return CaseTimeline.objects.filter(case_id=case_id, event="note").order_by("-id")[:1]


@prepared
def _events_since(case_id, since):
    return (
        CaseTimeline.objects.filter(case_id=case_id, created_at__gte=since)
        .order_by("id")
        .values_list("event", flat=True)
    )


@prepared
def _with_case(entry_id):
    return CaseTimeline.objects.select_related("case").filter(pk=entry_id)


@prepared
def _locked(case_id):
    return OpsCase.objects.select_for_update().filter(pk=case_id)


def _note(case, text):
    return CaseTimeline.objects.create(
        case=case,
        event="note",
        from_state=case.state,
        to_state=case.state,
        actor="t",
        data={"text": text},
    )


@pytest.mark.django_db
def test_each_call_answers_with_its_own_values(new_case):
    first, second = new_case(), new_case()
    one, two = _note(first, "one"), _note(second, "two")

    assert _latest_note.first(first.pk) == one
    assert _latest_note.first(second.pk) == two
    assert _latest_note.first(first.pk).data == {"text": "one"}  # the JSON field's converter ran


@pytest.mark.django_db
def test_a_call_with_no_matching_row_returns_none(new_case):
    assert _latest_note.first(new_case().pk) is None


@pytest.mark.django_db
def test_it_reads_what_the_orm_reads(new_case):
    case = new_case()
    _note(case, "x")
    since = timezone.now() - timedelta(minutes=5)

    expected = list(
        CaseTimeline.objects.filter(case_id=case.pk, created_at__gte=since)
        .order_by("id")
        .values_list("event", flat=True)
    )
    assert _events_since(case.pk, since=since) == expected
    assert "note" in expected
    assert _events_since(case.pk, since=timezone.now() + timedelta(minutes=5)) == []


@pytest.mark.django_db
def test_select_related_rows_come_attached(new_case):
    case = new_case(title="attached")
    entry = _note(case, "x")

    with CaptureQueriesContext(connection) as queries:
        (found,) = _with_case(entry.pk)
        assert found.case.title == "attached"
    assert len(queries) == 1


@pytest.mark.django_db
def test_the_sql_is_compiled_once_per_thread(new_case):
    case = new_case()
    _latest_note(case.pk)
    compiled = _latest_note.local.compiled

    _latest_note(new_case().pk)
    assert _latest_note.local.compiled is compiled

    seen = []
    thread = threading.Thread(target=lambda: seen.append(_latest_note._compiled()))
    thread.start()
    thread.join()
    assert seen[0] is not compiled  # another thread compiles its own


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused_every_time(new_case):
    case = new_case()
    with transaction.atomic():
        assert _locked(case.pk) == [case]

    for _ in range(2):
        with pytest.raises(TransactionManagementError):
            _locked(case.pk)


def test_a_prefetching_query_is_refused():
    @prepared
    def prefetching(case_id):
        return OpsCase.objects.filter(pk=case_id).prefetch_related("timeline")

    with pytest.raises(TypeError, match="prefetch_related"):
        prefetching(1)


@pytest.mark.django_db
def test_an_annotated_query_reads_its_annotation(new_case):
    case = new_case()
    _note(case, "a")
    _note(case, "b")

    @prepared
    def counted(case_id):
        return OpsCase.objects.filter(pk=case_id).annotate(n=Count("timeline"))

    (found,) = counted(case.pk)
    assert found.n == CaseTimeline.objects.filter(case=case).count()


def test_a_call_missing_or_adding_an_argument_is_refused():
    for args, kwargs in [((), {}), ((1, 2), {}), ((1,), {"other": 2})]:
        with pytest.raises(TypeError, match="takes the arguments"):
            _latest_note(*args, **kwargs)
