"""staging.split (pure): series hashed once, repeats collapsed, everything in key order."""

import random
from datetime import UTC, datetime, timedelta

from apps.sensor.staging import canonical_labels, series_id, split

MINUTE = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_labels_in_another_order_are_one_series_and_a_repeat_keeps_the_last_value():
    later = MINUTE + timedelta(minutes=1)
    series, rows = split(
        [
            (MINUTE, "s", "m", {"a": "1", "b": "2"}, 1.0),
            (later, "s", "m", {"b": "2", "a": "1"}, 2.0),
            (MINUTE, "s", "m", {"b": "2", "a": "1"}, 3.0),
        ]
    )
    key = series_id("s", "m", canonical_labels({"a": "1", "b": "2"}))
    assert series == {key: ("s", "m", canonical_labels({"a": "1", "b": "2"}))}
    assert rows == [(key, MINUTE, 3.0), (key, later, 2.0)]


def test_series_and_rows_come_in_key_order_whatever_the_order_given():
    points = [
        (MINUTE + timedelta(minutes=m), "s", "m", {"pod": str(p)}, float(p))
        for p in range(20)
        for m in range(5)
    ]
    random.Random(3).shuffle(points)
    series, rows = split(points)
    assert list(series) == sorted(series)
    assert [row[:2] for row in rows] == sorted(row[:2] for row in rows)
    assert len(rows) == 100
