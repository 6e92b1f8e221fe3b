"""Gate policy evaluation, one rule at a time, without a database."""

from datetime import UTC, datetime

import pytest

from apps.gate.policy import (
    APPROVED,
    NEEDS_HUMAN,
    REJECTED,
    PlanFacts,
    Policy,
    evaluate,
    validate_document,
)

# Tuesday 2026-11-24 11:00 in Berlin (10:00 UTC): inside prod's window, no freeze.
IN_WINDOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
IN_FREEZE = datetime(2026, 12, 22, 10, 0, tzinfo=UTC)

DOCUMENT = {
    "approval_ttl_minutes": 240,
    "environments": {
        "staging": {
            "auto_approve_max": 40,
            "reject_min": 90,
            "four_eyes": False,
            "autopilot": "low_risk",
        },
        "prod": {
            "autopilot": "low_risk",
            "auto_approve_max": 20,
            "reject_min": 80,
            "four_eyes": True,
            "timezone": "Europe/Berlin",
            "change_windows": [
                {"days": ["mon", "tue", "wed", "thu"], "start": "09:00", "end": "16:00"}
            ],
            "freezes": [
                {"start": "2026-12-21T00:00", "end": "2027-01-04T00:00", "reason": "year end"}
            ],
            "targets": {"actions": ["kubernetes.*", "echo.*"], "kubernetes_namespaces": ["prod"]},
        },
    },
}


def policy(cedar="", **environment_changes):
    document = {**DOCUMENT, "environments": {**DOCUMENT["environments"]}}
    document["environments"]["prod"] = {**DOCUMENT["environments"]["prod"], **environment_changes}
    return Policy.from_document(3, document, cedar)


def prod(risk=10, **facts):
    return PlanFacts(environment="prod", service="checkout", risk=risk, requester="olga", **facts)


def test_low_risk_in_window_is_approved():
    decision = evaluate(prod(10), policy(), IN_WINDOW)
    assert decision.decision == APPROVED
    assert decision.reasons == ["risk 10 ≤ auto-approve maximum 20 for prod"]


def test_risk_between_the_thresholds_needs_a_human():
    decision = evaluate(prod(50), policy(), IN_WINDOW)
    assert decision.decision == NEEDS_HUMAN
    assert "above the auto-approve maximum 20" in decision.reasons[0]


def test_risk_at_the_reject_threshold_is_rejected():
    decision = evaluate(prod(80), policy(), IN_WINDOW)
    assert decision.decision == REJECTED
    assert decision.reasons == ["risk 80 ≥ reject threshold 80 for prod"]


def test_risk_exactly_at_the_auto_approve_maximum_is_approved():
    assert evaluate(prod(20), policy(), IN_WINDOW).decision == APPROVED


def test_environment_not_in_the_allow_list_is_rejected():
    facts = PlanFacts(environment="moon", service="checkout", risk=0)
    decision = evaluate(facts, policy(), IN_WINDOW)
    assert decision.decision == REJECTED
    assert decision.reasons == ["environment 'moon' is not allowed (allowed: prod, staging)"]


def test_outside_a_change_window_is_rejected():
    decision = evaluate(prod(10), policy(), EVENING)
    assert decision.decision == REJECTED
    assert "outside the change windows of prod" in decision.reasons[0]
    assert "Tue 20:00 CET" in decision.reasons[0]  # said in the environment's time zone


def test_outside_a_change_window_may_ask_a_human_instead():
    decision = evaluate(prod(10), policy(outside_window="needs_human"), EVENING)
    assert decision.decision == NEEDS_HUMAN


def test_change_window_days_are_those_of_the_environment_time_zone():
    # Thursday 23:30 UTC is already Friday 00:30 in Berlin: not a window day.
    late_thursday = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    windows = [{"days": ["thu"], "start": "00:00", "end": "23:59"}]
    assert evaluate(prod(10), policy(change_windows=windows), late_thursday).decision == REJECTED


def test_overnight_change_window_spans_midnight():
    windows = [{"days": ["tue"], "start": "22:00", "end": "02:00"}]
    wednesday_1am_berlin = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert evaluate(prod(10), policy(change_windows=windows), wednesday_1am_berlin).decision == (
        APPROVED
    )


def test_in_a_freeze_is_rejected_with_its_reason():
    decision = evaluate(prod(10), policy(), IN_FREEZE)
    assert decision.decision == REJECTED
    assert decision.reasons[0] == "prod is in a change freeze until 2027-01-04T00:00 (year end)"


def test_an_environment_without_windows_is_always_open():
    facts = PlanFacts(environment="staging", service="checkout", risk=40)
    assert evaluate(facts, policy(), datetime(2026, 11, 29, 3, 0, tzinfo=UTC)).decision == APPROVED


def test_cedar_forbid_rejects_and_names_the_policy():
    cedar = 'forbid(principal, action, resource) when { context.service == "checkout" };'
    decision = evaluate(prod(10), policy(cedar), IN_WINDOW)
    assert decision.decision == REJECTED
    assert decision.reasons == ["Cedar policy policy0 forbids this change"]


def test_cedar_forbid_that_does_not_apply_lets_the_plan_through():
    cedar = (
        "forbid(principal, action, resource) "
        'when { context.actions.contains("kubernetes.set_image") };'
    )
    facts = prod(10, actions=("kubernetes.rollout_restart",))
    assert evaluate(facts, policy(cedar), IN_WINDOW).decision == APPROVED


def test_a_plan_touching_what_its_environment_may_not_is_rejected():
    facts = prod(10, actions=("kubernetes.rollout_restart",), namespaces=("kube-system", "prod"))
    decision = evaluate(facts, policy(), IN_WINDOW)
    assert decision.decision == REJECTED
    assert decision.reasons == ["namespace 'kube-system' is not allowed in prod"]


def test_an_environment_without_targets_runs_echo_steps_only():
    staging = PlanFacts(environment="staging", service="checkout", risk=0, actions=("echo.echo",))
    assert evaluate(staging, policy(), IN_WINDOW).decision == APPROVED
    script = PlanFacts(
        environment="staging",
        service="checkout",
        risk=0,
        actions=("echo.echo", "script.run"),
        scripts=("flush.sh",),
    )
    decision = evaluate(script, policy(), IN_WINDOW)
    assert decision.decision == REJECTED
    assert decision.reasons == [
        "action 'script.run' is not allowed in staging",
        "script 'flush.sh' is not allowed in staging",
    ]


def test_cedar_sees_what_the_plan_touches():
    cedar = 'forbid(principal, action, resource) when { context.namespaces.contains("prod") };'
    facts = prod(10, actions=("kubernetes.scale",), namespaces=("prod",))
    decision = evaluate(facts, policy(cedar), IN_WINDOW)
    assert decision.reasons == ["Cedar policy policy0 forbids this change"]


def test_cedar_sees_the_requester_as_principal():
    cedar = 'forbid(principal == User::"olga", action, resource);'
    assert evaluate(prod(10), policy(cedar), IN_WINDOW).decision == REJECTED


def test_cedar_that_cannot_be_evaluated_needs_a_human():
    cedar = "forbid(principal, action, resource) when { context.nonexistent > 1 };"
    decision = evaluate(prod(10), policy(cedar), IN_WINDOW)
    assert decision.decision == NEEDS_HUMAN
    assert decision.reasons[0].startswith("Cedar policies could not be evaluated")


def test_every_rejecting_rule_is_reported():
    decision = evaluate(prod(95), policy(), IN_FREEZE)
    assert decision.decision == REJECTED
    assert len(decision.reasons) == 2


def test_four_eyes_is_per_environment_and_on_for_unknown_ones():
    assert policy().four_eyes("prod") is True
    assert policy().four_eyes("staging") is False
    assert policy().four_eyes("moon") is True


def test_the_seeded_policy_file_is_valid():
    from pathlib import Path

    import yaml

    document = yaml.safe_load(Path("config/gate-policy.yaml").read_text())
    assert validate_document(document, document.get("cedar", "")) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"auto_approve_max": 90, "reject_min": 10}, "auto_approve_max < reject_min"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"change_windows": [{"start": "25:00", "end": "26:00"}]}, "bad change window"),
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"targets": ["prod"]}, "targets must be a mapping"),
        ({"targets": {"namespaces": ["prod"]}}, "unknown targets key 'namespaces'"),
        ({"targets": {"http_hosts": "gw"}}, "targets.http_hosts must be a list"),
        ({"targets": {"scripts": [""]}}, "targets.scripts must be a list of non-empty"),
    ],
)
def test_invalid_policy_documents_are_explained(change, problem):
    document = {"environments": {"prod": {**DOCUMENT["environments"]["prod"], **change}}}
    assert any(problem in p for p in validate_document(document))


def test_cedar_syntax_errors_are_reported():
    assert any("cedar" in p for p in validate_document(DOCUMENT, "forbid("))


def test_supervised_autopilot_sends_even_a_low_risk_plan_to_a_human():
    decision = evaluate(prod(10), policy(autopilot="supervised"), IN_WINDOW)
    assert decision.decision == NEEDS_HUMAN
    assert "supervised" in decision.reasons[0]


def test_an_environment_without_autopilot_is_supervised():
    unset = {k: v for k, v in DOCUMENT["environments"]["prod"].items() if k != "autopilot"}
    document = {**DOCUMENT, "environments": {"prod": unset}}
    assert Policy.from_document(1, document).autopilot("prod") == "supervised"
    assert evaluate(prod(10), Policy.from_document(1, document), IN_WINDOW).decision == (
        NEEDS_HUMAN
    )


def test_an_unknown_environment_is_manual():
    assert policy().autopilot("qa") == "manual"


def test_the_kill_switch_sends_a_low_risk_plan_to_a_human():
    decision = evaluate(prod(10, kill_switch=True), policy(), IN_WINDOW)
    assert decision.decision == NEEDS_HUMAN
    assert "kill switch" in decision.reasons[0]


def test_the_kill_switch_does_not_soften_a_rejection():
    assert evaluate(prod(95, kill_switch=True), policy(), IN_WINDOW).decision == REJECTED


def test_autopilot_and_kill_switch_settings_are_validated():
    problems = validate_document(
        {"environments": {"prod": {"autopilot": "yolo", "on_kill_switch": "explode"}}}
    )
    assert "environments.prod: autopilot must be one of manual, supervised, low_risk" in problems
    assert "environments.prod: on_kill_switch must be pause or rollback" in problems


def test_a_failed_verification_rolls_back_unless_the_environment_pauses():
    paused = policy(on_verify_fail="pause")
    assert paused.on_verify_fail("prod") == "pause"
    assert policy().on_verify_fail("prod") == "rollback"
    assert policy().on_verify_fail("nowhere") == "rollback"


def test_on_verify_fail_is_validated():
    problems = validate_document({"environments": {"prod": {"on_verify_fail": "shrug"}}})
    assert "environments.prod: on_verify_fail must be rollback or pause" in problems
