"""Pure validation of ingested metric points: raw JSON in, clean points or per-point errors out.

A point is `{"service", "metric", "labels"?, "ts", "value"}` where `ts` is an ISO 8601
timestamp (with offset; naive means UTC) or Unix seconds, truncated to its minute, and lies
between `now - max_age` (the retention: an older minute would only be deleted again, or
stand as made-up history before a change) and `now + max_future` (the clock skew allowed).
Points of one batch for the same series and minute collapse to the last one.

A batch of 1,000 points is checked in a few milliseconds: a point whose every field is of the
plain kind (strings, a flat string-valued label object, a finite number) passes `_Batch.plain`,
which remembers each name and timestamp it has seen valid in the batch; anything else goes
through `_parse_point`, the one place that words the errors, so both paths agree by
construction.

Faster still, `decode_plain` takes a body of nothing but plain points from its bytes: msgspec
decodes it into typed points and checks their shapes and lengths in C, the names and
timestamps go through `_Batch` once each. It accepts a subset of what `parse_points` accepts
and returns the same points; for anything else it returns None, and the caller decodes the
body as JSON and asks `parse_points`, which words the errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple

import msgspec

NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:.\-]*$")
MAX_SERVICE, MAX_METRIC = 100, 200
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE = 20, 100, 200
FIELDS = frozenset({"service", "metric", "labels", "ts", "value"})
MAX_INTEGER = 2**1023  # the largest magnitude of an integer value that a float still holds


class Point(NamedTuple):
    # A tuple, not a dataclass: a batch makes a thousand of them per request.
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
    batch = _Batch(floor_minute(now - max_age), now + max_future)
    points: dict[tuple, Point] = {}
    errors: list[PointError] = []
    for index, item in enumerate(raw):
        point = batch.plain(item)
        if point is None:
            point, problems = _parse_point(index, item, batch.earliest, batch.latest)
            if problems:
                errors.extend(problems)
                continue
        points[point.key] = point
    return list(points.values()), errors


class _Batch:
    """The cheap check of one batch: accepts only points `_parse_point` accepts, and returns
    the same Point; for anything else it returns None and the caller asks `_parse_point`."""

    def __init__(self, earliest: datetime, latest: datetime):
        self.earliest, self.latest = earliest, latest
        self.services: set[str] = set()
        self.metrics: set[str] = set()
        self.minutes: dict[str | int | float, datetime] = {}

    def plain(self, item) -> Point | None:
        if type(item) is not dict or not item.keys() <= FIELDS:
            return None
        service, metric = item.get("service"), item.get("metric")
        if not self._known(service, self.services, MAX_SERVICE):
            return None
        if not self._known(metric, self.metrics, MAX_METRIC):
            return None
        labels = item.get("labels", {})
        if not _plain_labels(labels):
            return None
        minute = self._minute(item.get("ts"))
        value = item.get("value")
        if minute is None or not _plain_value(value):
            return None
        return Point(minute, service, metric, labels, float(value))

    def _known(self, name, seen: set[str], max_length: int) -> bool:
        if type(name) is not str:
            return False
        if name not in seen:
            if not name or len(name) > max_length or not NAME.match(name):
                return False
            seen.add(name)
        return True

    def _minute(self, ts) -> datetime | None:
        if type(ts) not in (str, int, float):  # bool is refused by _parse_point
            return None
        minute = self.minutes.get(ts)
        if minute is None:
            problems: list[tuple[str, str]] = []
            minute = _minute(ts, self.earliest, self.latest, lambda *p: problems.append(p))
            if problems:
                return None
            self.minutes[ts] = minute
        return minute


def _text(min_length: int, max_length: int):
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length)]


_Service, _Metric = _text(1, MAX_SERVICE), _text(1, MAX_METRIC)
_Labels = Annotated[
    dict[_text(1, MAX_LABEL_KEY), _text(0, MAX_LABEL_VALUE)], msgspec.Meta(max_length=MAX_LABELS)
]


class _PlainPoint(msgspec.Struct, forbid_unknown_fields=True):
    """The shape `_Batch.plain` accepts, for msgspec: names are checked against NAME after (a
    pattern here would be matched on every point, not once per name)."""

    service: _Service
    metric: _Metric
    ts: str | float  # a JSON integer decodes as a float: Unix seconds, exact below 2**53
    value: float  # the same: JSON integers too, and NaN or the infinities are not JSON
    labels: _Labels = {}  # msgspec gives each point a dict of its own


_PLAIN_BODY = msgspec.json.Decoder(list[_PlainPoint])
MAX_FLOAT_VALUE = float(MAX_INTEGER)


def decode_plain(
    body: bytes, *, now: datetime, max_points: int, max_future: timedelta, max_age: timedelta
) -> tuple[list[Point], int] | None:
    """A UTF-8 JSON body of plain points only → (the points parse_points would return, how
    many the body held); None for any other body, which the caller must then decode and give
    to parse_points. `now`, `max_points`, `max_future` and `max_age` are parse_points'.

    Repeats of a series and minute are not collapsed here: all of them come back in the
    body's order, and the write collapses them to the last (staging.split)."""
    # An escape may spell NUL or a lone surrogate, which the request's JSON parser refuses
    # (aiops.parsers); such bodies take that path.
    if b"\\u" in body:
        return None
    try:
        items = _PLAIN_BODY.decode(body)
    except msgspec.DecodeError:  # malformed, or not of the plain shape
        return None
    if not items or len(items) > max_points:
        return None
    batch = _Batch(floor_minute(now - max_age), now + max_future)
    services, metrics, minutes = batch.services, batch.metrics, batch.minutes
    points: list[Point] = []
    # The loop is _Batch.plain's, inlined: it runs once per point.
    for item in items:
        service, metric, ts, value = item.service, item.metric, item.ts, item.value
        # A float this large may have been a JSON integer beyond MAX_INTEGER (rounded to it),
        # which parse_points refuses: leave it to that path to say.
        if not -MAX_FLOAT_VALUE < value < MAX_FLOAT_VALUE:
            return None
        if service not in services and not batch._known(service, services, MAX_SERVICE):
            return None
        if metric not in metrics and not batch._known(metric, metrics, MAX_METRIC):
            return None
        minute = minutes.get(ts) or batch._minute(ts)
        if minute is None:
            return None
        points.append(Point(minute, service, metric, item.labels, value))
    return points, len(items)


def _plain_labels(labels) -> bool:
    if type(labels) is not dict or len(labels) > MAX_LABELS:
        return False
    for key, label in labels.items():
        if type(key) is not str or type(label) is not str:
            return False
        if not key or len(key) > MAX_LABEL_KEY or len(label) > MAX_LABEL_VALUE:
            return False
    return True


def _plain_value(value) -> bool:
    kind = type(value)
    if kind is float:
        return value - value == 0.0  # false for NaN and the infinities
    return kind is int and -MAX_INTEGER <= value <= MAX_INTEGER


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
    elif (isinstance(value, int) and abs(value) > MAX_INTEGER) or not math.isfinite(value):
        fail("value", "Must be a finite number a float can hold.")
    else:
        return float(value)
    return 0.0
