"""Small formatting filters of the console's templates."""

import json
from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def as_json(value) -> str:
    """A plan's params or a factor's value, compact and stable."""
    return json.dumps(value, sort_keys=True, default=str)


@register.filter
def age(moment: datetime | None) -> str:
    """How long ago, in the largest whole unit: 45 s, 12 min, 3 h, 2 d."""
    if moment is None:
        return ""
    seconds = max(0, int((timezone.now() - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@register.filter
def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} s"
