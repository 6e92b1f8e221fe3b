"""Pure anomaly rules: one series' recent minutes in, a verdict out (no I/O, no database).

Six kinds (docs/analyst.md has the long form, with the defaults and the NAB result):
- threshold   the value compared with a fixed bound (`op`, `threshold`).
- deviation   robust z of the value against the median of a trailing baseline, and beyond the
              baseline's range; or the same for the mean of the last `mean_minutes` minutes
              against the baseline's runs of that length (a level shift inside the usual
              range). The scale has a floor so a flat series (MAD 0) gives finite scores.
- seasonal    the value against the same minute a day and a week ago, with a relative tolerance
              and a robust one (the usual spread of value - reference over the window).
- error_rate  errors / requests over the window, fired only with `min_volume` requests.
- log_new     a log pattern with no occurrence in the baseline now seen `min_count` times.
- log_surge   a log pattern's count now against its baseline rate (`factor`, `min_count`).

Every kind has `for_minutes` (the condition holds for each of the last N minutes),
`min_points` (fewer non-missing points than this: insufficient, never fires) and
`clear_after` (read by episodes.advance, not here). For the log kinds a value is one bucket of
the pattern store (5 minutes); `*_minutes` then count buckets and a missing bucket is a zero.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("threshold", "deviation", "seasonal", "error_rate", "log_new", "log_surge")
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
DIRECTIONS = ("up", "down", "both")
MAD_TO_SIGMA = 1.4826  # MAD x this estimates the standard deviation of normal noise
MEAN_AD_TO_SIGMA = 1.2533  # mean absolute deviation x this, likewise
SCORE_CAP = 1e6  # scores stay finite and printable whatever the data

COMMON = {"for_minutes": 1, "min_points": 1, "clear_after": 5}
DEFAULTS: dict[str, dict] = {
    "threshold": {**COMMON, "for_minutes": 3, "min_points": 3, "op": ">", "threshold": None},
    "deviation": {
        **COMMON,
        "baseline_minutes": 1440,
        "z": 2.0,
        "range_factor": 1.0,
        "direction": "both",
        "min_scale_pct": 5.0,
        "min_scale": 0.0,
        "mean_minutes": 20,
        "for_minutes": 1,
        "min_points": 60,
        "clear_after": 30,
    },
    "seasonal": {
        **COMMON,
        "window_minutes": 60,
        "tolerance_pct": 30.0,
        "z": 4.0,
        "min_scale": 0.0,
        "direction": "both",
        "for_minutes": 5,
        "min_points": 30,
        "clear_after": 15,
    },
    "error_rate": {
        **COMMON,
        "rate": 0.05,
        "min_volume": 100,
        "for_minutes": 3,
        "min_points": 3,
        "clear_after": 10,
    },
    "log_new": {
        **COMMON,
        "baseline_minutes": 288,
        "min_count": 3,
        "for_minutes": 1,
        "min_points": 288,
        "clear_after": 12,
    },
    "log_surge": {
        **COMMON,
        "baseline_minutes": 288,
        "factor": 5.0,
        "min_count": 20,
        "for_minutes": 1,
        "min_points": 12,
        "clear_after": 6,
    },
}
LOG_KINDS = ("log_new", "log_surge")


@dataclass(frozen=True)
class Window:
    """What a rule sees of one series at one evaluation minute (oldest first; the last value is
    the minute being evaluated; None = no data for that minute)."""

    values: Sequence[float | None]
    # The same minutes one day and one week earlier, aligned with values (seasonal only).
    day_ago: Sequence[float | None] = ()
    week_ago: Sequence[float | None] = ()
    # error_rate only: total requests per minute (values = errors).
    volume: Sequence[float | None] = ()


@dataclass(frozen=True)
class Verdict:
    fired: bool
    observed: float | None  # the value judged (e.g. last minute, or error rate)
    baseline: float | None  # what it was compared with (median, threshold, seasonal value)
    score: float  # how far out (robust z or ratio); ALWAYS finite (never inf/nan)
    minutes: int  # consecutive trailing minutes the condition held
    reason: str  # a sentence a person reads: "http_p95_ms 412 > 300 for 3 of 3 minutes"
    insufficient: bool = False  # the minimum-data rule is not met: never fires


# -- parameters ---------------------------------------------------------------------------------


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError("must be a whole number")
    if value < 1:
        raise ValueError("must be at least 1")
    return int(value)


def _number(value: Any, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("must be a finite number")
    if value < minimum or (strict and value == minimum):
        raise ValueError(f"must be {'above' if strict else 'at least'} {minimum:g}")
    return float(value)


def _choice(options: Sequence[str]):
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return check


def _any_number(value: Any) -> float:
    if value is None:
        raise ValueError("is required")
    return _number(value, minimum=-math.inf)


CHECKS = {
    "for_minutes": _positive_int,
    "min_points": _positive_int,
    "clear_after": _positive_int,
    "baseline_minutes": _positive_int,
    "window_minutes": _positive_int,
    "mean_minutes": _positive_int,
    "op": _choice(tuple(OPERATORS)),
    "direction": _choice(DIRECTIONS),
    "threshold": _any_number,
    "z": lambda v: _number(v, strict=True),
    "min_scale_pct": _number,
    "min_scale": _number,
    "tolerance_pct": _number,
    "range_factor": _number,
    "rate": lambda v: _number(v, strict=True),
    "min_volume": _number,
    "min_count": lambda v: _number(v, strict=True),
    "factor": lambda v: _number(v, minimum=1.0, strict=True),
}


def validate_params(kind: str, params: Mapping[str, Any]) -> dict:
    """`params` merged over DEFAULTS[kind], each checked. Raises ValueError("<param>: <why>")
    for an unknown kind or parameter, or a bad value."""
    if kind not in DEFAULTS:
        raise ValueError(f"kind: unknown rule kind '{kind}' (one of {', '.join(KINDS)})")
    if not isinstance(params, Mapping):
        raise ValueError("params: must be a mapping")
    merged = dict(DEFAULTS[kind])
    for name, value in params.items():
        if name not in merged:
            raise ValueError(f"{name}: not a parameter of a {kind} rule")
        merged[name] = value
    for name, value in merged.items():
        try:
            merged[name] = CHECKS[name](value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    if kind in ("deviation", "log_new", "log_surge") and merged["min_points"] > lookback(
        kind, merged
    ):
        raise ValueError("min_points: cannot exceed baseline_minutes + for_minutes")
    return merged


def lookback(kind: str, params: Mapping[str, Any]) -> int:
    """How many trailing minutes `values` must hold for this rule (baseline + for-window)."""
    if kind in ("deviation", "log_new", "log_surge"):
        return params["baseline_minutes"] + params["for_minutes"]
    if kind == "seasonal":
        return max(params["window_minutes"], params["for_minutes"])
    return params["for_minutes"]


# -- evaluation ---------------------------------------------------------------------------------


def evaluate(kind: str, params: Mapping[str, Any], window: Window) -> Verdict:
    """The verdict of one rule (params from validate_params) on one series' window."""
    return EVALUATORS[kind](params, window)


def _trailing(flags: Sequence[bool]) -> int:
    count = 0
    for flag in reversed(flags):
        if not flag:
            break
        count += 1
    return count


def _finite(score: float) -> float:
    if math.isnan(score):
        return 0.0
    return max(-SCORE_CAP, min(SCORE_CAP, score))


def _median(ordered: Sequence[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _fmt(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value:.4g}"


def _insufficient(observed: float | None, baseline: float | None, why: str) -> Verdict:
    return Verdict(False, observed, baseline, 0.0, 0, f"not judged: {why}", insufficient=True)


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def robust_scale(ordered: Sequence[float], centre: float, params: Mapping[str, Any]) -> float:
    """The noise scale of a sorted baseline: MAD as sigma, else the mean absolute deviation
    (MAD is 0 once over half the points sit on the median), never below the floors
    `min_scale_pct` of |centre| and `min_scale`; 0 only for an all-zero flat baseline."""
    deviations = sorted(abs(v - centre) for v in ordered)
    scale = MAD_TO_SIGMA * _median(deviations)
    if scale == 0.0:
        scale = MEAN_AD_TO_SIGMA * sum(deviations) / len(deviations)
    return max(scale, params["min_scale_pct"] / 100 * abs(centre), params["min_scale"])


def _z(value: float, centre: float, scale: float) -> float:
    delta = value - centre
    if scale > 0:
        return delta / scale
    # A perfectly flat zero baseline: any move is news, but the score stays finite.
    return math.copysign(SCORE_CAP, delta) if delta else 0.0


def _outside(z: float, limit: float, direction: str) -> bool:
    if direction == "up":
        return z > limit
    if direction == "down":
        return z < -limit
    return abs(z) > limit


def _threshold(params: Mapping[str, Any], window: Window) -> Verdict:
    recent = list(window.values[-params["for_minutes"] :])
    present = _present(recent)
    observed = recent[-1] if recent else None
    bound = params["threshold"]
    if len(present) < params["min_points"] or observed is None:
        return _insufficient(observed, bound, f"{len(present)} of {len(recent)} minutes have data")
    holds = OPERATORS[params["op"]]
    minutes = _trailing([v is not None and holds(v, bound) for v in recent])
    fired = minutes >= params["for_minutes"]
    score = _finite(observed / bound) if bound else _finite(observed)
    sign = params["op"] if fired else f"not {params['op']}"
    reason = f"{_fmt(observed)} {sign} {_fmt(bound)} for {minutes} of {len(recent)} minutes"
    return Verdict(fired, observed, bound, score, minutes, reason)


def _run_means(values: Sequence[float], size: int) -> list[float]:
    """The mean of every run of `size` consecutive values (one pass, running sum)."""
    if len(values) < size:
        return []
    total = sum(values[:size])
    means = [total / size]
    for i in range(size, len(values)):
        total += values[i] - values[i - size]
        means.append(total / size)
    return means


def _extreme_widening(points: int, run: int) -> float:
    """How much wider the range of `points` single values is than the range of their run
    means: the expected maximum of n normal draws grows like sqrt(2 ln n), and n values hold
    only n / run independent runs."""
    return math.sqrt(math.log(points) / math.log(max(points / run, 2.0)))


def _deviation(params: Mapping[str, Any], window: Window) -> Verdict:
    size, run = params["for_minutes"], params["mean_minutes"]
    values = window.values[-lookback("deviation", params) :]
    history = _present(values[:-size])  # in time order, for the run means
    baseline = sorted(history)
    recent = list(values[-size:])
    observed = recent[-1] if recent else None
    if len(baseline) < params["min_points"] or observed is None:
        return _insufficient(observed, None, f"{len(baseline)} baseline points")
    centre = _median(baseline)
    scale = robust_scale(baseline, centre, params)
    direction, limit = params["direction"], params["z"]
    # Beyond the baseline's own extremes too (range_factor x the median's distance to its
    # max/min): a value inside what the last day already did is not news, however the
    # robust z reads on a skewed or cyclic series.
    high = centre + params["range_factor"] * (baseline[-1] - centre)
    low = centre - params["range_factor"] * (centre - baseline[0])

    def beyond(value: float, z: float, top: float, bottom: float) -> bool:
        if not _outside(z, limit, direction):
            return False
        return (value > top and direction != "down") or (value < bottom and direction != "up")

    # The run test: the mean of the last `mean_minutes` minutes against the means of every such
    # run in the baseline. Averaging shrinks noise by sqrt(run), so a shift that stays inside
    # the range of single minutes can still take the mean where no run of the day went. Its
    # range is widened by the extreme-value ratio (fewer independent runs than minutes) and
    # its z uses scale / sqrt(run), floored like the point scale.
    # Only runs that end before the judged run begins: the run must not be its own reference.
    earlier = history[: max(0, len(history) - (run - size))]
    means = _run_means(earlier, run) if run > 1 else []
    if means:
        floor = max(params["min_scale_pct"] / 100 * abs(centre), params["min_scale"])
        run_scale = max(scale / math.sqrt(run), floor)
        widen = params["range_factor"] * _extreme_widening(len(earlier), run)
        run_high = centre + widen * (max(means) - centre)
        run_low = centre - widen * (centre - min(means))

    def run_mean(end: int) -> float | None:
        """The mean of the `run` minutes ending at values[end], if all have data."""
        tail = values[max(0, end - run + 1) : end + 1]
        if len(tail) < run or any(v is None for v in tail):
            return None
        return sum(tail) / run

    judged = []  # (out, mean or None) per recent minute
    for offset, value in enumerate(recent):
        if value is None:
            judged.append((False, None))
            continue
        if beyond(value, _z(value, centre, scale), high, low):
            judged.append((True, None))
            continue
        mean = run_mean(len(values) - size + offset) if means else None
        shifted = mean is not None and beyond(mean, _z(mean, centre, run_scale), run_high, run_low)
        judged.append((shifted, mean if shifted else None))

    minutes = _trailing([out for out, _ in judged])
    score = _finite(_z(observed, centre, scale))
    fired = minutes >= size
    last_mean = judged[-1][1]
    run_note = (
        f"; the {run}-minute mean {_fmt(last_mean)} is beyond every {run}-minute run of "
        f"the baseline ({_fmt(run_low)} to {_fmt(run_high)})"
        if last_mean is not None
        else ""
    )
    reason = (
        f"{_fmt(observed)} is {score:+.1f} robust z from the median {_fmt(centre)} "
        f"of {len(baseline)} minutes (limit {limit:g}; range {_fmt(low)} to {_fmt(high)})"
        f"{run_note} for {minutes} of {size} minutes"
    )
    return Verdict(fired, observed, centre, score, minutes, reason)


def _reference(window: Window, index: int) -> float | None:
    """The seasonal value of minute `index`: the mean of a day and a week ago, where present."""
    refs = [
        series[index]
        for series in (window.day_ago, window.week_ago)
        if len(series) == len(window.values) and series[index] is not None
    ]
    return sum(refs) / len(refs) if refs else None


def _seasonal(params: Mapping[str, Any], window: Window) -> Verdict:
    span = lookback("seasonal", params)
    offset = max(0, len(window.values) - span)
    pairs = []  # (value, reference) per minute, None where either is missing
    for index in range(offset, len(window.values)):
        value, ref = window.values[index], _reference(window, index)
        pairs.append(None if value is None or ref is None else (value, ref))
    judged = [p for p in pairs if p is not None]
    observed = window.values[-1] if window.values else None
    last = pairs[-1] if pairs else None
    if len(judged) < params["min_points"] or last is None:
        return _insufficient(observed, None, f"{len(judged)} minutes with seasonal data")
    residuals = sorted(v - r for v, r in judged)
    centre = _median(residuals)
    spread = robust_scale(residuals, centre, {**params, "min_scale_pct": 0.0})
    direction, size = params["direction"], params["for_minutes"]

    def deviates(pair) -> bool:
        if pair is None:
            return False
        value, ref = pair
        allowed = max(params["tolerance_pct"] / 100 * abs(ref), params["z"] * spread)
        delta = value - ref
        if direction == "up":
            return delta > allowed
        if direction == "down":
            return -delta > allowed
        return abs(delta) > allowed

    minutes = _trailing([deviates(p) for p in pairs[-size:]])
    value, ref = last
    allowed = max(params["tolerance_pct"] / 100 * abs(ref), params["z"] * spread)
    score = _finite((value - ref) / allowed) if allowed else _finite(_z(value, ref, 0.0))
    fired = minutes >= size
    reason = (
        f"{_fmt(value)} against the seasonal {_fmt(ref)} (a day/week ago), allowed ±"
        f"{_fmt(allowed)}, off for {minutes} of {size} minutes"
    )
    return Verdict(fired, value, ref, score, minutes, reason)


def _error_rate(params: Mapping[str, Any], window: Window) -> Verdict:
    size = params["for_minutes"]
    errors = list(window.values[-size:])
    volume = list(window.volume[-size:])
    if len(volume) < len(errors):
        volume = [None] * (len(errors) - len(volume)) + volume
    minutes_data = [(e, v) for e, v in zip(errors, volume, strict=True) if e is not None and v]
    if len(minutes_data) < params["min_points"]:
        return _insufficient(None, params["rate"], f"{len(minutes_data)} minutes with requests")
    total_errors = sum(e for e, _ in minutes_data)
    total = sum(v for _, v in minutes_data)
    observed = total_errors / total
    limit = params["rate"]
    pairs = zip(errors, volume, strict=True)
    flags = [e is not None and bool(v) and e / v > limit for e, v in pairs]
    minutes = _trailing(flags)
    enough = total >= params["min_volume"]
    fired = minutes >= size and observed > limit and enough
    volume_note = "" if enough else f", but only {total:g} requests (< {params['min_volume']:g})"
    reason = (
        f"error rate {observed:.2%} ({total_errors:g} of {total:g} requests) against "
        f"{limit:.2%}, above for {minutes} of {size} minutes{volume_note}"
    )
    return Verdict(fired, observed, limit, _finite(observed / limit), minutes, reason)


def _counts(params: Mapping[str, Any], window: Window) -> tuple[list[float], list[float]]:
    """(baseline, recent) bucket counts of a log pattern; a missing bucket is a zero."""
    size = params["for_minutes"]
    values = [v or 0.0 for v in window.values[-lookback("log_new", params) :]]
    return values[:-size], values[-size:]


def _log_new(params: Mapping[str, Any], window: Window) -> Verdict:
    baseline, recent = _counts(params, window)
    observed = sum(recent)
    if len(window.values) < params["min_points"]:
        return _insufficient(observed, None, f"{len(window.values)} buckets of history")
    seen_before = sum(baseline)
    minutes = _trailing([c > 0 for c in recent])
    fired = seen_before == 0 and observed >= params["min_count"] and minutes >= len(recent)
    history = "never seen" if seen_before == 0 else f"seen {seen_before:g} times"
    reason = (
        f"{observed:g} occurrences now (at least {params['min_count']:g} for new), "
        f"{history} in the {len(baseline)} buckets before"
    )
    return Verdict(fired, observed, seen_before, _finite(observed), minutes, reason)


def _log_surge(params: Mapping[str, Any], window: Window) -> Verdict:
    baseline, recent = _counts(params, window)
    observed = sum(recent)
    if len(window.values) < params["min_points"] or not baseline:
        return _insufficient(observed, None, f"{len(window.values)} buckets of history")
    expected = sum(baseline) / len(baseline) * len(recent)
    ratio = observed / max(expected, 1.0)
    factor = params["factor"]
    minutes = _trailing([c >= factor * max(expected / len(recent), 1e-9) for c in recent])
    # A pattern never seen before is log_new's finding, not a surge.
    fired = expected > 0 and observed >= params["min_count"] and ratio >= factor
    reason = (
        f"{observed:g} occurrences against {expected:.3g} expected from "
        f"{len(baseline)} buckets: x{ratio:.1f} (surge at x{factor:g}, "
        f"at least {params['min_count']:g})"
    )
    return Verdict(fired, observed, expected, _finite(ratio), minutes, reason)


EVALUATORS = {
    "threshold": _threshold,
    "deviation": _deviation,
    "seasonal": _seasonal,
    "error_rate": _error_rate,
    "log_new": _log_new,
    "log_surge": _log_surge,
}
