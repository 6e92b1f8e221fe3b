"""The NATS JetStream sink: subject = event type, Nats-Msg-Id = event id (server-side dedup)."""

from __future__ import annotations

import asyncio
import json
import threading

from django.conf import settings

STREAM = "AIOPS"
STREAM_SUBJECTS = ["evt.>"]


class SinkError(Exception):
    """A sink did not accept an event; the relay keeps it unpublished and retries later."""


class _NatsPublisher:
    """One connection per process, driven by a private event loop (Celery tasks are sync)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None
        self._nc = None
        self._js = None

    def publish(self, envelope: dict) -> None:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._publish(envelope))
            except Exception as exc:
                self._loop.run_until_complete(self._reset())
                raise SinkError(f"nats: {exc!r}") from exc

    async def _publish(self, envelope: dict) -> None:
        if self._js is None:
            import nats

            self._nc = await nats.connect(
                settings.NATS_URL,
                connect_timeout=2,
                max_reconnect_attempts=1,
                allow_reconnect=False,
            )
            self._js = self._nc.jetstream(timeout=5)
            await _ensure_stream(self._js)
        await self._js.publish(
            envelope["type"],
            json.dumps(envelope).encode(),
            headers={"Nats-Msg-Id": envelope["id"], "Content-Type": "application/cloudevents+json"},
        )

    async def _reset(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            try:
                await nc.close()
            except Exception:  # closing a broken connection may fail too; it is gone either way
                return


async def _ensure_stream(js) -> None:
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(name=STREAM, subjects=STREAM_SUBJECTS)


_publisher = _NatsPublisher()


def publish_nats(envelope: dict) -> None:
    _publisher.publish(envelope)
