"""The floor of the executor and loop benches: a bare Celery hop on the platform's broker.

A chain of no-op tasks, each publishing the next (the hand-off a step or an event makes,
without any database work), on a worker of its own with the pool settings `make run`'s
workers have (prefork, concurrency 2, acks late, prefetch 1, INFO log); the last task sets
a Redis key the bench waits for. Run by the bench in the same run as what it is compared to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

from bench.platform import ROOT

QUEUE = "bench-hop"
BROKER = os.environ.get("BENCH_HOP_BROKER", "redis://")

probe = Celery("bench-hop", broker=BROKER)
probe.conf.update(
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
)


def _redis() -> redis.Redis:
    return redis.Redis(unix_socket_path=BROKER.removeprefix("redis+socket://"))


@probe.task(name="bench.hop.hop")
def hop(remaining: int, key: str) -> None:
    """Publish the next hop, or mark the chain done."""
    if remaining > 1:
        hop.delay(remaining - 1, key)
    else:
        _redis().set(key, "1", ex=600)


class HopWorker:
    """A Celery worker for the probe task alone, on the platform's Redis socket."""

    def __init__(self, broker_url: str, log: Path):
        self.broker_url, self.log = broker_url, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> HopWorker:
        probe.conf.broker_url = self.broker_url
        env = {**os.environ, "BENCH_HOP_BROKER": self.broker_url}
        argv = [sys.executable, "-m", "celery", "-A", "bench.hop:probe", "worker", "-Q", QUEUE]
        argv += ["--concurrency=2", "--loglevel=INFO", "--hostname=bench-hop@%h"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.chain(5)  # up once a chain comes back
        return self

    def chain(self, hops: int) -> float:
        """Seconds for a chain of `hops` tasks, from the first publish to the last one done."""
        key = f"bench-hop:{uuid.uuid4()}"
        client = redis.Redis(unix_socket_path=self.broker_url.removeprefix("redis+socket://"))
        start = time.perf_counter()
        probe.send_task("bench.hop.hop", args=(hops, key), queue=QUEUE)
        while not client.exists(key):
            if time.perf_counter() - start > 300:
                raise RuntimeError(f"bare chain never finished; see {self.log}")
            time.sleep(0.002)
        return time.perf_counter() - start

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
