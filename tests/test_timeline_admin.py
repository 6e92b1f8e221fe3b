"""The timeline list in the admin: every case's rows, one case's with ?case=, and no full
count of a huge table (aiops/paginators.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aiops import paginators
from apps.cases.models import CaseTimeline
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_list_shows_one_case_s_rows_with_case_in_the_query(admin_client, operator):
    one = factories.new_case(operator, title="first case")
    factories.new_case(operator, title="second case")
    html = admin_client.get(f"/admin/cases/casetimeline/?case={one.pk}").content.decode()
    assert "first case" in html
    assert "second case" not in html


def test_an_unfiltered_large_table_is_not_counted(monkeypatch, operator):
    factories.new_case(operator)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE case_timeline")
    monkeypatch.setattr(paginators, "ESTIMATE_FROM", 0)
    with CaptureQueriesContext(connection) as captured:
        paginators.EstimatedCountPaginator(CaseTimeline.objects.order_by("-id"), 100).count
    assert not any("COUNT(" in query["sql"] for query in captured)


def test_a_filtered_list_is_counted_exactly(monkeypatch, operator):
    case = factories.new_case(operator)
    monkeypatch.setattr(paginators, "ESTIMATE_FROM", 0)
    rows = CaseTimeline.objects.filter(case=case).order_by("-id")
    assert paginators.EstimatedCountPaginator(rows, 100).count == 1
