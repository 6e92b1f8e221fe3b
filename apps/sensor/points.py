"""Pure validation of ingested metric points: raw JSON in, clean points or per-point errors out.

A point is `{"service", "metric", "labels"?, "ts", "value"}` where `ts` is an ISO 8601
timestamp (with offset; naive means UTC) or Unix seconds, truncated to its minute, and lies
between `now - max_age` (the retention: an older minute would only be deleted again, or
stand as made-up history before a change) and `now + max_future` (the clock skew allowed).
Points of one batch for the same series and minute collapse to the last one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:.\-]*$")
MAX_SERVICE, MAX_METRIC = 100, 200
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE = 20, 100, 200
FIELDS = {"service", "metric", "labels", "ts", "value"}


@dataclass(frozen=True)
class Point:
    minute: datetime
    service: str
    metric: str
    labels: dict[str, str]
    value: float

    @property
    def key(self) -> tuple:
        return (self.service, self.metric, tuple(sorted(self.labels.items())), self.minute)


@dataclass(frozen=True)
class PointError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def parse_points(
    raw, *, now: datetime, max_points: int, max_future: timedelta, max_age: timedelta
) -> tuple[list[Point], list[PointError]]:
    """Validate a decoded JSON body. Returns (deduplicated points, errors); any error means
    the caller should reject the whole batch so a client never has to guess what was kept."""
    if not isinstance(raw, list):
        return [], [PointError(-1, "", "The body must be a JSON array of points.")]
    if not raw:
        return [], [PointError(-1, "", "The array is empty.")]
    if len(raw) > max_points:
        return [], [PointError(-1, "", f"At most {max_points} points per request.")]
    earliest, latest = floor_minute(now - max_age), now + max_future
    points: dict[tuple, Point] = {}
    errors: list[PointError] = []
    for index, item in enumerate(raw):
        point, problems = _parse_point(index, item, earliest, latest)
        if problems:
            errors.extend(problems)
        else:
            points[point.key] = point
    return list(points.values()), errors


def _parse_point(
    index: int, item, earliest: datetime, latest: datetime
) -> tuple[Point | None, list[PointError]]:
    if not isinstance(item, dict):
        return None, [PointError(index, "", "A point must be a JSON object.")]
    errors = [PointError(index, name, "Unknown field.") for name in sorted(set(item) - FIELDS)]

    def fail(field: str, message: str) -> None:
        errors.append(PointError(index, field, message))

    service = _name(item.get("service"), MAX_SERVICE, "service", fail)
    metric = _name(item.get("metric"), MAX_METRIC, "metric", fail)
    labels = _labels(item.get("labels", {}), fail)
    minute = _minute(item.get("ts"), earliest, latest, fail)
    value = _value(item.get("value"), fail)
    if errors:
        return None, errors
    return Point(minute=minute, service=service, metric=metric, labels=labels, value=value), []


def _name(value, max_length: int, field: str, fail) -> str:
    if value is None:
        fail(field, "This field is required.")
    elif not isinstance(value, str) or not value:
        fail(field, "Must be a non-empty string.")
    elif len(value) > max_length:
        fail(field, f"At most {max_length} characters.")
    elif not NAME.match(value):
        fail(field, "Letters, digits, '_', ':', '.', '-' only, not starting with a digit.")
    else:
        return value
    return ""


def _labels(value, fail) -> dict[str, str]:
    if not isinstance(value, dict):
        fail("labels", "Must be an object of string values.")
        return {}
    if len(value) > MAX_LABELS:
        fail("labels", f"At most {MAX_LABELS} labels.")
        return {}
    for key, label in value.items():
        if not key or len(key) > MAX_LABEL_KEY:
            fail("labels", f"Label names are 1 to {MAX_LABEL_KEY} characters.")
        elif not isinstance(label, str) or len(label) > MAX_LABEL_VALUE:
            fail(f"labels.{key}", f"Must be a string of at most {MAX_LABEL_VALUE} characters.")
    return value


def _minute(value, earliest: datetime, latest: datetime, fail) -> datetime:
    moment = parse_moment(value, "ts", fail)
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    minute = floor_minute(moment)
    if moment > latest:
        fail("ts", f"More than the allowed skew in the future (after {latest.isoformat()}).")
    elif minute < earliest:
        fail("ts", f"Older than the metric retention (before {earliest.isoformat()}).")
    return minute


def parse_moment(value, field: str, fail) -> datetime | None:
    """An ISO 8601 timestamp (with offset; naive means UTC) or Unix seconds → an aware UTC
    datetime, or None after `fail(field, message)`. Shared by every Sensor payload."""
    if value is None:
        fail(field, "This field is required.")
    elif isinstance(value, bool):
        fail(field, "Must be an ISO 8601 timestamp or Unix seconds.")
    elif isinstance(value, int | float):
        if not 0 <= value < 32503680000 or not math.isfinite(value):
            fail(field, "Unix seconds out of range.")
        else:
            return datetime.fromtimestamp(value, tz=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
            fail(field, "Not an ISO 8601 timestamp.")
    else:
        fail(field, "Must be an ISO 8601 timestamp or Unix seconds.")
    return None


def _value(value, fail) -> float:
    if value is None:
        fail("value", "This field is required.")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        fail("value", "Must be a number.")
    elif (isinstance(value, int) and abs(value) > 2**1023) or not math.isfinite(value):
        fail("value", "Must be a finite number a float can hold.")
    else:
        return float(value)
    return 0.0
