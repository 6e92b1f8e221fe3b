"""Pytest plugin (`-p tests.plugin` in pyproject.toml): the test suite's entry point.

pytest-django loads the settings and sets Django up while pytest loads the initial conftests,
before any conftest.py runs; Django's apps import prometheus_client there. So the process is
prepared (data dir, PROMETHEUS_MULTIPROC_DIR, embedded servers) in a hook that runs first.
Workers and gunicorn started by the tests inherit that environment (tests/support.py).
"""

import pytest

from aiops import bootstrap


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    bootstrap.prepare()
