"""Validation of ingested metric points (pure)."""

import json
import random
from datetime import UTC, datetime, timedelta

from apps.sensor.points import PointError, _parse_point, decode_plain, floor_minute, parse_points

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)


LIMITS = {"now": NOW, "max_points": 100, "max_future": timedelta(minutes=5)}


def parse(raw):
    return parse_points(raw, **LIMITS, max_age=timedelta(days=14))


def decode(body: bytes):
    return decode_plain(body, **LIMITS, max_age=timedelta(days=14))


def agrees(body: bytes) -> bool:
    """Whether decode_plain took the body (True) or left it (False); where it took it, it
    returned what parse_points returns for the same JSON, which accepted it, once repeats of a
    series and minute collapse to the last."""
    decoded = decode(body)
    if decoded is None:
        return False
    points, errors = parse(json.loads(body))
    assert errors == []
    decoded_points, received = decoded
    assert received == len(json.loads(body))
    assert list({point.key: point for point in decoded_points}.values()) == points
    return True


def point(**overrides):
    fields = {"service": "checkout", "metric": "http_p95_ms", "ts": NOW.isoformat(), "value": 1}
    fields.update(overrides)
    return fields


def test_timestamps_are_truncated_to_their_minute():
    points, errors = parse([point(ts="2026-11-27T11:58:42Z")])
    assert errors == []
    assert points[0].minute == datetime(2026, 11, 27, 11, 58, tzinfo=UTC)


def test_unix_seconds_are_accepted():
    points, _ = parse([point(ts=NOW.timestamp())])
    assert points[0].minute == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_repeats_of_a_series_minute_collapse_to_the_last():
    points, _ = parse([point(value=1), point(value=2), point(value=3, labels={"pod": "a"})])
    assert sorted(p.value for p in points) == [2, 3]


def test_each_error_names_its_index_and_field():
    _, errors = parse([point(), point(value="fast"), point(ts="yesterday", service="")])
    assert [(e.index, e.field) for e in errors] == [(1, "value"), (2, "service"), (2, "ts")]


def test_unknown_fields_and_non_objects_are_errors():
    _, errors = parse([point(colour="red"), 7])
    assert [(e.index, e.field) for e in errors] == [(0, "colour"), (1, "")]


def test_non_finite_and_huge_values_are_errors():
    _, errors = parse([point(value=float("nan")), point(value=10**400), point(value=True)])
    assert [e.index for e in errors] == [0, 1, 2]


def test_points_too_far_in_the_future_are_errors():
    _, errors = parse([point(ts=(NOW + timedelta(minutes=10)).isoformat())])
    assert errors[0].field == "ts"


def test_points_older_than_the_retention_are_errors():
    oldest = NOW - timedelta(days=14)
    points, errors = parse([point(ts=(oldest - timedelta(minutes=1)).isoformat())])
    assert points == []
    assert [(e.index, e.field) for e in errors] == [(0, "ts")]
    assert "Older than the metric retention" in errors[0].message
    _, errors = parse([point(ts=oldest.isoformat())])
    assert errors == []


def test_unix_epoch_zero_is_refused_as_too_old():
    _, errors = parse([point(ts=0)])
    assert errors[0].field == "ts"


def test_label_values_must_be_strings():
    _, errors = parse([point(labels={"pod": 3})])
    assert errors[0].field == "labels.pod"


def test_body_must_be_a_non_empty_array_within_the_limit():
    assert parse({"service": "x"})[1][0].index == -1
    assert parse([])[1][0].index == -1
    assert "At most 100" in parse([point()] * 101)[1][0].message


EDGES = [
    point(),
    point(service="a" * 100),
    point(service="a" * 101),
    point(metric="m\n"),  # `$` matches before a final newline: the rule's own reading
    point(metric="9lives"),
    point(labels={f"k{i}": "v" for i in range(20)}),
    point(labels={f"k{i}": "v" for i in range(21)}),
    point(labels={"": "v"}),
    point(labels={"k": "v" * 200}),
    point(labels={"k": "v" * 201}),
    point(labels={"k": None}),
    point(labels=None),
    point(labels={}),
    point(ts="2026-11-27T11:58:42Z"),
    point(ts="2026-11-27T11:58:42"),
    point(ts="2026-11-27T13:58:42+02:00"),
    point(ts=NOW.timestamp()),
    point(ts=int(NOW.timestamp())),
    point(ts=True),
    point(ts=float("nan")),
    point(ts=(NOW - timedelta(days=14)).isoformat()),
    point(ts=(NOW - timedelta(days=14, minutes=1)).isoformat()),
    point(ts=(NOW + timedelta(minutes=5)).isoformat()),
    point(ts=(NOW + timedelta(minutes=5, seconds=1)).isoformat()),
    point(value=2**1023),
    point(value=-(2**1023) - 1),
    point(value=float("inf")),
    point(value=-0.0),
    point(value=False),
    point(value="1"),
]


def test_the_batch_check_agrees_with_the_careful_check_on_every_edge():
    # parse() runs the cheap check first, twice for the second point: once to learn the
    # names and timestamp, once from what it learnt.
    earliest, latest = floor_minute(NOW - timedelta(days=14)), NOW + timedelta(minutes=5)
    for edge in EDGES:
        expected, problems = _parse_point(1, edge, earliest, latest)
        points, errors = parse([edge, edge])
        assert errors == [PointError(i, e.field, e.message) for i in (0, 1) for e in problems]
        assert points == ([] if problems else [expected]), edge


def test_plain_and_unusual_points_of_one_batch_all_land():
    points, errors = parse([point(value=2.5), point(value=2**70, metric="big")])
    assert errors == []
    assert sorted(p.value for p in points) == [2.5, 2**70]


def test_a_unix_seconds_timestamp_and_its_iso_text_are_one_minute():
    points, _ = parse([point(ts=NOW.timestamp(), value=1), point(ts=NOW.isoformat(), value=2)])
    assert [p.value for p in points] == [2]


def test_the_plain_decoder_returns_what_the_careful_check_returns_or_leaves_the_body():
    taken = [edge for edge in EDGES if agrees(json.dumps([edge, edge]).encode())]
    # It is not vacuous: the plain points are taken, whatever their labels and timestamp.
    assert point() in taken
    assert point(labels={"k": "v" * 200}) in taken
    assert point(ts=int(NOW.timestamp())) in taken


def test_the_plain_decoder_agrees_on_random_values_and_label_orders():
    rng = random.Random(14)
    values = [rng.uniform(-1e6, 1e6) for _ in range(90)] + [rng.randrange(-(2**80), 2**80)]
    values += [2**53 + 1, 8e307, -(2**1022), 5e-324]
    raw = [
        point(value=v, labels=dict(rng.sample([("a", "1"), ("b", "2"), ("c", "3")], 2)))
        for v in values
    ]
    assert agrees(json.dumps(raw).encode())


def test_the_plain_decoder_takes_a_repeated_key_as_json_does_the_last():
    assert agrees(json.dumps([point()]).replace('"value": 1', '"value": 1, "value": 2').encode())


def test_the_plain_decoder_leaves_every_unusual_body_to_the_careful_path():
    plain = json.dumps([point()])
    unusual = [
        plain.replace("checkout", "check\\u0000out"),  # NUL: the JSON parser refuses it
        plain.replace("checkout", "caf\\u00e9"),  # any escape at all
        plain.replace('"value": 1', '"value": NaN'),
        plain.replace('"value": 1', '"value": 1e400'),
        plain.replace('"value": 1', f'"value": {2**1024}'),
        json.dumps([point(), point(extra=1)]),
        json.dumps([point()] * 101),
        "[]",
        json.dumps(point()),
        plain[:-1],
        "",
    ]
    for body in unusual:
        assert not agrees(body.encode()), body
