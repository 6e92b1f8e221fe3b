"""The API's list pagination: `?limit=&offset=`, PAGE_SIZE items by default and never more
than API_MAX_PAGE_SIZE (AIOPS_API_MAX_PAGE_SIZE) however large a `limit` is asked for."""

from django.conf import settings
from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """Answers `{"count", "next", "previous", "results"}`; `limit` is capped, not refused."""

    @property
    def max_limit(self) -> int:
        # Read per request, so the setting (and a test's override of it) always applies.
        return settings.API_MAX_PAGE_SIZE
