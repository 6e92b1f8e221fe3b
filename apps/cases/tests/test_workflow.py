"""The state table, without a database."""

import pytest

from apps.cases import workflow as wf


def test_it_maps_seed_names_to_api_names():
    assert wf.canonical_event("EPlanReady") == "plan_ready"
    assert wf.canonical_event("EGateApproved") == "gate_approved"
    assert wf.canonical_event("start_analysis") == "start_analysis"


def test_it_rejects_unknown_event_names():
    with pytest.raises(wf.UnknownEvent):
        wf.canonical_event("make_it_so")


def test_new_case_may_only_start_analysis_or_park():
    assert wf.allowed_events(wf.NEW) == ["start_analysis", "park"]


def test_closed_is_terminal():
    assert wf.allowed_events(wf.CLOSED) == []


def test_parked_may_resume_or_close():
    assert wf.allowed_events(wf.PARKED) == ["resume", "close"]


def target_of(event: str, state: str) -> str | None:
    transition = wf.BY_EVENT[wf.canonical_event(event)]
    return transition.target if state in transition.sources else None


def test_park_is_allowed_from_every_open_state():
    for state in wf.OPEN_STATES:
        assert target_of("park", state) == wf.PARKED


def test_illegal_event_has_no_target():
    assert target_of("verify_pass", wf.NEW) is None


def test_happy_path_reaches_closed():
    state = wf.NEW
    for event in [
        "start_analysis",
        "EAnalysisDone",
        "EPlanReady",
        "EGateApproved",
        "EExecDone",
        "EVerifyPass",
    ]:
        state = target_of(event, state)
    assert state == wf.CLOSED


def test_every_failure_of_an_automated_stage_parks():
    for event in ["gate_rejected", "exec_failed", "verify_failed"]:
        assert wf.BY_EVENT[event].target == wf.PARKED


def test_people_fire_only_their_own_events():
    assert wf.person_events() == ["start_analysis", "plan_ready", "park", "resume", "close"]


def test_every_module_event_names_the_module_that_reports_it():
    for transition in wf.TRANSITIONS:
        assert (transition.by == wf.MODULE) == bool(transition.reported_by), transition.event


def test_each_automated_stage_asks_its_module_on_entry():
    assert wf.ON_ENTRY == {
        wf.ANALYZING: wf.ANALYZE,
        wf.PLANNING: wf.PROPOSE_PLAN,
        wf.WAIT_GATE: wf.EVALUATE_GATE,
        wf.EXECUTING: wf.START_EXECUTION,
        wf.VERIFYING: wf.SCHEDULE_VERIFICATION,
    }


def test_manual_autopilot_asks_nothing_on_entry():
    for state in wf.STATES:
        assert wf.asks_on_entry(state, wf.AUTOPILOT_MANUAL) is None


def test_supervised_and_low_risk_ask_on_entry():
    for mode in (wf.AUTOPILOT_SUPERVISED, wf.AUTOPILOT_LOW_RISK):
        assert wf.asks_on_entry(wf.WAIT_GATE, mode) == wf.EVALUATE_GATE
        assert wf.asks_on_entry(wf.CLOSED, mode) is None


def test_a_case_starts_by_itself_only_when_it_knows_what_to_plan_from():
    assert wf.auto_start(has_template=True, has_finding=False, autopilot=wf.AUTOPILOT_LOW_RISK)
    assert wf.auto_start(has_template=False, has_finding=True, autopilot=wf.AUTOPILOT_SUPERVISED)
    assert not wf.auto_start(has_template=False, has_finding=False, autopilot=wf.AUTOPILOT_LOW_RISK)
    assert not wf.auto_start(has_template=True, has_finding=True, autopilot=wf.AUTOPILOT_MANUAL)
