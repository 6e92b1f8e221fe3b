"""Validation of pattern counts and raw log batches (pure)."""

from datetime import UTC, datetime, timedelta

from apps.sensor.patterns import Window, floor_bucket, parse_log_batches, parse_pattern_counts

NOW = datetime(2026, 11, 27, 12, 7, 30, tzinfo=UTC)
WINDOW = Window.around(NOW, max_future=timedelta(minutes=5), max_age=timedelta(days=14))


def counts(raw, max_items=100):
    return parse_pattern_counts(raw, window=WINDOW, max_items=max_items)


def logs(raw, max_lines=100, max_line_length=50):
    return parse_log_batches(
        raw, window=WINDOW, max_lines=max_lines, max_line_length=max_line_length
    )


def item(**overrides):
    fields = {"service": "checkout", "pattern_id": "p1", "ts": NOW.isoformat(), "count": 3}
    fields.update(overrides)
    return fields


def test_buckets_start_on_five_minute_boundaries_in_utc():
    assert floor_bucket(NOW) == datetime(2026, 11, 27, 12, 5, tzinfo=UTC)
    local = datetime.fromisoformat("2026-11-27T13:04:59+01:00")
    assert floor_bucket(local) == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_valid_count_lands_in_its_bucket_and_keeps_its_template():
    parsed, errors = counts([item(template="GET <*> 500")])
    assert errors == []
    assert parsed[0].bucket == datetime(2026, 11, 27, 12, 5, tzinfo=UTC)
    assert (parsed[0].template, parsed[0].count) == ("GET <*> 500", 3)


def test_repeats_are_kept_for_the_upsert_to_add_up():
    parsed, _ = counts([item(count=1), item(count=2)])
    assert [c.count for c in parsed] == [1, 2]


def test_counts_must_be_whole_non_negative_numbers():
    _, errors = counts(
        [item(count=-1), item(count="3"), item(count=2.5), item(count=True), item(count=10**13)]
    )
    assert [(e.index, e.field) for e in errors] == [(i, "count") for i in range(5)]
    parsed, errors = counts([item(count=0), item(count=4)])
    assert errors == [] and [c.count for c in parsed] == [0, 4]
    assert counts([item(count=4.0)])[1][0].field == "count"


def test_each_error_names_its_index_and_field():
    _, errors = counts([item(), item(ts="later", pattern_id=""), item(colour="red"), 7])
    assert [(e.index, e.field) for e in errors] == [
        (1, "pattern_id"),
        (1, "ts"),
        (2, "colour"),
        (3, ""),
    ]


def test_too_long_strings_and_odd_pattern_ids_are_errors():
    _, errors = counts([item(template="x" * 2001), item(pattern_id="a b"), item(service="s" * 101)])
    assert [(e.index, e.field) for e in errors] == [
        (0, "template"),
        (1, "pattern_id"),
        (2, "service"),
    ]


def test_timestamps_outside_the_window_are_errors():
    _, errors = counts(
        [
            item(ts=(NOW + timedelta(minutes=10)).isoformat()),
            item(ts=(NOW - timedelta(days=15)).isoformat()),
            item(ts="0001-01-01T00:00:00+05:00"),
        ]
    )
    assert [(e.index, e.field) for e in errors] == [(0, "ts"), (1, "ts"), (2, "ts")]


def test_the_body_must_be_a_non_empty_array_within_the_cap():
    assert counts({"service": "x"})[1][0].index == -1
    assert counts([])[1][0].index == -1
    assert "At most 2" in counts([item()] * 3, max_items=2)[1][0].message


def test_one_log_batch_or_a_list_of_them_is_accepted():
    batch = {"service": "checkout", "lines": [{"ts": NOW.timestamp(), "line": "boom"}]}
    one, errors = logs(batch)
    assert errors == [] and one[0].lines[0].line == "boom"
    two, errors = logs([batch, batch | {"service": "cart"}])
    assert errors == [] and [b.service for b in two] == ["checkout", "cart"]


def test_log_line_errors_name_the_batch_and_the_line():
    raw = [
        {"service": "checkout", "lines": [{"ts": NOW.isoformat(), "line": "ok"}]},
        {
            "service": "checkout",
            "lines": [
                {"ts": "soon", "line": "x"},
                {"ts": NOW.isoformat(), "line": "y" * 51},
                {"ts": NOW.isoformat(), "line": "  "},
                {"ts": NOW.isoformat(), "line": "z", "level": "warn"},
                "plain text",
            ],
        },
        {"service": "checkout", "lines": []},
    ]
    _, errors = logs(raw)
    assert [(e.index, e.field) for e in errors] == [
        (1, "lines.0.ts"),
        (1, "lines.1.line"),
        (1, "lines.2.line"),
        (1, "lines.3.level"),
        (1, "lines.4"),
        (2, "lines"),
    ]


def test_the_lines_cap_counts_every_batch_of_the_request():
    batch = {"service": "s", "lines": [{"ts": NOW.isoformat(), "line": "a"}] * 3}
    _, errors = logs([batch, batch], max_lines=5)
    assert errors[0].index == -1 and "At most 5 lines" in errors[0].message
