"""Which buttons the case page offers (pure: no database)."""

from apps.console.actions import APPROVE, REJECT, available, find


def names(actions) -> list[str]:
    return [action.name for action in actions]


def test_an_approver_at_the_gate_may_approve_or_reject_when_a_person_must_decide():
    offered = available("WAIT_GATE", waiting_for_person=True, roles={"approver"})
    assert names(offered) == ["approve", "reject"]


def test_nothing_to_approve_while_the_gate_has_not_asked_for_a_person():
    assert available("WAIT_GATE", waiting_for_person=False, roles={"approver"}) == []


def test_an_operator_gets_the_people_s_events_of_the_state():
    assert names(available("PARKED", waiting_for_person=False, roles={"operator"})) == [
        "resume",
        "close",
    ]


def test_module_outcomes_are_never_buttons():
    offered = names(available("EXECUTING", waiting_for_person=False, roles={"operator"}))
    assert offered == ["park"]


def test_a_viewer_gets_no_button():
    assert available("WAIT_GATE", waiting_for_person=True, roles={"viewer"}) == []


def test_park_and_close_need_a_reason_and_reject_a_comment():
    assert find("park").reason == "required"
    assert find("close").reason == "required"
    assert REJECT.reason == "required" and APPROVE.reason == "optional"


def test_a_module_event_or_an_unknown_name_is_no_action():
    assert find("exec_done") is None
    assert find("drop_table") is None
