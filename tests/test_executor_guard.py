import pytest

from apps.cases.exceptions import GuardFailed
from apps.cases.services import case_transition
from tests.conftest import drive_to_executing, drive_to_verifying

pytestmark = pytest.mark.django_db


def test_drive_to_verifying_puts_the_case_in_verifying(new_case):
    case = drive_to_verifying(new_case())
    assert case.state == "VERIFYING"


def test_exec_done_is_refused_without_a_succeeded_run(new_case):
    case = drive_to_executing(new_case())
    with pytest.raises(GuardFailed):
        case_transition(case_id=case.pk, event="exec_done", actor="olga")
