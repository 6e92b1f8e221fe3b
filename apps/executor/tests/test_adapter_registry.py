"""The executor finds adapters by name in aiops.registry, where ready() put each module's
declared class (no database)."""

import pytest

from aiops import registry
from aiops.registry import ActionSpec, AdapterSpec
from apps.executor.adapters import get_adapter
from apps.executor.adapters.base import Adapter, Context, Outcome, StepError, StepSpec
from apps.executor.adapters.echo import EchoAdapter
from apps.executor.adapters.http import HttpAdapter
from apps.executor.adapters.kubernetes import KubernetesAdapter
from apps.executor.adapters.script import ScriptAdapter


class FerryAdapter(Adapter):
    spec = AdapterSpec(name="ferry", actions={"sail": ActionSpec()})

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        self.check_action(step)
        return Outcome(result={"sailed": step.params})


def step(adapter: str, action: str) -> StepSpec:
    return StepSpec(
        step_id="s",
        adapter=adapter,
        action=action,
        params={"to": "harbour"},
        timeout_s=5,
        attempt=1,
        message_id="m",
        case_id="c",
        run_id="r",
    )


def test_every_adapter_module_is_registered_with_its_class():
    by_name = {
        spec.name: registry.adapters.implementation(spec.name) for spec in registry.adapter_specs()
    }
    assert by_name == {
        "echo": EchoAdapter,
        "http": HttpAdapter,
        "kubernetes": KubernetesAdapter,
        "script": ScriptAdapter,
    }
    assert isinstance(get_adapter("echo"), EchoAdapter)


def test_an_unknown_adapter_is_a_refusal_naming_the_known_ones():
    with pytest.raises(StepError) as raised:
        get_adapter("ssh")
    assert str(raised.value) == "unknown adapter 'ssh' (known: echo, http, kubernetes, script)"
    assert raised.value.retryable is False


def test_a_registered_adapter_runs_and_refuses_undeclared_actions():
    registry.register_adapter(FerryAdapter.spec, implementation=FerryAdapter)
    try:
        adapter = get_adapter("ferry")
        assert adapter.run(step("ferry", "sail"), Context(5)).result == {
            "sailed": {"to": "harbour"}
        }
        with pytest.raises(StepError, match="adapter 'ferry' has no action 'fly'"):
            adapter.run(step("ferry", "fly"), Context(5))
    finally:
        registry.unregister_adapter("ferry")
    with pytest.raises(StepError, match="unknown adapter 'ferry'"):
        get_adapter("ferry")
