"""Periodic sweeps run once per window however many of their messages piled up."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from aiops.sweeps import first_in_window


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_only_the_first_run_in_a_window_sweeps():
    assert [first_in_window("exec-sweep", 30) for _ in range(3)] == [True, False, False]


def test_windows_of_different_sweeps_are_apart():
    assert first_in_window("exec-sweep", 30)
    assert first_in_window("verify-sweep", 30)


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "aiops.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: Redis is down
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
)
def test_without_the_cache_every_run_sweeps():
    assert [first_in_window("exec-sweep", 30) for _ in range(2)] == [True, True]
