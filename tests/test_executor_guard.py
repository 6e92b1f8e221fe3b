import pytest
from django.db import transaction

from apps.cases.exceptions import GuardFailed
from apps.cases.services import fire, lock_case
from tests.conftest import drive_to_executing, drive_to_verifying

pytestmark = pytest.mark.django_db


def test_drive_to_verifying_puts_the_case_in_verifying(new_case):
    case = drive_to_verifying(new_case())
    assert case.state == "VERIFYING"


def test_exec_done_is_refused_without_a_succeeded_run(new_case):
    case = drive_to_executing(new_case())
    with transaction.atomic(), pytest.raises(GuardFailed):
        fire(lock_case(case.pk), "exec_done", actor="system:orchestrator")
