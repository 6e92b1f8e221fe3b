"""No N+1 on the console: the case page and the dashboard read a fixed number of queries,
however many rows there are to show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.cases.services import case_park, case_transition
from tests import console_support as support
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def policy(db):
    return support.seed_policy()


@pytest.fixture
def requester(db):
    return support.staff("olga", "operator")


@pytest.fixture
def approver(client):
    client.force_login(support.staff("alma", "approver"))
    return client


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def page(case) -> str:
    return f"/admin/cases/opscase/{case.pk}/change/"


def test_the_case_page_of_a_long_case_reads_no_more_queries_than_a_short_one(
    approver, requester, django_assert_max_num_queries
):
    short = support.verified_case(requester, steps=1, checks=1)
    long = support.verified_case(requester, steps=10, checks=5, notes=50)
    approver.get(page(short))  # first request: session, policy, content types
    budget = queries(approver, page(short))
    with django_assert_max_num_queries(budget):
        html = approver.get(page(long)).content.decode()
    assert html.count('class="checkpoint-chart"') == 5
    assert html.count("<pre>hello") == 10
    assert "note 49" in html


def test_the_dashboard_with_200_cases_reads_no_more_queries_than_with_a_few(
    approver, requester, django_assert_max_num_queries
):
    support.case_at_gate(requester)
    support.verified_case(requester)
    approver.get("/admin/dashboard/")
    budget = queries(approver, "/admin/dashboard/")
    for i in range(200):
        case = factories.new_case(requester, title=f"case {i}")
        if i % 3 == 1:
            case_transition(case_id=case.pk, event="start_analysis", actor="olga")
        elif i % 3 == 2:
            case_park(case_id=case.pk, actor="olga", reason="bench")
    for _ in range(5):
        support.case_at_gate(requester)
    with django_assert_max_num_queries(budget):
        html = approver.get("/admin/dashboard/").content.decode()
    assert html.split('id="pending"')[1].split("</section>")[0].count("<tr><td><a") == 6
