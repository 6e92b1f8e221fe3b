"""The control and embedding pools load the embedding model as their processes start (in the
background), so the first case a process plans does not wait for it; the execution pool
never loads it."""

import subprocess
import sys

import pytest

from apps.kb import embedding
from tests import support


def test_the_control_and_embedding_pools_preload_and_the_execution_pool_does_not():
    assert embedding.wants_preload({"celery"}, enabled=True)
    assert embedding.wants_preload({"kb"}, enabled=True)
    assert embedding.wants_preload({"celery", "executor", "kb"}, enabled=True)
    assert not embedding.wants_preload({"executor"}, enabled=True)
    assert not embedding.wants_preload({"celery", "kb"}, enabled=False)


@pytest.mark.django_db
def test_a_control_worker_process_loads_the_model_before_any_task():
    worker = support.celery_worker(queues="celery", concurrency=1, AIOPS_KB_PRELOAD="1")
    worker.start()
    try:
        support.wait_for(
            lambda: "embedding model loaded" in worker.tail(400),
            timeout=180,
            what="the worker process to preload the model",
        )
        assert "(preload)" in worker.tail(400)
    finally:
        worker.stop()


def test_a_preloaded_process_does_not_grow_on_its_first_embedding():
    """The first inference allocates torch's buffers (about 50 MB): the preload pays it at
    start, so a process does not grow in the middle of the first case it plans."""
    script = (
        "import django; django.setup()\n"
        "from apps.kb import embedding\n"
        "def rss():\n"
        "    status = open('/proc/self/status').read().split('VmRSS:')[1]\n"
        "    return int(status.split()[0]) // 1024\n"
        "embedding.preload().join()\n"
        "before = rss()\n"
        "embedding.embed(['restart the checkout service after a bad deploy'])\n"
        "print('grew', rss() - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=support.child_env(),
        cwd=support.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    grew = int(done.stdout.split("grew")[1].split()[0])
    assert grew < 15, f"the first embedding after the preload grew the process by {grew} MB"
