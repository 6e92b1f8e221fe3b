"""The verdict on one check, and on a whole verification, from per-minute values (pure)."""

from datetime import UTC, datetime, timedelta

from apps.verifier.evaluate import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Check,
    MinuteSeries,
    Window,
    aggregate,
    decide,
    evaluate,
    window_before,
)

NOW = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
WINDOW = window_before(NOW, 300)  # 11:55 .. 11:59
BASELINE_WINDOW = window_before(NOW - timedelta(minutes=30), 300)


def p95(**overrides) -> Check:
    fields = {
        "name": "p95-latency",
        "metric": "http_p95_ms",
        "aggregate": "p95",
        "operator": "<",
        "threshold": 300,
    }
    fields.update(overrides)
    return Check.from_plan(fields)


def series(values, window: Window = WINDOW, labels=None) -> MinuteSeries:
    """Values for the window's minutes, oldest first; None leaves a minute without data."""
    points = [
        (minute, value) for minute, value in zip(window.buckets(), values) if value is not None
    ]
    return MinuteSeries(labels=labels or {}, points=points)


def test_window_is_the_complete_minutes_before_now():
    assert WINDOW.start == datetime(2026, 11, 27, 11, 55, tzinfo=UTC)
    assert WINDOW.end == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert WINDOW.minutes == 5


def test_healthy_values_pass_with_a_sentence_saying_so():
    verdict = evaluate(p95(), [series([200, 210, 190, 220, 205])], WINDOW)
    assert verdict.result == PASS
    assert verdict.observed == 220
    assert verdict.sentence == "p95 latency 220 ms < 300 ms over 5 minutes"


def test_breach_fails_with_the_design_sentence():
    check = p95(for_minutes=3)
    verdict = evaluate(check, [series([None, None, 412, 405, 398])], WINDOW)
    assert verdict.result == FAIL
    assert verdict.sentence.startswith("p95 latency 412 ms > 300 ms for 3 of 3 minutes")


def test_one_bad_minute_does_not_fail_a_three_minute_check():
    verdict = evaluate(p95(for_minutes=3), [series([200, 900, 210, 205, 200])], WINDOW)
    assert verdict.result == PASS
    assert verdict.breached_minutes == 1
    assert "under the 3 consecutive minutes needed to fail" in verdict.sentence


def test_three_consecutive_bad_minutes_fail_a_three_minute_check():
    verdict = evaluate(p95(for_minutes=3), [series([200, 900, 910, 905, 200])], WINDOW)
    assert verdict.result == FAIL
    assert verdict.longest_breach == 3


def test_a_gap_in_the_data_breaks_a_run_of_bad_minutes():
    verdict = evaluate(p95(for_minutes=3), [series([900, 910, None, 905, 920])], WINDOW)
    assert verdict.result == PASS
    assert verdict.longest_breach == 2


def test_no_data_is_inconclusive_by_default():
    verdict = evaluate(p95(), [], WINDOW)
    assert verdict.result == INCONCLUSIVE
    assert verdict.sentence == (
        "p95 latency: no data for http_p95_ms in the 5 minutes window (inconclusive)"
    )


def test_no_data_policy_pass_and_fail_are_honoured():
    assert evaluate(p95(no_data="pass"), [], WINDOW).result == PASS
    assert evaluate(p95(no_data="fail"), [], WINDOW).result == FAIL


def test_values_outside_the_window_are_ignored():
    before = MinuteSeries(labels={}, points=[(WINDOW.start - timedelta(minutes=1), 999)])
    assert evaluate(p95(), [before], WINDOW).result == INCONCLUSIVE


def test_the_worst_series_counts_for_each_minute():
    healthy = series([100] * 5, labels={"pod": "a"})
    sick = series([500] * 5, labels={"pod": "b"})
    assert evaluate(p95(), [healthy, sick], WINDOW).observed == 500
    assert evaluate(p95(operator=">", threshold=50), [healthy, sick], WINDOW).observed == 100


def test_baseline_increase_beyond_the_limit_fails():
    check = p95(threshold=1000, baseline={"max_increase_pct": 20})
    verdict = evaluate(
        check,
        [series([260] * 5)],
        WINDOW,
        baseline_series=[series([200] * 5, BASELINE_WINDOW)],
        baseline_window=BASELINE_WINDOW,
    )
    assert verdict.result == FAIL
    assert verdict.baseline == 200
    assert verdict.change_pct == 30
    assert "+30% vs baseline 200 ms (max +20%)" in verdict.sentence


def test_baseline_increase_within_the_limit_passes():
    check = p95(threshold=1000, baseline={"max_increase_pct": 20})
    verdict = evaluate(
        check,
        [series([220] * 5)],
        WINDOW,
        baseline_series=[series([200] * 5, BASELINE_WINDOW)],
        baseline_window=BASELINE_WINDOW,
    )
    assert verdict.result == PASS
    assert "+10% vs baseline 200 ms" in verdict.sentence


def test_missing_baseline_data_leaves_the_threshold_to_decide():
    check = p95(baseline={"max_increase_pct": 20})
    verdict = evaluate(
        check, [series([250] * 5)], WINDOW, baseline_series=[], baseline_window=BASELINE_WINDOW
    )
    assert verdict.result == PASS
    assert verdict.sentence.endswith("no baseline data before the change")


def test_each_aggregate_summarises_the_minute_values():
    values = [5, 1, 9, 3]
    assert aggregate(values, "avg") == 4.5
    assert aggregate(values, "max") == 9
    assert aggregate(values, "min") == 1
    assert aggregate(values, "last") == 3
    assert aggregate(list(range(1, 101)), "p95") == 95


def test_sentence_names_the_aggregate_when_the_check_name_does_not():
    check = p95(name="error-rate", metric="http_error_pct", aggregate="avg", threshold=1)
    verdict = evaluate(check, [series([2, 2, 2, 2, 2])], WINDOW)
    assert verdict.sentence == "error rate (avg) 2% > 1% for 5 of 5 minutes"


def test_dry_run_failure_is_recorded_but_does_not_decide():
    real = evaluate(p95(), [series([200] * 5)], WINDOW)
    shadow = evaluate(p95(name="strict", threshold=100, dry_run=True), [series([200] * 5)], WINDOW)
    assert shadow.result == FAIL
    assert shadow.sentence.startswith("[dry run] strict (p95) 200 ms > 100 ms")
    passed, summary = decide([real, shadow])
    assert passed
    assert "dry run, not deciding: check 'strict' fail" in summary


def test_decide_names_the_failing_check():
    good = evaluate(p95(name="ok"), [series([200] * 5)], WINDOW)
    bad = evaluate(p95(name="latency"), [series([400] * 5)], WINDOW)
    passed, summary = decide([good, bad])
    assert not passed
    assert summary.startswith("Verification failed: check 'latency' fail: latency (p95) 400 ms")


def test_decide_parks_on_inconclusive():
    passed, summary = decide([evaluate(p95(), [], WINDOW)])
    assert not passed
    assert summary.startswith("Verification inconclusive: check 'p95-latency' inconclusive")


def test_only_dry_run_checks_cannot_pass():
    passed, summary = decide([evaluate(p95(dry_run=True), [series([1] * 5)], WINDOW)])
    assert not passed
    assert "every check is dry_run" in summary


def test_units_come_from_a_metric_name_or_a_bare_promql_selector():
    window = [series([1] * 5)]
    assert " ms " in evaluate(p95(), window, WINDOW).sentence
    bare = Check.from_plan({"name": "x", "promql": 'lat_ms{pod="a"}', "threshold": 2})
    assert evaluate(bare, window, WINDOW).sentence.startswith("x (avg) 1 ms < 2 ms")
    query = Check.from_plan({"name": "x", "promql": "sum(rate(req_ms[1m]))", "threshold": 2})
    assert evaluate(query, window, WINDOW).sentence.startswith("x (avg) 1 < 2")


def test_checks_the_evaluator_cannot_judge_are_refused_with_the_reason():
    import pytest

    from apps.verifier.evaluate import InvalidCheck

    with pytest.raises(InvalidCheck, match="threshold is required"):
        Check.from_plan({"name": "x", "metric": "m"})
    with pytest.raises(InvalidCheck, match="unknown operator '=<'"):
        Check.from_plan({"name": "x", "metric": "m", "threshold": 1, "operator": "=<"})
    with pytest.raises(InvalidCheck, match="needs a metric or a promql"):
        Check.from_plan({"name": "x", "threshold": 1})
