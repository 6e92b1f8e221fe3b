"""The control and embedding pools load the embedding model as their processes start (in the
background), so the first case a process plans does not wait for it; the execution pool
never loads it."""

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
