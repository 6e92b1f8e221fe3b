"""Per-user request rates (a DRF throttle), counted in Redis by `limits`, so every gunicorn
worker and replica sees the same counts.

A view that names a `throttle_scope` (the Sensor's ingest: "ingest") is throttled in that
scope for every method; any other view only for methods that change something ("writes").
Reads are not throttled: they change nothing and one page is bounded
(AIOPS_API_MAX_PAGE_SIZE). A refused request gets 429 with Retry-After before its handler
runs, so it has no effect.

The count is a sliding window of two fixed-window counters (limits'
SlidingWindowCounterRateLimiter): one Redis script call per request, a few bytes per user.
DRF's own throttle kept each user's request times as a pickled list, read and written back
whole on every write (up to 1,200 timestamps at the default rate).
"""

from __future__ import annotations

import functools
import logging
import time

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

WRITES = "writes"
log = logging.getLogger(__name__)


@functools.cache
def limiter() -> SlidingWindowCounterRateLimiter:
    """The process's limiter on the cache's Redis (redis-py spells a unix socket unix://,
    limits redis+unix://)."""
    url = settings.CACHES["default"]["LOCATION"]
    if url.startswith("unix://"):
        url = "redis+unix://" + url.removeprefix("unix://")
    options = settings.CACHES["default"].get("OPTIONS", {})
    return SlidingWindowCounterRateLimiter(
        RedisStorage(url, key_prefix="aiops-throttle", **options)
    )


@functools.lru_cache(maxsize=16)
def rate_item(rate: str) -> RateLimitItemPerSecond:
    """'1200/min' (DRF's spelling, AIOPS_THROTTLE_*: s, min, hour, day) as a limits item."""
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return RateLimitItemPerSecond(int(count), seconds)


def forget(ident) -> None:
    """Clear every scope's count of a user (or client address): tests start from zero."""
    for rate in settings.THROTTLE_RATES.values():
        for scope in settings.THROTTLE_RATES:
            limiter().clear(rate_item(rate), scope, str(ident))


class UserRateThrottle(BaseThrottle):
    def __init__(self):
        self.retry_after: float | None = None

    def allow_request(self, request, view):
        scope = getattr(view, "throttle_scope", None)
        if scope is None and request.method not in SAFE_METHODS:
            scope = WRITES
        # Read per request, not once at import, so a changed setting (override_settings in
        # tests) applies at once. None: not throttled.
        rate = settings.THROTTLE_RATES.get(scope) if scope else None
        if rate is None:
            return True
        item, ident = rate_item(rate), str(self.ident(request))
        try:
            if limiter().hit(item, scope, ident):
                return True
            stats = limiter().get_window_stats(item, scope, ident)
        except (RedisError, OSError) as exc:
            # The counts live in Redis: while it is down, requests are let through rather
            # than failed — writes keep working and their events wait in the outbox.
            log.warning("throttling skipped: the cache is unavailable (%s)", exc)
            return True
        self.retry_after = max(1.0, stats.reset_time - time.time())
        return False

    def wait(self):
        return self.retry_after

    def ident(self, request):
        # Per user; a request without one (only views open to anonymous reach here) per
        # client address.
        user = request.user
        return user.pk if user and user.is_authenticated else self.get_ident(request)
