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


def test_park_is_allowed_from_every_open_state():
    for state in wf.OPEN_STATES:
        assert wf.target_of("park", state) == wf.PARKED


def test_illegal_event_has_no_target():
    assert wf.target_of("verify_pass", wf.NEW) is None


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
        state = wf.target_of(event, state)
    assert state == wf.CLOSED


def test_every_failure_of_an_automated_stage_parks():
    for event in ["gate_rejected", "exec_failed", "verify_failed"]:
        assert wf.BY_EVENT[event].target == wf.PARKED
