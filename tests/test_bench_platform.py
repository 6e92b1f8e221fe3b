"""bench.platform's wait for an idle broker, against the test run's real Redis."""

import pytest
import redis
from django.conf import settings

from bench.platform import Platform
from tests import support


@pytest.fixture
def broker():
    support.purge_broker()
    client = redis.Redis(
        unix_socket_path=settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    )
    yield client
    support.purge_broker()


def test_an_idle_broker_lets_the_bench_go_on(broker):
    Platform(settings.DATA_DIR).wait_idle(timeout=0.5)


def test_a_librarian_backlog_names_the_queue_and_how_to_start_afresh(broker):
    broker.rpush("kb", b"an embedding task left by an earlier bench")
    broker.rpush("celery", b"one", b"two")

    with pytest.raises(RuntimeError) as failed:
        Platform(settings.DATA_DIR).wait_idle(timeout=0.3)

    assert "celery 2, kb 1" in str(failed.value)
    assert "make bench-clean" in str(failed.value)


def test_other_work_left_is_named_without_the_librarian_hint(broker):
    broker.hset("unacked", "tag", b"a delivered task not yet acked")

    with pytest.raises(RuntimeError) as failed:
        Platform(settings.DATA_DIR).wait_idle(timeout=0.3)

    assert "(unacked 1)" in str(failed.value)
    assert "bench-clean" not in str(failed.value)
