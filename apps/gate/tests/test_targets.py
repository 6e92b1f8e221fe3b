"""What a plan touches and whether its environment allows it, without a database."""

from aiops import registry
from apps.gate.selectors import target_violations
from apps.gate.targets import (
    Targets,
    allows,
    disallowed,
    plan_targets,
    plan_touches,
    url_host,
    violations,
)

DEV = {
    "actions": ["echo.*", "kubernetes.rollout_*", "http.request", "script.run"],
    "kubernetes_namespaces": ["dev", "default"],
    "http_hosts": ["gw.dev", "127.0.0.1:8080", "*.dev.internal"],
    "scripts": ["flush_*.sh"],
}


def step(adapter, action, **params):
    return {"id": f"{adapter}-{action}", "adapter": adapter, "action": action, "params": params}


def spec(*steps, rollback=(), namespace="dev"):
    target = {"environment": "dev", "service": "checkout", "namespace": namespace}
    return {"target": target, "steps": list(steps), "rollback": list(rollback)}


def test_a_step_naming_a_namespace_outside_the_environment_is_named_with_its_path():
    plan = spec(
        step("kubernetes", "rollout_restart"),
        step("kubernetes", "rollout_restart", namespace="prod"),
    )
    assert violations(plan_touches(plan), DEV, "dev") == [
        {
            "path": "$.spec.steps[1].params.namespace",
            "message": "namespace 'prod' is not allowed in dev",
        }
    ]


def test_a_namespace_inherited_from_the_target_says_where_it_came_from():
    plan = spec(step("kubernetes", "rollout_restart"), namespace="prod")
    assert violations(plan_touches(plan), DEV, "dev") == [
        {
            "path": "$.spec.steps[0]",
            "message": "namespace 'prod' (from spec.target.namespace) is not allowed in dev",
        }
    ]


def test_rollback_steps_are_bounded_too():
    plan = spec(step("echo", "echo"), rollback=[step("kubernetes", "scale", replicas=1)])
    assert [v["path"] for v in violations(plan_touches(plan), DEV, "dev")] == [
        "$.spec.rollback[0].action"
    ]


def test_hosts_scripts_and_actions_are_matched_as_patterns():
    plan = spec(
        step("http", "request", url="http://gw.dev:9000/x"),
        step("http", "request", url="https://api.dev.internal/y"),
        step("http", "request", url="http://127.0.0.1:8080/z"),
        step("script", "run", name="flush_cache.sh"),
        step("kubernetes", "rollout_status", namespace="default"),
    )
    assert violations(plan_touches(plan), DEV, "dev") == []


def test_a_port_in_the_allowance_allows_that_port_only():
    plan = spec(step("http", "request", url="http://127.0.0.1:9090/z"))
    assert violations(plan_touches(plan), DEV, "dev") == [
        {
            "path": "$.spec.steps[0].params.url",
            "message": "host '127.0.0.1:9090' is not allowed in dev",
        }
    ]


def test_nothing_unnamed_is_allowed():
    plan = spec(step("kubernetes", "rollout_restart"), step("http", "request"), namespace="")
    messages = [v["message"] for v in violations(plan_touches(plan), DEV, "dev")]
    assert messages == [
        "names no namespace: nothing may be touched unnamed in dev",
        "names no host: nothing may be touched unnamed in dev",
    ]


def test_without_targets_only_echo_may_run():
    assert allows(None, "action", "echo.echo")
    assert not allows(None, "action", "kubernetes.rollout_restart")
    assert not allows({}, "action", "echo.echo")  # targets given: only what they list
    assert not allows({"actions": ["*"]}, "namespace", "prod")


def test_plan_targets_collect_every_step_sorted_once():
    plan = spec(
        step("kubernetes", "scale", namespace="shop"),
        step("kubernetes", "rollout_status"),
        step("http", "request", url="http://GW.dev/x"),
        rollback=[step("kubernetes", "scale", namespace="shop")],
    )
    assert plan_targets(plan) == Targets(
        actions=("http.request", "kubernetes.rollout_status", "kubernetes.scale"),
        namespaces=("dev", "shop"),
        hosts=("gw.dev",),
    )


def test_disallowed_judges_collected_targets():
    targets = Targets(actions=("kubernetes.scale",), namespaces=("prod",))
    assert disallowed(targets, DEV, "dev") == [
        "action 'kubernetes.scale' is not allowed in dev",
        "namespace 'prod' is not allowed in dev",
    ]


def test_url_host():
    assert url_host("http://Gw.Example:8080/a") == "gw.example:8080"
    assert url_host("https://gw.example/a") == "gw.example"
    assert url_host("not a url") == ""
    assert url_host(None) == ""


def test_the_gate_registers_the_bounds_check_for_the_planner_at_start_up():
    assert registry._target_check is target_violations
