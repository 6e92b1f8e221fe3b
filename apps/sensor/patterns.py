"""Pure validation of ingested log signals: raw JSON in, clean items or per-item errors out.

Two payloads land in log_pattern_5m:
- pattern counts `{"service", "pattern_id", "template"?, "ts", "count"}` (POST
  /ingest/log-patterns), counted already by the caller;
- raw log lines `{"service", "lines": [{"ts", "line"}]}` or a list of those (POST
  /ingest/logs), mined into templates by Drain3 (apps.sensor.mining).

Timestamps follow apps.sensor.points (ISO 8601 or Unix seconds, within the retention and
the allowed clock skew) and fall into the 5-minute bucket that holds them. Errors carry
(index, field, message) like metric points; any error rejects the whole request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apps.sensor.points import MAX_SERVICE, NAME, PointError, parse_moment

BUCKET = timedelta(minutes=5)
MAX_PATTERN_ID, MAX_TEMPLATE = 200, 2000
# bigint holds 9.2e18: a batch of the largest counts cannot overflow the sum of one row.
MAX_COUNT = 10**12
PATTERN_FIELDS = {"service", "pattern_id", "template", "ts", "count"}
BATCH_FIELDS = {"service", "lines"}
LINE_FIELDS = {"ts", "line"}
# Letters, digits and . _ : / - # @ + = (Drain ids, hashes, caller names), no spaces.
PATTERN_ID = re.compile(r"^[A-Za-z0-9._:/#@+=\-]+$")


@dataclass(frozen=True)
class PatternCount:
    bucket: datetime
    service: str
    pattern_id: str
    template: str
    count: int


@dataclass(frozen=True)
class LogLine:
    bucket: datetime
    line: str


@dataclass(frozen=True)
class LogBatch:
    service: str
    lines: tuple[LogLine, ...]


@dataclass(frozen=True)
class Window:
    """Which timestamps are accepted: from the oldest kept bucket to now plus the skew."""

    earliest: datetime
    latest: datetime

    @classmethod
    def around(cls, now: datetime, *, max_future: timedelta, max_age: timedelta) -> Window:
        return cls(earliest=floor_bucket(now - max_age), latest=now + max_future)


def floor_bucket(moment: datetime) -> datetime:
    """The start of the 5-minute UTC bucket holding `moment`."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def parse_pattern_counts(
    raw, *, window: Window, max_items: int
) -> tuple[list[PatternCount], list[PointError]]:
    """Validate a decoded POST /ingest/log-patterns body. Repeats of one (service, pattern,
    bucket) are kept: the upsert adds them up."""
    if not isinstance(raw, list):
        return [], [PointError(-1, "", "The body must be a JSON array of pattern counts.")]
    if not raw:
        return [], [PointError(-1, "", "The array is empty.")]
    if len(raw) > max_items:
        return [], [PointError(-1, "", f"At most {max_items} pattern counts per request.")]
    counts, errors = [], []
    for index, item in enumerate(raw):
        count, problems = _pattern_count(index, item, window)
        errors.extend(problems)
        if not problems:
            counts.append(count)
    return counts, errors


def _pattern_count(index: int, item, window: Window) -> tuple[PatternCount | None, list]:
    if not isinstance(item, dict):
        return None, [PointError(index, "", "A pattern count must be a JSON object.")]
    errors = [PointError(index, f, "Unknown field.") for f in sorted(set(item) - PATTERN_FIELDS)]

    def fail(field: str, message: str) -> None:
        errors.append(PointError(index, field, message))

    service = service_name(item.get("service"), "service", fail)
    pattern_id = _pattern_id(item.get("pattern_id"), fail)
    template = _text(item.get("template", ""), MAX_TEMPLATE, "template", fail, required=False)
    bucket = _bucket(item.get("ts"), "ts", window, fail)
    count = _count(item.get("count"), fail)
    if errors:
        return None, errors
    return PatternCount(bucket, service, pattern_id, template, count), []


def parse_log_batches(
    raw, *, window: Window, max_lines: int, max_line_length: int
) -> tuple[list[LogBatch], list[PointError]]:
    """Validate a decoded POST /ingest/logs body: one batch object or a list of them.
    `index` names the batch, `field` the line (`lines.3.ts`); `max_lines` counts every
    line of the request."""
    batches_raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(batches_raw, list):
        return [], [PointError(-1, "", "The body must be a batch object or an array of them.")]
    if not batches_raw:
        return [], [PointError(-1, "", "The array is empty.")]
    total = sum(
        len(b["lines"])
        for b in batches_raw
        if isinstance(b, dict) and isinstance(b.get("lines"), list)
    )
    if total > max_lines:
        return [], [PointError(-1, "", f"At most {max_lines} lines per request.")]
    batches, errors = [], []
    for index, item in enumerate(batches_raw):
        batch, problems = _batch(index, item, window, max_line_length)
        errors.extend(problems)
        if not problems:
            batches.append(batch)
    return batches, errors


def _batch(index: int, item, window: Window, max_line_length: int):
    if not isinstance(item, dict):
        return None, [PointError(index, "", "A batch must be a JSON object.")]
    errors = [PointError(index, f, "Unknown field.") for f in sorted(set(item) - BATCH_FIELDS)]

    def fail(field: str, message: str) -> None:
        errors.append(PointError(index, field, message))

    service = service_name(item.get("service"), "service", fail)
    raw_lines = item.get("lines")
    lines = []
    if raw_lines is None:
        fail("lines", "This field is required.")
    elif not isinstance(raw_lines, list) or not raw_lines:
        fail("lines", "Must be a non-empty array of {ts, line} objects.")
    else:
        for number, entry in enumerate(raw_lines):
            line = _line(f"lines.{number}", entry, window, max_line_length, fail)
            if line is not None:
                lines.append(line)
    if errors:
        return None, errors
    return LogBatch(service, tuple(lines)), []


def _line(where: str, entry, window: Window, max_length: int, fail) -> LogLine | None:
    if not isinstance(entry, dict):
        fail(where, "A line must be a JSON object {ts, line}.")
        return None
    problems: list[tuple[str, str]] = []

    def note(field: str, message: str) -> None:
        problems.append((field, message))

    for name in sorted(set(entry) - LINE_FIELDS):
        note(f"{where}.{name}", "Unknown field.")
    bucket = _bucket(entry.get("ts"), f"{where}.ts", window, note)
    text = _text(entry.get("line"), max_length, f"{where}.line", note, required=True)
    for field, message in problems:
        fail(field, message)
    return None if problems else LogLine(bucket, text)


def service_name(value, field: str, fail) -> str:
    """A service name as metric points spell it (letters, digits, `_:.-`)."""
    if value is None:
        fail(field, "This field is required.")
    elif not isinstance(value, str) or not value:
        fail(field, "Must be a non-empty string.")
    elif len(value) > MAX_SERVICE:
        fail(field, f"At most {MAX_SERVICE} characters.")
    elif not NAME.match(value):
        fail(field, "Letters, digits, '_', ':', '.', '-' only, not starting with a digit.")
    else:
        return value
    return ""


def _pattern_id(value, fail) -> str:
    if value is None:
        fail("pattern_id", "This field is required.")
    elif not isinstance(value, str) or not value:
        fail("pattern_id", "Must be a non-empty string.")
    elif len(value) > MAX_PATTERN_ID:
        fail("pattern_id", f"At most {MAX_PATTERN_ID} characters.")
    elif not PATTERN_ID.match(value):
        fail("pattern_id", "Letters, digits and . _ : / # @ + = - only.")
    else:
        return value
    return ""


def _text(value, max_length: int, field: str, fail, *, required: bool) -> str:
    if value is None:  # absent optional fields arrive as "": this is null
        fail(field, "This field is required." if required else "Must be a string.")
    elif not isinstance(value, str):
        fail(field, "Must be a string.")
    elif required and not value.strip():
        fail(field, "Must not be blank.")
    elif len(value) > max_length:
        fail(field, f"At most {max_length} characters.")
    elif "\x00" in value:
        fail(field, "Must not contain NUL characters.")
    else:
        return value
    return ""


def _bucket(value, field: str, window: Window, fail) -> datetime:
    moment = parse_moment(value, field, fail)
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    bucket = floor_bucket(moment)
    if moment > window.latest:
        fail(field, f"Beyond the allowed clock skew (after {window.latest.isoformat()}).")
    elif bucket < window.earliest:
        fail(field, f"Older than the retention (before {window.earliest.isoformat()}).")
    return bucket


def _whole(value) -> bool:
    # An integer literal only: 4.0 is not one (the schema publishes `integer`).
    return isinstance(value, int) and not isinstance(value, bool)


def _count(value, fail) -> int:
    if value is None:
        fail("count", "This field is required.")
    elif not _whole(value):
        fail("count", "Must be a whole number.")
    elif value < 0:
        fail("count", "Must not be negative.")
    elif value > MAX_COUNT:
        fail("count", f"At most {MAX_COUNT}.")
    else:
        return int(value)
    return 0
