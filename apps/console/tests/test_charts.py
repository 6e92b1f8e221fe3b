"""The checkpoint chart (pure: no database)."""

from datetime import UTC, datetime, timedelta

from apps.console.charts import checkpoint_svg

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def chart(**overrides) -> str:
    fields = {
        "title": "p95-latency: p95 < 300",
        "minute_values": [(T0 + timedelta(minutes=i), 100.0 + i) for i in range(5)],
        "threshold": 300.0,
        "window_start": T0,
        "window_end": T0 + timedelta(minutes=5),
        "change_at": T0 - timedelta(minutes=2),
    }
    fields.update(overrides)
    return checkpoint_svg(**fields)


def test_it_is_an_inline_svg_with_the_observed_threshold_and_change_series():
    svg = chart()
    assert svg.startswith("<svg")
    for legend in ("observed", "threshold", "change"):
        assert legend in svg


def test_it_carries_no_script():
    assert "<script" not in chart()


def test_a_check_name_is_escaped():
    svg = chart(title="<img src=x onerror=alert(1)>")
    assert "<img" not in svg
    assert "&lt;img" in svg


def test_a_baseline_adds_its_line():
    assert "baseline" in chart(baseline=120.0)
    assert "baseline" not in chart()


def test_no_minutes_still_draws_the_threshold():
    svg = chart(minute_values=[], change_at=None)
    assert "threshold" in svg


def test_the_time_axis_has_at_most_six_whole_minute_labels():
    from apps.console.charts import _ticks

    ticks = _ticks(T0 - timedelta(minutes=30, seconds=20), T0 + timedelta(minutes=5))
    assert 2 <= len(ticks) <= 6
    assert all(tick.second == 0 for tick in ticks)
