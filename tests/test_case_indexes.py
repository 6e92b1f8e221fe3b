"""What a transition must keep up to date: every index on ops_case is written by each one
(the state column is indexed, so no update is heap-only), and a timeline row goes into every
index on case_timeline. At a million cases each is another random page (docs/perf)."""

import uuid

import pytest
from django.db import connection

from apps.cases.models import CaseTimeline

pytestmark = pytest.mark.django_db


def indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def columns(definition: str) -> tuple[str, ...]:
    """The key columns of a CREATE INDEX statement, in order."""
    inside = definition.split("(", 1)[1].rsplit(")", 1)[0]
    return tuple(part.strip().split()[0] for part in inside.split(","))


def test_no_case_index_is_a_like_prefix_one_no_query_uses():
    for table in ("ops_case", "case_timeline"):
        assert not [d for d in indexes(table).values() if "pattern_ops" in d], table


def test_no_case_index_leads_with_the_same_columns_as_another():
    for table in ("ops_case", "case_timeline"):
        keys = [columns(d) for d in indexes(table).values() if " WHERE " not in d]
        for key in keys:
            covered = [other for other in keys if other != key and other[: len(key)] == key]
            assert not covered, f"{table}: {key} is the start of {covered}"


def test_a_cases_timeline_is_still_read_by_index():
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # an empty table: ask which index serves
        sql, params = (
            CaseTimeline.objects.filter(case_id=uuid.uuid4()).order_by("id").query.sql_with_params()
        )
        cursor.execute("EXPLAIN " + sql, params)
        explained = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_timeline_case_id_idx" in explained


def test_the_states_the_sweeps_and_lists_filter_on_are_still_indexed():
    assert ("state",) in [columns(d) for d in indexes("ops_case").values()]
