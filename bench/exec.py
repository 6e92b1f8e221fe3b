"""`make bench-exec`: executor orchestration overhead per step vs a bare Celery round trip.

Executor: a run of STEPS echo steps (no sleep) on one real Celery worker (queues celery +
executor, prefork, concurrency 2) over the embedded Redis; the clock runs from
`exec_start` (the service behind POST /adapter/exec) until the bench reads the run as
succeeded in PostgreSQL; wall time / STEPS is the cost of one step: claim, heartbeat
thread, adapter, log store, record + outbox event, enqueue of the next step.
Bare: a chain of STEPS no-op Celery tasks on the same broker, each publishing the next
(the same hand-off pattern without any database work), on a worker with the same
settings; the last sets a Redis key the bench waits for. Median of RUNS runs each.
"""

from __future__ import annotations

import os
import time
import uuid

import django

from aiops import bootstrap

bootstrap.prepare()  # the data dir, metrics env and embedded servers, before Django
django.setup()

import redis  # noqa: E402
from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.report import median, write_section  # noqa: E402
from tests import support  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
STEPS = int(os.environ.get("BENCH_STEPS", "100"))
POLL_SECONDS = 0.002
PROBE_QUEUE = "bench-exec-probe"

probe = Celery("bench-exec-probe", broker=settings.CELERY_BROKER_URL)
probe.conf.update(
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue=PROBE_QUEUE,
    broker_connection_retry_on_startup=True,
)


def _redis() -> redis.Redis:
    return redis.Redis(unix_socket_path=settings.CELERY_BROKER_URL.removeprefix("redis+socket://"))


@probe.task(name="bench.exec.hop")
def hop(remaining: int, key: str) -> None:
    """A bare task: publish the next hop, or mark the chain done."""
    if remaining > 1:
        hop.delay(remaining - 1, key)
    else:
        _redis().set(key, "1", ex=600)


def bare_chain(steps: int) -> float:
    key = f"bench-exec:{uuid.uuid4()}"
    client = _redis()
    start = time.perf_counter()
    hop.delay(steps, key)
    while not client.exists(key):
        if time.perf_counter() - start > 300:
            raise RuntimeError("bare chain never finished")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - start


def executor_run(steps: int) -> float:
    from django.contrib.auth.models import User

    from apps.cases.services import case_create
    from apps.executor import services
    from tests.conftest import plan_step, sample_plan
    from tests.factories import autopilot, drive_to_executing

    plan = sample_plan(
        steps=[plan_step(f"s{i}", params={"message": i}) for i in range(steps)],
        rollback=[plan_step("undo")],
    )
    user = User.objects.get_or_create(username="bench")[0]
    case = case_create(actor=user, title="bench exec", service="bench", environment="staging")
    with autopilot("staging", "manual"):  # the bench, not the Executor's subscriber, starts it
        drive_to_executing(case, user, plan)
    start = time.perf_counter()
    run = services.exec_start(case_id=case.pk, actor="bench")
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT status FROM exec_run WHERE id = %s", [run.pk])
            status = cursor.fetchone()[0]
        if status != "running":
            break
        if time.perf_counter() - start > 600:
            raise RuntimeError("executor run never finished")
        time.sleep(POLL_SECONDS)
    elapsed = time.perf_counter() - start
    if status != "succeeded":
        raise RuntimeError(f"run {run.pk} ended {status}")
    return elapsed


def main() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    support.purge_broker()
    argv = [
        str(support.BIN / "celery"),
        "-A",
        "bench.exec:probe",
        "worker",
        "-Q",
        PROBE_QUEUE,
        "--concurrency=2",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    bare_worker = support.Process(argv, support.child_env(), ready_marker="")
    bare_worker.start()
    worker = support.celery_worker().start()
    try:
        bare_chain(10)  # warm-up: the bare worker is up once a chain completes
        executor_run(10)
        bare, executor = [], []
        for number in range(1, RUNS + 1):
            executor.append(executor_run(STEPS))
            bare.append(bare_chain(STEPS))
            print(
                f"run {number}: executor {executor[-1] / STEPS * 1000:.2f} ms/step, "
                f"bare Celery {bare[-1] / STEPS * 1000:.2f} ms/hop",
                flush=True,
            )
    finally:
        worker.stop()
        bare_worker.stop()

    per_step = median(executor) / STEPS * 1000
    per_hop = median(bare) / STEPS * 1000
    markdown = (
        "## Executor: orchestration overhead per step (`make bench-exec`)\n\n"
        f"A run of {STEPS} `echo` steps (no sleep) on one Celery worker (prefork, concurrency "
        "2, queues celery + executor, embedded Redis and PostgreSQL), timed from `exec_start` "
        "(the service behind `POST /adapter/exec`) until `exec_run` reads succeeded. Beside it, "
        f"a chain of {STEPS} bare Celery tasks on the same broker, each publishing the next "
        "(same hand-off, no database). Median of "
        f"{RUNS} runs after a warm-up.\n\n"
        "| measure | per step | whole run |\n|---|---|---|\n"
        f"| executor step (claim, heartbeat, adapter, log, record + event, next enqueue) "
        f"| {per_step:.2f} ms | {median(executor) * 1000:.0f} ms |\n"
        f"| bare Celery task hop | {per_hop:.2f} ms | {median(bare) * 1000:.0f} ms |\n"
        f"| orchestration overhead | {per_step - per_hop:.2f} ms | |\n"
        "\nWhere a step's time goes: two short PostgreSQL transactions (the claim, then the "
        "record that also writes the outbox event and queues the next step — about seven "
        "round trips), the log file, and the outbox relay task each step's "
        "`evt.exec.step_result.v1` kicks, which shares the worker's two pool processes.\n"
        f"\nAll runs, executor ms/step: {', '.join(f'{t / STEPS * 1000:.2f}' for t in executor)}; "
        f"bare ms/hop: {', '.join(f'{t / STEPS * 1000:.2f}' for t in bare)}.\n"
    )
    write_section("exec", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
