"""One run of a periodic sweep per window, however many of its messages are queued.

Beat queues a sweep every interval whether or not the last one has run. Behind a backlog
the messages pile up in the queue and, once reached, each would run the whole sweep again
(hundreds of reads apiece) while the work it would recover waits behind them. The first run
in a window sweeps; the others return at once.
"""

from django.core.cache import cache
from redis import RedisError


def first_in_window(name: str, seconds: float) -> bool:
    """True for the first caller named `name` in each window of `seconds`. Without the cache
    (Redis down) every caller runs: a spare sweep costs time, a skipped one could cost work."""
    try:
        return bool(cache.add(f"sweep-window:{name}", 1, timeout=max(1, int(seconds))))
    except RedisError:
        return True
