"""The dashboard (/admin/dashboard/): what it counts, and flipping the kill switch and the
autopilot through the Gatekeeper's services (approvers only)."""

import pytest

from apps.cases.services import case_transition
from apps.gate.models import GatePolicy, KillSwitch
from apps.gate.selectors import autopilot_for, kill_switch
from tests import console_support as support
from tests import factories

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/dashboard/"


@pytest.fixture(autouse=True)
def policy(db):
    return support.seed_policy()


@pytest.fixture
def approver(client):
    client.force_login(support.staff("alma", "approver"))
    return client


@pytest.fixture
def viewer(client):
    client.force_login(support.staff("vera", "viewer"))
    return client


def test_it_lists_a_pending_approval_linking_to_its_case_page(approver):
    case = support.case_at_gate(support.staff("olga", "operator"))
    html = approver.get(DASHBOARD).content.decode()
    section = html.split('id="pending"')[1].split("</section>")[0]
    assert f"/admin/cases/opscase/{case.pk}/change/" in section
    assert "<td>olga</td>" in section  # who requested the plan


def test_it_counts_open_cases_by_state(approver):
    user = support.staff("olga", "operator")
    for _ in range(3):
        factories.new_case(user)
    started = factories.new_case(user)
    case_transition(case_id=started.pk, event="start_analysis", actor="olga")
    html = approver.get(DASHBOARD).content.decode()
    section = html.split('id="open-cases"')[1]
    assert "NEW</span></a></td>\n          <td>3</td>" in section
    assert "ANALYZING</span></a></td>\n          <td>1</td>" in section


def test_an_approver_engages_the_kill_switch_and_the_page_says_who(approver):
    approver.post(DASHBOARD + "kill-switch", {"action": "engage", "reason": "incident 42"})
    switch = kill_switch()
    assert switch.engaged and switch.changed_by == "alma"
    approver.post(DASHBOARD + "kill-switch", {"action": "lift"})
    approver.post(DASHBOARD + "kill-switch", {"action": "engage", "reason": "incident 43"})
    html = approver.get(DASHBOARD).content.decode()
    assert "Engaged by alma" in html and "incident 43" in html
    flips = html.split('id="kill-switch-flips"')[1].split("</ul>")[0]
    assert flips.count("<li>") == 3 and "lifted by alma" in flips


def test_engaging_the_kill_switch_without_a_reason_is_refused(approver):
    response = approver.post(DASHBOARD + "kill-switch", {"action": "engage"}, follow=True)
    assert "Nothing was changed" in response.content.decode()
    assert not kill_switch().engaged


def test_a_viewer_cannot_flip_the_kill_switch(viewer):
    response = viewer.post(DASHBOARD + "kill-switch", {"action": "engage", "reason": "x"})
    assert response.status_code == 403
    assert not KillSwitch.objects.filter(engaged=True).exists()


def test_an_approver_sets_an_environment_s_autopilot_as_a_new_policy_version(approver):
    before = GatePolicy.objects.count()
    approver.post(DASHBOARD + "autopilot", {"environment": "staging", "mode": "low_risk"})
    assert autopilot_for("staging") == "low_risk"
    assert autopilot_for("prod") == "manual"
    newest = GatePolicy.objects.order_by("-version").first()
    assert GatePolicy.objects.count() == before + 1
    assert newest.created_by == "alma"
    assert newest.comment == "autopilot of staging: manual → low_risk"


def test_setting_the_mode_an_environment_has_adds_no_policy_version(approver):
    before = GatePolicy.objects.count()
    approver.post(DASHBOARD + "autopilot", {"environment": "staging", "mode": "manual"})
    assert GatePolicy.objects.count() == before


def test_the_autopilot_table_says_who_set_each_mode(approver):
    approver.post(DASHBOARD + "autopilot", {"environment": "staging", "mode": "supervised"})
    html = approver.get(DASHBOARD).content.decode()
    rows = html.split('id="autopilot"')[1].split("</table>")[0].split("<tr>")
    staging = next(row for row in rows if "<td>staging</td>" in row)
    prod = next(row for row in rows if "<td>prod</td>" in row)
    assert "supervised" in staging and "alma" in staging
    assert "alma" not in prod and "test" in prod


def test_an_unknown_autopilot_mode_is_refused_and_nothing_changes(approver):
    before = GatePolicy.objects.count()
    response = approver.post(
        DASHBOARD + "autopilot", {"environment": "staging", "mode": "yolo"}, follow=True
    )
    assert "Nothing was changed" in response.content.decode()
    assert GatePolicy.objects.count() == before


def test_a_viewer_cannot_set_the_autopilot(viewer):
    response = viewer.post(DASHBOARD + "autopilot", {"environment": "staging", "mode": "low_risk"})
    assert response.status_code == 403
    assert autopilot_for("staging") == "manual"


def test_a_viewer_sees_the_dashboard_without_switches(viewer):
    html = viewer.get(DASHBOARD).content.decode()
    assert 'id="kill-switch-form"' not in html
    assert "Approvers flip the kill switch" in html


def test_the_success_rate_counts_cases_whose_change_the_gate_approved_by_itself(approver):
    user = support.staff("olga", "operator")
    support.verified_case(user)  # staging: low risk, approved by the policy, verified
    html = approver.get(DASHBOARD).content.decode()
    section = html.split('id="outcomes"')[1].split("</table>")[0]
    assert '<td class="big">100 %</td>' in section
