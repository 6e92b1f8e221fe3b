"""The API's list pagination: `?limit=&offset=`, PAGE_SIZE items by default and never more
than API_MAX_PAGE_SIZE (AIOPS_API_MAX_PAGE_SIZE) however large a `limit` is asked for."""

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

# The smallest value each parameter takes; the schema publishes them as minimums.
_MINIMUMS = {"limit": 1, "offset": 0}


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """Answers `{"count", "next", "previous", "results"}`; `limit` is capped, not refused.

    A `limit` or `offset` that is not an integer at least its minimum is refused (400):
    DRF would quietly read it as the default, and a client would page through other rows
    than it asked for."""

    @property
    def max_limit(self) -> int:
        # Read per request, so the setting (and a test's override of it) always applies.
        return settings.API_MAX_PAGE_SIZE

    def get_limit(self, request):
        limit = self._integer(request, self.limit_query_param)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request):
        return self._integer(request, self.offset_query_param) or 0

    def _integer(self, request, name: str) -> int | None:
        if name not in request.query_params:
            return None
        raw = request.query_params[name]
        minimum = _MINIMUMS[name]
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise ValidationError({name: [f"Must be an integer of at least {minimum}."]})
        return value

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = _MINIMUMS[parameter["name"]]
        return parameters
