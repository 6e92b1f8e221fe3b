"""The plan schema and the risk table come from the adapters' declarations (aiops.registry).

No database: pytest-django has set the apps up, so the executor's adapters are registered.
"""

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aiops import registry
from aiops.registry import ActionSpec, AdapterSpec
from apps.planner import dsl, templates
from tests.conftest import sample_plan

TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FERRY = AdapterSpec(
    name="ferry",
    description="a throwaway adapter for this test",
    actions={
        "sail": ActionSpec(
            risk=33,
            params_schema={
                "type": "object",
                "required": ["deployment"],
                "properties": {"deployment": {"type": "string"}, "knots": {"type": "integer"}},
            },
        ),
        "dock": ActionSpec(risk=1),
    },
)


@pytest.fixture
def ferry():
    registry.register_adapter(FERRY)
    yield FERRY
    registry.unregister_adapter(FERRY.name)


def with_step(**step) -> dict:
    plan = sample_plan()
    plan["spec"]["steps"][0] = {"id": "first", **step}
    return plan


def step_schema() -> dict:
    return dsl.schema()["$defs"]["step"]


def test_a_registered_adapter_appears_in_the_schema_and_the_risk_table(ferry):
    assert "ferry" in step_schema()["properties"]["adapter"]["enum"]
    assert dsl.validate(with_step(adapter="ferry", action="sail", params={"deployment": "a"})) == []
    assert dsl.validate(with_step(adapter="ferry", action="sail")) == [
        {"path": "$.spec.steps[0]", "message": "'params' is a required property"}
    ]
    assert dsl.validate(with_step(adapter="ferry", action="sail", params={"knots": "fast"})) == [
        {"path": "$.spec.steps[0].params", "message": "'deployment' is a required property"},
        {"path": "$.spec.steps[0].params.knots", "message": "'fast' is not of type 'integer'"},
    ]
    [error] = dsl.validate(with_step(adapter="ferry", action="fly"))
    assert error["path"] == "$.spec.steps[0].action"
    assert error["message"] == "'fly' is not one of ['sail', 'dock']"

    assert templates.risk_table()[("ferry", "sail")] == 33
    spec = with_step(adapter="ferry", action="sail", params={"deployment": "a"})["spec"]
    _, factors = templates.assess_risk(spec, now=TUESDAY_NOON)
    assert {"name": "action", "value": "ferry.sail", "points": 33} in factors


def test_an_unregistered_adapter_is_gone_from_the_schema_and_the_risk_table(ferry):
    assert ("ferry", "dock") in templates.risk_table()
    registry.unregister_adapter("ferry")
    assert "ferry" not in step_schema()["properties"]["adapter"]["enum"]
    assert ("ferry", "dock") not in templates.risk_table()
    [error] = dsl.validate(with_step(adapter="ferry", action="dock"))
    assert error["path"] == "$.spec.steps[0].adapter"


def test_the_executors_adapters_declare_every_action_with_its_risk():
    assert templates.risk_table() == {
        ("echo", "echo"): 0,
        ("http", "request"): 15,
        ("http", "call"): 15,
        ("kubernetes", "rollout_restart"): 10,
        ("kubernetes", "set_image"): 25,
        ("kubernetes", "scale"): 5,
        ("kubernetes", "rollout_status"): 0,
        ("kubernetes", "rollout_undo"): 15,
        ("script", "run"): 20,
    }


def test_declared_params_are_checked_at_their_path():
    plan = with_step(adapter="kubernetes", action="scale", params={"replicas": "many"})
    assert [e["path"] for e in dsl.validate(plan)] == ["$.spec.steps[0].params.replicas"]
    plan = with_step(adapter="script", action="run", params={"name": "../etc/passwd"})
    assert [e["path"] for e in dsl.validate(plan)] == ["$.spec.steps[0].params.name"]


def test_plan_schema_is_a_pure_function_of_the_specs_it_is_given():
    base = {"$defs": {"step": {"properties": {"adapter": {"type": "string"}}}}}
    generated = dsl.plan_schema(base, [FERRY])
    assert generated["$defs"]["step"]["properties"]["adapter"]["enum"] == ["ferry"]
    assert len(generated["$defs"]["step"]["allOf"]) == 3  # the adapter + each of its 2 actions
    assert base["$defs"]["step"]["properties"]["adapter"] == {"type": "string"}


def test_registering_another_spec_under_a_taken_name_is_refused(ferry):
    with pytest.raises(ValueError, match="already registered"):
        registry.register_adapter(AdapterSpec(name="ferry", actions={}))
    registry.register_adapter(FERRY)  # the same declaration again (a second ready()) is fine


def test_the_registry_imports_no_app():
    tree = ast.parse(Path(registry.__file__).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.split(".")[0] in ("apps", "django")]


def test_with_no_bounds_check_registered_every_plan_is_out_of_bounds(monkeypatch):
    monkeypatch.setattr(registry, "_target_check", None)
    found = registry.target_violations("dev", sample_plan()["spec"])
    assert [v["path"] for v in found] == ["$.spec"]
    assert "nothing may be touched" in found[0]["message"]
