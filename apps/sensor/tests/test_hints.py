"""Validation of evidence hints: the target and its locators (pure)."""

import uuid
from datetime import timedelta

from apps.sensor.hints import check_hint, unpack_body

CASE = uuid.uuid4()
PROM = {"system": "prometheus", "query": "up", "from": 1764245400, "to": 1764249000}


def check(**overrides):
    fields = {"target_kind": "case", "target_id": str(CASE), "locators": [PROM], "note": ""}
    fields.update(overrides)
    return check_hint(**fields, max_locators=3, max_range=timedelta(days=1))


def fields_of(errors):
    return [(e.index, e.field) for e in errors]


def test_a_case_target_is_its_own_case():
    hint, errors = check(target_id=str(CASE).upper())
    assert errors == []
    assert hint.case_id == CASE and hint.target_id == str(CASE)


def test_a_step_target_needs_its_case():
    assert fields_of(check(target_kind="step", target_id="7")[1]) == [(-1, "target.case_id")]
    hint, errors = check(target_kind="step", target_id="7", case_id=str(CASE))
    assert errors == [] and hint.case_id == CASE


def test_a_finding_may_name_its_case_or_not():
    hint, _ = check(target_kind="finding", target_id="f-1")
    assert hint.case_id is None


def test_target_errors_and_locator_errors_are_listed_together():
    _, errors = check(
        target_kind="incident",
        target_id="",
        case_id="nope",
        locators=[PROM, {"system": "loki"}],
        note=7,
    )
    assert fields_of(errors) == [
        (-1, "target.kind"),
        (-1, "target.id"),
        (-1, "target.case_id"),
        (-1, "note"),
        (1, "query"),
        (1, "from"),
        (1, "to"),
    ]


def test_locators_must_be_a_non_empty_array_within_the_cap():
    assert fields_of(check(locators=[])[1]) == [(-1, "locators")]
    assert "At most 3" in check(locators=[PROM] * 4)[1][0].message


def test_a_case_target_with_another_case_id_is_an_error():
    assert fields_of(check(case_id=str(uuid.uuid4()))[1]) == [(-1, "target.case_id")]


def test_the_body_shape_is_checked_before_its_contents():
    kwargs, errors = unpack_body({"target": {"kind": "case", "id": "x", "extra": 1}, "more": 1})
    assert fields_of(errors) == [(-1, "more"), (-1, "target.extra")]
    assert kwargs["target_kind"] == "case" and kwargs["locators"] is None
    assert fields_of(unpack_body([])[1]) == [(-1, "")]
    assert fields_of(unpack_body({"target": "case", "locators": []})[1]) == [(-1, "target")]


def test_case_ids_are_uuids_in_their_usual_spelling():
    assert fields_of(check(target_kind="step", target_id="1", case_id=CASE.hex)[1]) == [
        (-1, "target.case_id")
    ]
    assert fields_of(unpack_body({"target": {"kind": "step", "id": "1", "case_id": None}})[1]) == [
        (-1, "target.case_id")
    ]
