"""Plan DSL parsing and validation, without a database."""

import json

import pytest

from apps.planner import dsl
from tests.conftest import sample_plan


def test_a_complete_plan_is_valid():
    assert dsl.validate(sample_plan()) == []


def test_yaml_and_json_texts_parse_to_the_same_document():
    import yaml

    plan = sample_plan()
    assert dsl.parse_text(yaml.safe_dump(plan)) == dsl.parse_text(json.dumps(plan)) == plan


def test_yaml_timestamps_stay_strings():
    assert dsl.parse_text("at: 2026-11-27T10:00:00Z") == {"at": "2026-11-27T10:00:00Z"}


def test_yaml_anchors_and_aliases_are_refused():
    for text in ("a: &x 1\nb: *x", "a: &x [1]", "a: *x"):
        with pytest.raises(dsl.PlanSyntaxError, match="anchors and aliases"):
            dsl.parse_text(text)


def test_each_error_names_its_json_path():
    plan = sample_plan()
    plan["spec"]["steps"][0]["adapter"] = "ssh"
    del plan["spec"]["verify"]["checks"][0]["operator"]
    paths = [e["path"] for e in dsl.validate(plan)]
    assert paths == ["$.spec.steps[0].adapter", "$.spec.verify.checks[0]"]


def test_unknown_kubernetes_action_is_an_error_at_its_path():
    plan = sample_plan()
    plan["spec"]["steps"][0].update(adapter="kubernetes", action="delete_everything")
    assert [e["path"] for e in dsl.validate(plan)] == ["$.spec.steps[0].action"]


def test_duplicate_step_ids_are_an_error():
    plan = sample_plan()
    plan["spec"]["rollback"][0]["id"] = plan["spec"]["steps"][0]["id"]
    assert [e["path"] for e in dsl.validate(plan)] == ["$.spec.rollback[0].id"]


def test_a_plan_without_rollback_or_checks_is_valid_but_not_ready():
    plan = sample_plan(rollback=[], verify={"checks": []})
    assert dsl.validate(plan) == []
    assert dsl.missing_parts(plan) == [
        "at least one rollback step in spec.rollback",
        "at least one check in spec.verify.checks",
    ]


DEFAULTS = dsl.PlanDefaults(
    step_timeout_s=120, verify_delay_s=30, verify_window_s=600, check_no_data="fail"
)


def test_normalize_fills_step_and_check_defaults():
    plan = sample_plan()
    plan["spec"]["steps"] = [{"id": "a", "adapter": "echo", "action": "echo"}]
    step = dsl.normalize(plan, defaults=DEFAULTS)["spec"]["steps"][0]
    assert step == {
        "id": "a",
        "adapter": "echo",
        "action": "echo",
        "params": {},
        "timeout_s": 120,
        "retries": 0,
        "backoff_s": 0,
        "idempotent": False,
    }


def test_normalize_takes_the_verify_defaults_it_is_given_and_keeps_explicit_values():
    plan = sample_plan(
        verify={
            "checks": [
                {"name": "c", "metric": "m", "aggregate": "avg", "operator": "<", "threshold": 1}
            ]
        }
    )
    plan["spec"]["rollback"][0].pop("timeout_s")
    spec = dsl.normalize(plan, defaults=DEFAULTS)["spec"]
    assert (spec["verify"]["delay_s"], spec["verify"]["window_s"]) == (30, 600)
    assert spec["verify"]["checks"][0]["no_data"] == "fail"
    assert spec["steps"][0]["timeout_s"] == 30  # the plan's own value
    assert spec["rollback"][0]["timeout_s"] == 120


def _with_step(adapter, action, params):
    from tests.conftest import plan_step

    return sample_plan(steps=[plan_step("s", adapter, action, params=params)])


def _ref(**fields):
    return {"secretRef": fields}


def test_secret_refs_are_accepted_where_an_adapter_marks_them():
    token = _ref(source="env", name="GATEWAY_TOKEN")
    http = {
        "url": "http://gw/routes",
        "headers": {"Authorization": token},
        "json": {"auth": {"token": _ref(source="file", name="gateway-token.txt")}, "n": [1]},
    }
    script = {"name": "echo-args", "args": ["x", 1, token]}
    k8s = _ref(source="kubernetes", namespace="shop", name="gateway", key="token")
    assert dsl.validate(_with_step("http", "request", http)) == []
    assert dsl.validate(_with_step("script", "run", script)) == []
    assert dsl.validate(_with_step("http", "request", {"url": "http://gw", "body": k8s})) == []


def test_secret_refs_are_refused_where_they_would_hide_a_target():
    token = _ref(source="env", name="T")
    cases = [
        ("http", "request", {"url": token}),
        ("script", "run", {"name": token}),
        ("kubernetes", "scale", {"namespace": token, "replicas": 1}),
    ]
    for adapter, action, params in cases:
        errors = dsl.validate(_with_step(adapter, action, params))
        assert errors and "is not of type 'string'" in errors[0]["message"], errors


def test_a_secret_ref_name_that_could_escape_is_an_error_at_its_path():
    cases = {
        "env": ("../DJANGO_SECRET_KEY", "headers.Authorization"),
        "file": ("../etc/passwd", "headers.Authorization"),
    }
    for source, (name, where) in cases.items():
        params = {"url": "http://gw", "headers": {"Authorization": _ref(source=source, name=name)}}
        errors = dsl.validate(_with_step("http", "request", params))
        assert [e["path"] for e in errors] == [f"$.spec.steps[0].params.{where}.secretRef.name"]
        assert errors[0]["message"].startswith(f"'{name}' does not match")
    for name in ("a/b", "..", ".hidden", "a..b"):
        params = {"url": "http://gw", "json": {"t": _ref(source="file", name=name)}}
        assert dsl.validate(_with_step("http", "request", params)), name


def test_an_object_holding_secret_ref_must_be_exactly_a_reference():
    bad = [
        {"secretRef": {"source": "env", "name": "T"}, "extra": 1},
        {"secretRef": {"source": "vault", "name": "T"}},
        {"secretRef": {"source": "env", "name": "T", "path": "/x"}},
    ]
    for value in bad:
        params = {"url": "http://gw", "json": {"deep": [value]}}
        assert dsl.validate(_with_step("http", "request", params)), value


@pytest.mark.parametrize(
    ("given", "mode", "dry_run"),
    [
        ({}, "enforce", False),
        ({"mode": "dry_run"}, "dry_run", True),
        ({"dry_run": True}, "dry_run", True),
        ({"mode": "enforce", "dry_run": True}, "dry_run", True),
    ],
)
def test_normalize_makes_a_checks_mode_and_dry_run_agree(given, mode, dry_run):
    plan = sample_plan()
    plan["spec"]["verify"]["checks"][0].update(given)
    normalized = dsl.normalize(plan, defaults=DEFAULTS)["spec"]["verify"]["checks"][0]
    assert (normalized["mode"], normalized["dry_run"]) == (mode, dry_run)


def test_an_unknown_check_mode_is_an_error():
    plan = sample_plan()
    plan["spec"]["verify"]["checks"][0]["mode"] = "shadow"
    assert dsl.validate(plan)
