"""The case page (/admin/cases/opscase/<id>/change/): what it shows, and its buttons calling
the services with the page's version as If-Match."""

import pytest
from django.contrib.auth.models import Group

from apps.cases.models import OpsCase
from apps.gate.models import PlanApproved
from tests import console_support as support
from tests.factories import deliver_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def policy(db):
    return support.seed_policy()


@pytest.fixture
def requester(db):
    return support.staff("olga", "operator")


@pytest.fixture
def pending(requester):
    return support.case_at_gate(requester)


def page_url(case) -> str:
    return f"/admin/cases/opscase/{case.pk}/change/"


def act(client, case, action: str, *, version=None, reason: str = ""):
    version = OpsCase.objects.get(pk=case.pk).version if version is None else version
    return client.post(
        f"/admin/cases/opscase/{case.pk}/act/",
        {"action": action, "version": str(version), "reason": reason},
        follow=True,
    )


def logged_in(client, user):
    client.force_login(user)
    return client


def state(case) -> str:
    return OpsCase.objects.get(pk=case.pk).state


def test_the_page_shows_the_state_the_plan_and_why_a_person_must_decide(client, pending):
    logged_in(client, support.staff("alma", "approver"))
    html = client.get(page_url(pending)).content.decode()
    assert 'id="case-state">WAIT_GATE' in html
    assert "say-hello" in html and "say-undo" in html  # steps and rollback
    assert "needs_human" in html
    assert "Requested by olga" in html
    assert 'value="approve"' in html and 'value="reject"' in html
    assert f'name="version" value="{OpsCase.objects.get(pk=pending.pk).version}"' in html


def test_a_viewer_sees_the_page_without_buttons(client, pending):
    logged_in(client, support.staff("vera", "viewer"))
    response = client.get(page_url(pending))
    assert response.status_code == 200
    assert 'name="action"' not in response.content.decode()


def test_a_viewer_posting_an_action_is_refused_and_nothing_changes(client, pending):
    logged_in(client, support.staff("vera", "viewer"))
    response = act(client, pending, "approve")
    assert response.status_code == 403
    assert not PlanApproved.objects.exists()


def test_a_viewer_cannot_park_cases_from_the_case_list(client, pending):
    logged_in(client, support.staff("vera", "viewer"))
    client.post(
        "/admin/cases/opscase/",
        {"action": "park_cases", "_selected_action": [str(pending.pk)]},
    )
    assert state(pending) == "WAIT_GATE"


def test_staff_without_a_role_cannot_open_the_page(client, pending):
    logged_in(client, support.staff("nobody"))
    assert client.get(page_url(pending)).status_code == 403


def test_approve_approves_through_the_gate_and_the_case_moves_on(client, pending):
    logged_in(client, support.staff("alma", "approver"))
    response = act(client, pending, "approve", reason="looks fine")
    assert "Approved" in response.content.decode()
    assert PlanApproved.objects.get(case=pending).approved_by == "alma"
    deliver_outbox()
    assert state(pending) == "EXECUTING"


def test_the_requester_approving_their_own_plan_is_refused_with_a_message(
    client, requester, pending
):
    requester.groups.add(Group.objects.get_or_create(name="approver")[0])
    logged_in(client, requester)
    response = act(client, pending, "approve")
    assert "cannot approve it" in response.content.decode()
    assert not PlanApproved.objects.exists()
    assert state(pending) == "WAIT_GATE"


def test_an_action_from_a_stale_page_changes_nothing_and_says_so(client, pending):
    logged_in(client, support.staff("alma", "approver"))
    seen = OpsCase.objects.get(pk=pending.pk).version
    response = act(client, pending, "approve", version=seen - 1)
    assert "the case changed while you were looking" in response.content.decode()
    assert not PlanApproved.objects.exists()
    assert state(pending) == "WAIT_GATE"


def test_reject_without_a_comment_is_refused(client, pending):
    logged_in(client, support.staff("alma", "approver"))
    response = act(client, pending, "reject")
    assert "needs a comment" in response.content.decode()
    assert state(pending) == "WAIT_GATE"


def test_reject_with_a_comment_parks_the_case(client, pending):
    logged_in(client, support.staff("alma", "approver"))
    act(client, pending, "reject", reason="not during the sale")
    deliver_outbox()
    assert state(pending) == "PARKED"


def test_an_operator_parks_the_case_with_a_reason(client, requester, pending):
    logged_in(client, requester)
    response = act(client, pending, "park", reason="wrong service")
    assert "the case is now PARKED" in response.content.decode()
    assert state(pending) == "PARKED"


def test_an_operator_cannot_approve(client, requester, pending):
    logged_in(client, support.staff("otto", "operator"))
    assert act(client, pending, "approve").status_code == 403
    assert not PlanApproved.objects.exists()


def test_a_verified_case_shows_its_steps_output_and_a_chart_per_check(client, requester):
    case = support.verified_case(requester, steps=2, checks=2)
    logged_in(client, requester)
    html = client.get(page_url(case)).content.decode()
    assert 'id="case-state">CLOSED' in html
    assert "<pre>hello 1\n</pre>" in html  # the step's output tail
    assert html.count('class="checkpoint-chart"') == 2
    assert html.count("<svg") >= 2
    assert "<script" not in html.split('id="verification"')[1].split("</section>")[0]
