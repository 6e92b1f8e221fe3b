"""Every event type's contract: one conversion to the envelope and back, nothing lost,
nothing extra, and the published schema in docs/events.md."""

import typing
import uuid
from pathlib import Path

import pytest

from apps.cases import eventdocs, events

SAMPLES = {str: "x", int: 3, float: 1.5, bool: True}


def sample_value(hint):
    origin = typing.get_origin(hint)
    if origin is not None and origin is not list and origin is not dict:  # a union: first arm
        return sample_value(typing.get_args(hint)[0])
    if origin is list:
        return [sample_value(typing.get_args(hint)[0])]
    if hint is dict or origin is dict:
        return {"k": "v"}
    return SAMPLES[hint]


def sample(cls) -> events.Event:
    hints = typing.get_type_hints(cls)
    values = {name: sample_value(hint) for name, hint in hints.items() if name not in ("type",)}
    values = {k: v for k, v in values.items() if k in {f.name for f in _fields(cls)}}
    values["case_id"] = str(uuid.uuid4())
    return cls(**values)


def _fields(cls):
    import dataclasses

    return dataclasses.fields(cls)


def product_events():
    return {t: c for t, c in events.event_classes().items() if not t.startswith("evt.test.")}


def test_every_design_event_type_is_declared():
    declared = set(product_events())
    assert {
        "evt.case.transition.v1",
        "evt.plan.proposed.v1",
        "evt.plan.approved.v1",
        "evt.gate.decision.v1",
        "evt.exec.step_result.v1",
        "evt.exec.done.v1",
        "evt.exec.failed.v1",
        "evt.verify.result.v1",
        "evt.analysis.findings.v1",
    } <= declared
    assert set(events.COMMANDS) <= declared


@pytest.mark.parametrize("event_type", sorted(product_events()))
def test_an_event_survives_the_envelope_unchanged(event_type):
    cls = events.event_class(event_type)
    event = sample(cls)
    envelope = {"type": event_type, "subject": event.case_id, "data": event.to_data()}
    assert events.typed(envelope) == event


@pytest.mark.parametrize("event_type", sorted(product_events()))
def test_a_missing_field_breaks_the_contract(event_type):
    data = sample(events.event_class(event_type)).to_data()
    data.pop(next(name for name in data if name != "case_id"))
    with pytest.raises(events.ContractViolation, match="missing"):
        events.event_class(event_type).from_data(data)


@pytest.mark.parametrize("event_type", sorted(product_events()))
def test_an_unexpected_field_breaks_the_contract(event_type):
    data = {**sample(events.event_class(event_type)).to_data(), "surprise": 1}
    with pytest.raises(events.ContractViolation, match="unexpected"):
        events.event_class(event_type).from_data(data)


@pytest.mark.parametrize("event_type", sorted(product_events()))
def test_a_mistyped_field_breaks_the_contract(event_type):
    data = {**sample(events.event_class(event_type)).to_data(), "case_id": 7}
    with pytest.raises(events.ContractViolation, match="case_id"):
        events.event_class(event_type).from_data(data)


@pytest.mark.parametrize("event_type", sorted(product_events()))
def test_the_schema_requires_every_field_and_no_other(event_type):
    cls = events.event_class(event_type)
    schema = cls.json_schema()
    assert schema["required"] == [f.name for f in _fields(cls)]
    assert schema["additionalProperties"] is False


def test_an_envelope_whose_subject_is_another_case_breaks_the_contract():
    event = sample(events.event_class("evt.case.transition.v1"))
    envelope = {"type": event.type, "subject": "another", "data": event.to_data()}
    with pytest.raises(events.ContractViolation, match="subject"):
        events.typed(envelope)


def test_an_undeclared_type_breaks_the_contract():
    with pytest.raises(events.ContractViolation, match="no event class"):
        events.typed({"type": "evt.nobody.v1", "subject": "", "data": {}})


def test_docs_events_md_is_the_rendering_of_the_classes():
    path = Path(__file__).resolve().parents[3] / "docs" / "events.md"
    assert path.read_text() == eventdocs.render(), "run: python manage.py write_event_docs"
