"""Doubling waits for the sweeps that hand work to the broker again.

A sweep cannot tell a lost message from one still waiting its turn in a long queue. Sending
it again at a fixed age floods a backlog with duplicates (each one a claim to refuse), and
the backlog grows faster than the workers drain it. Doubling the wait after each resend
keeps the duplicates per item logarithmic in its wait, while a truly lost message is still
sent again within one base interval. And what was sent after the oldest message still
waiting in its queue is not sent again at all: it is behind that message.
"""

import json
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Least, Power

CAP = 6  # the seventh and later resends wait 64 base intervals
SENT_AT = "aiops_sent_at"  # the header aiops.celery stamps on every message it publishes
_client = None


def next_resend(since: str, count: str, base_s: float) -> ExpressionWrapper:
    """When an item last sent at field `since`, resent `count` times, is due again."""
    wait = ExpressionWrapper(
        Value(timedelta(seconds=base_s)) * Power(2, Least(F(count), CAP)),
        output_field=DurationField(),
    )
    return ExpressionWrapper(F(since) + wait, output_field=DateTimeField())


def oldest_waiting(queue: str) -> datetime | None:
    """When the oldest message still waiting in `queue` was sent; None if the queue is empty
    or cannot be read. The queue is first in, first out: what was sent after that message
    is still behind it, waiting its turn — not lost, so not to be sent again yet."""
    import redis

    try:
        raw = _redis().lindex(queue, -1)  # kombu pushes on the left and pops on the right
        sent = json.loads(raw)["headers"][SENT_AT] if raw is not None else None
    except (redis.RedisError, ValueError, KeyError, TypeError):
        return None
    return datetime.fromtimestamp(float(sent), UTC) if sent is not None else None


def _redis():
    global _client
    if _client is None:
        import redis

        url = settings.REDIS_URL.replace("redis+socket://", "unix://", 1)  # kombu's spelling
        _client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
    return _client
