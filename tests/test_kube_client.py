"""The kubernetes adapter keeps its API client per thread while the kubeconfig is unchanged."""

import threading

import pytest
from django.test import override_settings

from apps.executor.adapters.base import StepError
from apps.executor.adapters.kubernetes import api_client
from tests.fakes.kube_api import FakeKubeAPI


@pytest.fixture
def kubeconfig(tmp_path):
    fake = FakeKubeAPI().start()
    path = fake.write_kubeconfig(tmp_path / "kubeconfig")
    with override_settings(KUBECONFIG=str(path)):
        yield fake, path
    fake.stop()


def test_steps_in_one_thread_share_one_client(kubeconfig):
    assert api_client() is api_client()


def test_a_changed_kubeconfig_gives_a_new_client_for_the_new_server(kubeconfig, tmp_path):
    _, path = kubeconfig
    first = api_client()
    other = FakeKubeAPI().start()
    try:
        other.write_kubeconfig(path)
        second = api_client()
        assert second is not first
        assert second.configuration.host == other.url
    finally:
        other.stop()


def test_another_thread_gets_its_own_client(kubeconfig):
    mine, theirs = api_client(), []
    thread = threading.Thread(target=lambda: theirs.append(api_client()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_no_configuration_is_a_step_error_that_is_not_retried(tmp_path):
    with override_settings(KUBECONFIG=str(tmp_path / "missing")), pytest.raises(StepError) as err:
        api_client()
    assert not err.value.retryable
