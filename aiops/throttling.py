"""Per-user request rates (DRF throttling), counted in the shared cache (Redis), so every
gunicorn worker and replica sees the same counts.

A view that names a `throttle_scope` (the Sensor's ingest: "ingest") is throttled in that
scope for every method; any other view only for methods that change something ("writes").
Reads are not throttled: they change nothing and one page is bounded
(AIOPS_API_MAX_PAGE_SIZE). A refused request gets 429 with Retry-After before its handler
runs, so it has no effect.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

WRITES = "writes"
log = logging.getLogger(__name__)


class UserRateThrottle(SimpleRateThrottle):
    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self):
        # The scope depends on the view and the method: known in allow_request only.
        pass

    def get_rate(self):
        # Read per request, not from DRF's class attribute frozen at import, so a changed
        # setting (override_settings in tests) applies at once. None: not throttled.
        return settings.THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.scope = getattr(view, "throttle_scope", None)
        if self.scope is None and request.method not in SAFE_METHODS:
            self.scope = WRITES
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            # The counts live in Redis: while it is down, requests are let through rather
            # than failed — writes keep working and their events wait in the outbox.
            log.warning("throttling skipped: the cache is unavailable (%s)", exc)
            return True

    def get_cache_key(self, request, view):
        # Per user; a request without one (only views open to anonymous reach here) per
        # client address.
        user = request.user
        ident = user.pk if user and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
