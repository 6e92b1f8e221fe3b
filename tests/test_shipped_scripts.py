"""Attack: the shipped script directory gives a plan nothing to turn against the host.

Test helpers once shipped in ops-scripts/: an operator's auto-approved `dev` plan ran one
with the admin's credentials file as its argument and any viewer read the step output;
another appended arbitrary text to arbitrary paths. With the default settings (the repo's
ops-scripts/, no AIOPS_SCRIPT_DIR) each former helper is refused and has no effect.
"""

import re
import subprocess
import sys

import pytest

from apps.cases.models import CaseTimeline
from apps.executor import logstore
from apps.executor.models import ExecStep
from apps.executor.services import exec_start
from tests import factories
from tests.conftest import plan_step, sample_plan
from tests.support import ROOT, child_env

pytestmark = pytest.mark.django_db

SHIPPED = ROOT / "ops-scripts"
SECRET = "admin password hunter2-s3cret"

# Each former helper with the arguments that would read the secret or write the target.
FORMER_HELPERS = {
    "append-line": lambda secret, target: [str(target), "pwned"],
    "echo-args": lambda secret, target: [str(secret)],
    "flaky": lambda secret, target: [str(secret), "0"],
    "fail": lambda secret, target: ["1", str(secret)],
    "sleep": lambda secret, target: ["0"],
    "spawn-and-sleep": lambda secret, target: [str(target), "0"],
}


def test_the_default_script_directory_is_the_shipped_one():
    env = child_env()
    del env["AIOPS_SCRIPT_DIR"]
    out = subprocess.run(
        [sys.executable, "-c", "from aiops import settings; print(settings.AIOPS_SCRIPT_DIR)"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == str(SHIPPED)


def test_the_shipped_directory_holds_exactly_the_documented_scripts():
    shipped = {p.name for p in SHIPPED.iterdir()} - {"README.md"}
    documented = set(re.findall(r"^\| `([^`]+)` \|", (SHIPPED / "README.md").read_text(), re.M))
    assert shipped == documented
    assert not shipped & set(FORMER_HELPERS)


@pytest.mark.parametrize("name", sorted(FORMER_HELPERS))
def test_a_dev_plan_naming_a_former_helper_is_refused_without_effect(
    name, settings, operator, viewer_api, tmp_path
):
    settings.AIOPS_SCRIPT_DIR = SHIPPED
    secret = tmp_path / "admin-credentials.txt"
    secret.write_text(SECRET + "\n")
    target = tmp_path / "written"
    args = FORMER_HELPERS[name](secret, target)
    plan = sample_plan(
        steps=[plan_step("attack", "script", "run", params={"name": name, "args": args})]
    )
    case = factories.new_case(operator, environment="dev")
    case = factories.drive_to_executing(case, operator, plan)  # dev: approved unattended
    exec_start(case_id=case.pk, actor=operator.username)
    while factories.run_queued_steps():
        factories.deliver_outbox()

    step = ExecStep.objects.get(run__case=case, step_id="attack")
    assert step.status == "failed"
    assert f"script {name!r} is not in {SHIPPED}" in step.error
    assert step.attempt == 1  # a refusal is not retried
    assert CaseTimeline.objects.filter(case=case, event="exec_failed").exists()
    assert secret.read_text() == SECRET + "\n"
    assert not target.exists()
    stored = logstore.read(step.stdout_ref) + logstore.read(step.stderr_ref)
    shown = viewer_api.get(f"/adapter/steps/{step.pk}/output").json()
    assert SECRET not in stored + shown["stdout"] + shown["stderr"]
