"""Plan templates and the risk score, without a database."""

from datetime import UTC, datetime

import pytest

from apps.planner import dsl
from apps.planner.templates import (
    NO_DATA_PASS_POINTS,
    UNOBSERVED_EVIDENCE_POINTS,
    TemplateError,
    assess_risk,
    build_change_plan,
    build_incident_plan,
)

TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TUESDAY_NIGHT = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STAGING = {"environment": "staging", "service": "checkout"}
PROD = {"environment": "prod", "service": "checkout"}


def change(kind, target=STAGING, now=TUESDAY_NOON, failures=0, last_change=None, **params):
    return build_change_plan(
        kind, target, params, now=now, recent_failures=failures, last_change=last_change
    )


def factor(plan, name):
    return next(f for f in plan["metadata"]["risk"]["factors"] if f["name"] == name)


def actions(steps):
    return [(s["adapter"], s["action"]) for s in steps]


@pytest.mark.parametrize("kind", ["restart", "scale_out", "rollback"])
def test_every_template_builds_a_schema_valid_ready_plan(kind):
    plan = change(kind)
    assert dsl.validate(plan) == []
    assert dsl.missing_parts(plan) == []


def test_canary_builds_a_schema_valid_ready_plan():
    plan = change("canary", image="shop/checkout:1.2", gateway_url="http://gw/weights")
    assert dsl.validate(plan) == []
    assert dsl.missing_parts(plan) == []


def test_restart_restarts_then_waits_and_rolls_back_with_undo():
    plan = change("restart")
    assert actions(plan["spec"]["steps"]) == [
        ("kubernetes", "rollout_restart"),
        ("kubernetes", "rollout_status"),
    ]
    assert actions(plan["spec"]["rollback"])[0] == ("kubernetes", "rollout_undo")
    assert plan["spec"]["target"]["name"] == "checkout"


def test_canary_sets_image_on_canary_then_promotes_and_rolls_back_with_undo():
    plan = change("canary", image="shop/checkout:1.2", percentage=20)
    steps = plan["spec"]["steps"]
    assert steps[0]["action"] == "set_image"
    assert steps[0]["params"]["name"] == "checkout-canary"
    assert steps[0]["params"]["image"] == "shop/checkout:1.2"
    assert steps[1]["action"] == "rollout_status"
    assert steps[-2]["params"]["name"] == "checkout"  # promote on the main deployment
    assert {s["action"] for s in plan["spec"]["rollback"]} == {"rollout_undo"}


def test_canary_with_a_gateway_shifts_traffic_over_http_and_back_on_rollback():
    plan = change("canary", image="shop/checkout:1.2", percentage=20, gateway_url="http://gw/w")
    shift = next(s for s in plan["spec"]["steps"] if s["adapter"] == "http")
    unshift = next(s for s in plan["spec"]["rollback"] if s["adapter"] == "http")
    assert shift["params"]["json"]["canary_weight"] == 20
    assert unshift["params"]["json"]["canary_weight"] == 0


def test_canary_without_an_image_is_refused():
    with pytest.raises(TemplateError, match="image"):
        change("canary")


def test_scale_out_scales_up_and_rolls_back_to_the_old_count():
    plan = change("scale_out", from_replicas=3, replicas=6)
    assert plan["spec"]["steps"][0]["params"]["replicas"] == 6
    assert plan["spec"]["rollback"][0]["params"]["replicas"] == 3


def test_scale_out_that_does_not_add_replicas_is_refused():
    with pytest.raises(TemplateError, match="more than"):
        change("scale_out", from_replicas=3, replicas=3)


def test_rollback_without_a_last_change_undoes_the_last_rollout():
    plan = change("rollback")
    assert actions(plan["spec"]["steps"])[0] == ("kubernetes", "rollout_undo")


def test_rollback_of_the_last_change_runs_its_rollback_and_reapplies_it_on_failure():
    last = change("canary", image="shop/checkout:1.2")
    plan = change("rollback", last_change=last)
    assert [s["id"] for s in plan["spec"]["steps"]] == [
        "revert-" + s["id"] for s in last["spec"]["rollback"]
    ]
    assert [s["id"] for s in plan["spec"]["rollback"]] == [
        "reapply-" + s["id"] for s in last["spec"]["steps"]
    ]


def test_unknown_template_is_refused():
    with pytest.raises(TemplateError, match="unknown template"):
        change("reboot-the-world")


def test_bad_parameter_is_refused_with_its_name():
    with pytest.raises(TemplateError, match=r"params\.replicas"):
        change("restart", replicas="many")


def incident(kind, last_change=None):
    return build_incident_plan(
        {"kind": kind}, STAGING, {}, now=TUESDAY_NOON, last_change=last_change
    )


def test_incident_of_an_error_rate_spike_rolls_back_the_last_change():
    plan = incident("error_rate", last_change=change("restart"))
    assert plan["metadata"]["template"] == "incident"
    assert plan["metadata"]["incident"] == {"finding": {"kind": "error_rate"}, "remedy": "rollback"}
    assert plan["spec"]["steps"][0]["id"] == "revert-undo"


def test_incident_of_high_latency_scales_out():
    plan = incident("latency")
    assert plan["metadata"]["incident"]["remedy"] == "scale_out"
    assert plan["spec"]["steps"][0]["action"] == "scale"


def test_incident_of_unknown_kind_restarts():
    plan = build_incident_plan({"kind": "mystery"}, STAGING, {}, now=TUESDAY_NOON)
    assert plan["spec"]["steps"][0]["action"] == "rollout_restart"


def test_incident_without_a_finding_is_refused():
    with pytest.raises(TemplateError, match="finding"):
        build_incident_plan({}, STAGING, {}, now=TUESDAY_NOON)


def test_risk_factors_are_recorded_with_their_points():
    plan = change("restart")
    names = [f["name"] for f in plan["metadata"]["risk"]["factors"]]
    assert names == [
        "environment",
        "action",
        "blast_radius",
        "time_of_day",
        "recent_failures",
        "no_data_pass",
        "unobserved_evidence",
    ]
    total = sum(f["points"] for f in plan["metadata"]["risk"]["factors"])
    assert plan["metadata"]["risk"]["score"] == total


def test_prod_is_riskier_than_staging():
    assert (
        change("restart", PROD)["metadata"]["risk"]["score"]
        > change("restart")["metadata"]["risk"]["score"]
    )


def test_setting_an_image_is_riskier_than_a_restart():
    canary = change("canary", image="x:1")
    assert factor(canary, "action")["points"] > factor(change("restart"), "action")["points"]


def test_more_replicas_mean_a_wider_blast_radius():
    few = factor(change("restart", replicas=2), "blast_radius")["points"]
    many = factor(change("restart", replicas=10), "blast_radius")["points"]
    assert many > few


def test_larger_canary_percentage_means_a_wider_blast_radius():
    small = factor(change("canary", image="x:1", percentage=5), "blast_radius")["points"]
    large = factor(change("canary", image="x:1", percentage=80), "blast_radius")["points"]
    assert large > small


def test_nights_and_weekends_add_risk():
    day = factor(change("restart", now=TUESDAY_NOON), "time_of_day")["points"]
    assert day == 0
    assert factor(change("restart", now=TUESDAY_NIGHT), "time_of_day")["points"] > 0
    assert factor(change("restart", now=SATURDAY_NOON), "time_of_day")["points"] > 0


def test_recent_failed_changes_add_risk_up_to_a_cap():
    none = factor(change("restart", failures=0), "recent_failures")
    two = factor(change("restart", failures=2), "recent_failures")
    many = factor(change("restart", failures=50), "recent_failures")
    assert none["points"] == 0
    assert two == {"name": "recent_failures", "value": 2, "points": 20}
    assert many["points"] == 30


def test_risk_score_stays_within_0_and_100():
    spec = change("canary", PROD, now=SATURDAY_NOON, failures=99, image="x:1", percentage=100)
    score, _ = assess_risk(spec["spec"], now=SATURDAY_NOON, recent_failures=99)
    assert 0 <= score <= 100
    empty_score, _ = assess_risk({"target": {"environment": "dev"}}, now=TUESDAY_NOON)
    assert empty_score == 0


def _points(spec: dict, name: str, **facts) -> int:
    _, factors = assess_risk(spec, now=TUESDAY_NOON, **facts)
    return next(f["points"] for f in factors if f["name"] == name)


def _checks(*checks) -> dict:
    return {"target": {"environment": "dev"}, "verify": {"checks": list(checks)}}


P95 = {"name": "p95", "metric": "http_p95_ms", "no_data": "inconclusive"}


def test_a_deciding_check_that_passes_on_no_data_is_a_risk():
    blind = {**P95, "no_data": "pass"}
    assert _points(_checks(blind), "no_data_pass") == NO_DATA_PASS_POINTS
    assert _points(_checks(P95), "no_data_pass") == 0
    assert _points(_checks(P95, {**blind, "dry_run": True}), "no_data_pass") == 0


def test_deciding_checks_that_watch_only_unobserved_series_are_a_risk():
    errors = {"name": "errors", "metric": "http_error_rate"}
    both = _checks(P95, errors)
    unobserved = {"http_p95_ms", "http_error_rate"}
    assert _points(both, "unobserved_evidence", unobserved_metrics=unobserved) == (
        UNOBSERVED_EVIDENCE_POINTS
    )
    # One check with evidence, or a PromQL check the caller cannot look up: no points.
    assert _points(both, "unobserved_evidence", unobserved_metrics={"http_p95_ms"}) == 0
    promql = {"name": "q", "promql": "up", "metric": ""}
    assert _points(_checks(P95, promql), "unobserved_evidence", unobserved_metrics=unobserved) == 0
    # A dry-run check decides nothing, so its evidence does not count either way.
    dry = {**errors, "dry_run": True}
    assert _points(
        _checks(P95, dry), "unobserved_evidence", unobserved_metrics={"http_p95_ms"}
    ) == (UNOBSERVED_EVIDENCE_POINTS)
