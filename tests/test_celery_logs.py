"""The worker log leaves out Celery's per-message lines for the relay's own task only."""

import logging

import aiops.celery  # noqa: F401 — installs the filter

LOG_SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s"


def _succeeded(caplog, task: str) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        logging.getLogger("celery.app.trace").info(
            LOG_SUCCESS, {"name": task, "id": "1", "runtime": 0.01, "return_value": 0}
        )
    return caplog.messages


def test_the_relays_succeeded_line_is_left_out(caplog):
    assert _succeeded(caplog, "apps.cases.tasks.relay_outbox") == []


def test_other_tasks_succeeded_lines_are_kept(caplog):
    assert _succeeded(caplog, "apps.executor.tasks.run_step") == [
        "Task apps.executor.tasks.run_step[1] succeeded in 0.01s: 0"
    ]


def test_the_relays_failures_are_kept(caplog):
    caplog.clear()
    logging.getLogger("celery.app.trace").error(
        "Task %(name)s[%(id)s] raised", {"name": "apps.cases.tasks.relay_outbox", "id": "2"}
    )
    assert caplog.messages == ["Task apps.cases.tasks.relay_outbox[2] raised"]
