"""The anomaly rules on labelled series generated here (pure: no database)."""

import math
import random

import pytest

from apps.analyst.rules import DEFAULTS, KINDS, Window, evaluate, lookback, validate_params


def params(kind: str, **overrides) -> dict:
    return validate_params(kind, overrides)


def judge(kind: str, values, rule=None, **series):
    rule = rule or params(kind)
    return evaluate(kind, rule, Window(values=list(values), **series))


def noise(seed: int, n: int, level: float = 100.0, sigma: float = 2.0) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0, sigma) for _ in range(n)]


def deviation_fires(series, rule=None) -> list[int]:
    """The minutes at which the deviation rule fires, streaming the series."""
    rule = rule or params("deviation", baseline_minutes=120, min_points=30)
    span = lookback("deviation", rule)
    return [
        i
        for i in range(len(series))
        if evaluate("deviation", rule, Window(values=series[max(0, i + 1 - span) : i + 1])).fired
    ]


# -- parameters ---------------------------------------------------------------------------------


def test_every_kind_has_shipped_defaults():
    assert set(DEFAULTS) == set(KINDS)
    for kind in KINDS:
        assert {"for_minutes", "min_points", "clear_after"} <= set(DEFAULTS[kind])


def test_validate_params_merges_over_the_defaults():
    merged = validate_params("deviation", {"z": 5})
    assert merged["z"] == 5.0
    assert merged["baseline_minutes"] == DEFAULTS["deviation"]["baseline_minutes"]


def test_validate_params_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match=r"^kind: "):
        validate_params("magic", {})


def test_validate_params_rejects_an_unknown_param_by_name():
    with pytest.raises(ValueError, match=r"^zz: not a parameter"):
        validate_params("deviation", {"zz": 3})


def test_validate_params_rejects_a_bad_value_by_name():
    with pytest.raises(ValueError, match=r"^for_minutes: must be at least 1"):
        validate_params("deviation", {"for_minutes": 0})
    with pytest.raises(ValueError, match=r"^op: must be one of"):
        validate_params("threshold", {"op": "==", "threshold": 1})
    with pytest.raises(ValueError, match=r"^z: must be a finite number"):
        validate_params("deviation", {"z": math.inf})


def test_a_threshold_rule_needs_its_threshold():
    with pytest.raises(ValueError, match=r"^threshold: is required"):
        validate_params("threshold", {})


def test_min_points_cannot_exceed_the_lookback():
    with pytest.raises(ValueError, match=r"^min_points: "):
        validate_params("deviation", {"baseline_minutes": 10, "min_points": 20})


def test_lookback_is_the_baseline_plus_the_for_window():
    rule = params("deviation", baseline_minutes=120, for_minutes=3, min_points=30)
    assert lookback("deviation", rule) == 123


# -- threshold ----------------------------------------------------------------------------------


def test_threshold_fires_when_every_minute_of_the_for_window_breaches():
    verdict = judge("threshold", [250, 412, 420, 430], params("threshold", threshold=300))
    assert verdict.fired
    assert verdict.minutes == 3
    assert verdict.reason == "430 > 300 for 3 of 3 minutes"


def test_threshold_does_not_fire_on_one_bad_minute_of_three():
    verdict = judge("threshold", [250, 260, 412], params("threshold", threshold=300))
    assert not verdict.fired
    assert verdict.minutes == 1


def test_threshold_with_too_few_minutes_of_data_is_insufficient():
    verdict = judge("threshold", [None, None, 900], params("threshold", threshold=300))
    assert verdict.insufficient
    assert not verdict.fired


# -- deviation ----------------------------------------------------------------------------------


def test_deviation_fires_on_a_level_shift_soon_after_it_starts():
    series = noise(1, 200) + noise(2, 60, level=130)
    fired = deviation_fires(series)
    assert fired
    assert 200 <= fired[0] <= 202


def test_deviation_fires_on_a_spike_and_not_on_the_noise_around_it():
    series = noise(3, 300)
    series[250] = 160.0
    assert deviation_fires(series) == [250]


def test_deviation_does_not_fire_on_steady_noise():
    assert deviation_fires(noise(4, 600)) == []


def test_deviation_ignores_a_slow_drift():
    series = [v + 0.02 * i for i, v in enumerate(noise(5, 600))]  # 12 over 600 minutes
    assert deviation_fires(series) == []


def test_deviation_on_a_flat_series_scores_finite_and_fires_only_on_the_jump():
    # Once the jump's first minute is in the baseline, the next ones are inside its range: the
    # episode (clear_after) carries the finding, not a verdict every minute. (The run test,
    # off here, would also fire while the 20-minute mean keeps climbing.)
    series = [50.0] * 200 + [50.4, 50.0, 49.8, 50.0] + [50.0] * 40 + [80.0] * 5
    rule = params("deviation", baseline_minutes=120, min_points=30, mean_minutes=1)
    span = lookback("deviation", rule)
    verdicts = [
        evaluate("deviation", rule, Window(values=series[max(0, i + 1 - span) : i + 1]))
        for i in range(len(series))
    ]
    assert all(math.isfinite(v.score) for v in verdicts)
    assert [i for i, v in enumerate(verdicts) if v.fired] == [244]


def test_deviation_on_an_all_zero_series_scores_finite():
    verdict = judge("deviation", [0.0] * 100 + [3.0], params("deviation", min_points=30))
    assert verdict.fired
    assert math.isfinite(verdict.score)


def test_deviation_with_too_little_history_is_insufficient():
    verdict = judge("deviation", [*noise(6, 10), 500.0])
    assert verdict.insufficient
    assert not verdict.fired


def test_deviation_missing_minutes_do_not_count_as_data():
    values = [None] * 200 + noise(7, 20) + [500.0]
    verdict = judge("deviation", values, params("deviation", min_points=30))
    assert verdict.insufficient


def test_deviation_for_minutes_needs_the_change_to_persist():
    rule = params("deviation", baseline_minutes=120, min_points=30, for_minutes=3)
    series = noise(8, 200)
    series[150] = series[151] = 160.0  # two minutes: not enough
    series += [170.0] * 3
    assert deviation_fires(series, rule) == [202]


def test_deviation_direction_up_ignores_drops():
    rule = params("deviation", baseline_minutes=120, min_points=30, direction="up")
    series = noise(9, 200)
    series[150], series[180] = 40.0, 160.0
    assert deviation_fires(series, rule) == [180]


def test_deviation_fires_on_a_level_shift_that_stays_inside_the_usual_range():
    # A 15 % drop of a noisy level: no single minute leaves the day's range, the 20-minute mean
    # does (the minutes-only rule, mean_minutes 1, has not fired 20 minutes later).
    series = noise(10, 300, level=20.0) + noise(11, 20, level=17.0)
    points_only = params("deviation", baseline_minutes=240, min_points=30, mean_minutes=1)
    assert [i for i in deviation_fires(series, points_only) if i >= 300] == []
    fired = deviation_fires(series, params("deviation", baseline_minutes=240, min_points=30))
    assert [i for i in fired if i >= 300][:1] == [311]


def test_deviation_fires_when_spikes_of_the_usual_height_come_more_often():
    # The same 20-high spike every 50 minutes, then one every 4 minutes.
    series = [20.0 if i % 50 == 0 else 0.0 for i in range(400)]
    series += [20.0 if i % 4 == 0 else 0.0 for i in range(40)]
    fired = deviation_fires(series, params("deviation", baseline_minutes=240, min_points=30))
    assert fired
    assert 400 < fired[0] <= 420


def test_deviation_run_test_ignores_a_level_the_baseline_already_held():
    # The same 15 % dip as an hour earlier is inside the baseline's runs; without the earlier
    # dip the 20-minute mean fires on it.
    rule = params("deviation", baseline_minutes=300, min_points=30)
    before = noise(12, 120, level=20.0) + noise(13, 60, level=17.0) + noise(14, 120, level=20.0)
    again = before + noise(15, 40, level=17.0)
    assert [i for i in deviation_fires(again, rule) if i >= 315] == []
    first = noise(12, 300, level=20.0) + noise(15, 40, level=17.0)
    assert [i for i in deviation_fires(first, rule) if i >= 315]


def test_deviation_run_test_says_so_in_the_reason():
    rule = params("deviation", baseline_minutes=240, min_points=30)
    values = noise(10, 300, level=20.0) + noise(11, 12, level=17.0)
    verdict = judge("deviation", values[-lookback("deviation", rule) :], rule)
    assert verdict.fired
    assert "20-minute mean" in verdict.reason


def test_deviation_run_test_needs_every_minute_of_the_run():
    rule = params("deviation", baseline_minutes=240, min_points=30)
    values = noise(10, 300, level=20.0) + noise(11, 12, level=17.0)
    values[-5] = None
    assert not judge("deviation", values, rule).fired


# -- seasonal -----------------------------------------------------------------------------------


def daily(minute: int, peak_at: int) -> float:
    """A quiet level with a two-hour peak at `peak_at` (minute of the day)."""
    return 100.0 + (400.0 if peak_at <= minute % 1440 < peak_at + 120 else 0.0)


def seasonal_window(peak_today: int, minute: int, seed: int) -> Window:
    rng = random.Random(seed)
    span = range(minute - 59, minute + 1)

    def wobble(value: float) -> float:
        return value * (1 + rng.gauss(0, 0.02))

    return Window(
        values=[wobble(daily(m, peak_today)) for m in span],
        day_ago=[wobble(daily(m, 600)) for m in span],
        week_ago=[wobble(daily(m, 600)) for m in span],
    )


def test_seasonal_does_not_fire_on_the_usual_daily_peak():
    verdict = evaluate("seasonal", params("seasonal"), seasonal_window(600, 660, seed=10))
    assert not verdict.fired
    assert verdict.observed > 400  # it is the peak


def test_seasonal_fires_on_a_peak_at_an_unusual_hour():
    verdict = evaluate("seasonal", params("seasonal"), seasonal_window(780, 840, seed=11))
    assert verdict.fired
    assert verdict.baseline < 150  # a day and a week ago this minute was quiet


def test_seasonal_without_seasonal_data_is_insufficient():
    verdict = judge("seasonal", noise(12, 60))
    assert verdict.insufficient
    assert not verdict.fired


# -- error rate ---------------------------------------------------------------------------------


def test_error_rate_fires_on_a_real_error_spike():
    verdict = judge("error_rate", [40, 50, 60], volume=[500, 500, 500])
    assert verdict.fired
    assert verdict.observed == pytest.approx(0.1)


def test_error_rate_does_not_fire_on_a_low_volume_spike():
    verdict = judge("error_rate", [3, 4, 5], volume=[6, 8, 7])
    assert not verdict.fired
    assert "only 21 requests" in verdict.reason


def test_error_rate_does_not_fire_below_the_rate():
    verdict = judge("error_rate", [5, 6, 4], volume=[1000, 1000, 1000])
    assert not verdict.fired


def test_error_rate_without_request_counts_is_insufficient():
    verdict = judge("error_rate", [5, 6, 4], volume=[None, 0, None])
    assert verdict.insufficient


# -- logs ---------------------------------------------------------------------------------------


def test_log_new_fires_on_a_pattern_never_seen_in_the_baseline():
    verdict = judge("log_new", [None] * 288 + [5])
    assert verdict.fired


def test_log_new_does_not_fire_on_a_pattern_seen_before():
    verdict = judge("log_new", [None] * 100 + [1] + [None] * 187 + [5])
    assert not verdict.fired


def test_log_new_does_not_fire_below_min_count():
    verdict = judge("log_new", [0] * 288 + [1])
    assert not verdict.fired


def test_log_new_with_a_short_history_is_insufficient():
    verdict = judge("log_new", [0] * 20 + [9])
    assert verdict.insufficient


def test_log_surge_fires_when_the_count_jumps_by_the_factor():
    verdict = judge("log_surge", [2, 3] * 144 + [40])
    assert verdict.fired
    assert verdict.score == pytest.approx(16.0)


def test_log_surge_does_not_fire_on_the_usual_count():
    verdict = judge("log_surge", [20, 25] * 144 + [30])
    assert not verdict.fired


def test_log_surge_does_not_fire_below_min_count():
    verdict = judge("log_surge", [0.1] * 288 + [10])
    assert not verdict.fired


# -- the shipped rules --------------------------------------------------------------------------


def test_every_shipped_rule_has_valid_params():
    from pathlib import Path

    import yaml

    shipped = yaml.safe_load((Path(__file__).parent.parent / "rules.yaml").read_text())
    for entry in shipped:
        assert entry["kind"] in KINDS, entry["name"]
        validate_params(entry["kind"], entry["params"])
    general = [e for e in shipped if e["kind"] == "deviation" and not e["scope"]]
    assert [e["name"] for e in general] == ["metric-deviation"]
