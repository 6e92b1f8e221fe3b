"""Pytest plugin (`-p tests.plugin` in pyproject.toml): the test suite's entry point.

pytest-django loads the settings and sets Django up while pytest loads the initial conftests,
before any conftest.py runs; Django's apps import prometheus_client there. So the process is
prepared (data dir, PROMETHEUS_MULTIPROC_DIR, embedded servers) in a hook that runs first.
Workers and gunicorn started by the tests inherit that environment (tests/support.py).

The tests' scripts live in tests/ops-scripts, never in the shipped ops-scripts/ (which holds
only what is safe to deploy): AIOPS_SCRIPT_DIR points there before the settings are read.
"""

import os
from pathlib import Path

import pytest

from aiops import bootstrap

TEST_SCRIPT_DIR = Path(__file__).resolve().parent / "ops-scripts"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # Forced, not defaulted: a developer's own AIOPS_SCRIPT_DIR must not change what runs.
    os.environ["AIOPS_SCRIPT_DIR"] = str(TEST_SCRIPT_DIR)
    # The suite starts many workers; each would load the embedding model as its processes
    # start. Those that embed load it on first use; tests/test_kb_preload.py turns it on.
    os.environ.setdefault("AIOPS_KB_PRELOAD", "0")
    bootstrap.prepare()


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    # This process's own writes queue a relay run rather than relaying inline, whatever the
    # environment says: most tests here apply the outbox themselves
    # (tests/factories.deliver_outbox) with no worker to take a delivery message.
    from django.conf import settings

    settings.OUTBOX_RELAY_INLINE = False
