"""Every plan the Planner stores carries the settings' defaults (AIOPS_STEP_TIMEOUT_S,
AIOPS_VERIFY_DELAY_S, AIOPS_VERIFY_WINDOW_S, AIOPS_VERIFY_NO_DATA) for what it leaves out."""

import pytest
from django.test import override_settings

from apps.cases.services import case_transition
from apps.planner.services import plan_generate
from tests.conftest import sample_plan

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "EXEC_DEFAULT_STEP_TIMEOUT_S": 45,
    "VERIFY_DEFAULT_DELAY_S": 15,
    "VERIFY_DEFAULT_WINDOW_S": 900,
    "VERIFY_DEFAULT_NO_DATA": "fail",
}


@pytest.fixture
def analyzing(new_case):
    case = new_case()
    case_transition(case_id=case.pk, event="start_analysis", actor="olga")
    return case


def test_a_template_plan_takes_the_settings_defaults(analyzing):
    with override_settings(**DEFAULTS):
        spec = plan_generate(case_id=analyzing.pk, actor="olga", template="restart").document
    spec = spec["spec"]
    assert (spec["verify"]["delay_s"], spec["verify"]["window_s"]) == (15, 900)
    assert {check["no_data"] for check in spec["verify"]["checks"]} == {"fail"}
    restart, wait = spec["steps"]
    assert restart["timeout_s"] == 45
    assert wait["timeout_s"] == 600  # the template's own choice for a rollout wait


def test_template_params_still_win_over_the_defaults(analyzing):
    params = {"verify_delay_s": 0, "verify_window_s": 120}
    with override_settings(**DEFAULTS):
        plan = plan_generate(case_id=analyzing.pk, actor="olga", template="restart", params=params)
    assert (
        plan.document["spec"]["verify"]["delay_s"],
        plan.document["spec"]["verify"]["window_s"],
    ) == (0, 120)


def test_a_hand_written_plan_takes_the_settings_defaults(analyzing):
    document = sample_plan(
        verify={
            "checks": [
                {
                    "name": "p95",
                    "metric": "http_p95_ms",
                    "aggregate": "p95",
                    "operator": "<",
                    "threshold": 300,
                }
            ]
        }
    )
    del document["spec"]["steps"][0]["timeout_s"]
    with override_settings(**DEFAULTS):
        spec = plan_generate(case_id=analyzing.pk, actor="olga", document=document).document["spec"]
    assert (spec["verify"]["delay_s"], spec["verify"]["window_s"]) == (15, 900)
    assert spec["verify"]["checks"][0]["no_data"] == "fail"
    assert spec["steps"][0]["timeout_s"] == 45
    assert spec["rollback"][0]["timeout_s"] == 30  # the plan's own value
