"""Pure evaluation of a plan's verify checks over per-minute values (no I/O, no database).

How one check is judged (docs/verifier.md has the long form):
- Each window minute gets one value. When several series match (pods, instances), the minute
  takes the worst of them for the check's operator (max for < and <=, min for > and >=).
- `observed` is the aggregate (avg, max, min, p95 by nearest rank, last) of those values.
- A minute is *breached* when its value violates `observed <operator> threshold`, or exceeds
  the baseline by more than `baseline.max_increase_pct`.
- The check FAILS only when `observed` is breached AND at least `for_minutes` consecutive
  minutes are breached, so one bad minute never fails a 3-minute check.
- No values in the window: the `no_data` policy decides (inconclusive, pass or fail).
- A `dry_run` check is judged and recorded like any other, but never decides.
"""

from __future__ import annotations

import math
import operator as op
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
RESULTS = (PASS, FAIL, INCONCLUSIVE)
AGGREGATES = ("avg", "max", "min", "p95", "last")
OPERATORS = {
    "<": op.lt,
    "<=": op.le,
    ">": op.gt,
    ">=": op.ge,
    "==": op.eq,
    "!=": op.ne,
}
NO_DATA_POLICIES = {INCONCLUSIVE: INCONCLUSIVE, PASS: PASS, FAIL: FAIL}
MINUTE = timedelta(minutes=1)


class InvalidCheck(ValueError):
    """A check the evaluator cannot judge (unknown operator, aggregate, …)."""


@dataclass(frozen=True)
class Check:
    name: str
    metric: str = ""
    promql: str = ""
    labels: dict = field(default_factory=dict)
    aggregate: str = "avg"
    operator: str = "<"
    threshold: float = 0.0
    for_minutes: int = 1
    max_increase_pct: float | None = None
    no_data: str = INCONCLUSIVE
    dry_run: bool = False

    @classmethod
    def from_plan(cls, raw: dict, *, default_no_data: str = INCONCLUSIVE) -> Check:
        """A check from a plan's spec.verify.checks[] item (see docs/plan-dsl.md).
        Raises InvalidCheck for anything the evaluator cannot judge."""
        if not isinstance(raw, dict):
            raise InvalidCheck(f"a check must be an object, not {type(raw).__name__}")
        try:
            baseline = raw.get("baseline") or {}
            increase = baseline.get("max_increase_pct")
            check = cls(
                name=str(raw.get("name") or "unnamed"),
                metric=str(raw.get("metric") or ""),
                promql=str(raw.get("promql") or ""),
                labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
                aggregate=raw.get("aggregate") or "avg",
                operator=raw.get("operator") or "<",
                threshold=float(raw["threshold"]),
                for_minutes=max(1, int(raw.get("for_minutes") or 1)),
                max_increase_pct=None if increase is None else float(increase),
                no_data=raw.get("no_data") or default_no_data,
                dry_run=bool(raw.get("dry_run", False)) or raw.get("mode") == "dry_run",
            )
        except KeyError as exc:
            raise InvalidCheck(f"check '{raw.get('name')}': {exc.args[0]} is required") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidCheck(f"check '{raw.get('name')}': {exc}") from None
        if check.aggregate not in AGGREGATES:
            raise InvalidCheck(f"check '{check.name}': unknown aggregate '{check.aggregate}'")
        if check.operator not in OPERATORS:
            raise InvalidCheck(f"check '{check.name}': unknown operator '{check.operator}'")
        if check.no_data not in NO_DATA_POLICIES:
            raise InvalidCheck(f"check '{check.name}': unknown no_data policy '{check.no_data}'")
        if not check.metric and not check.promql:
            raise InvalidCheck(f"check '{check.name}': needs a metric or a promql expression")
        if not math.isfinite(check.threshold):
            raise InvalidCheck(f"check '{check.name}': the threshold must be finite")
        return check

    def holds(self, value: float) -> bool:
        """True while `value <operator> threshold` (the check's passing condition)."""
        return OPERATORS[self.operator](value, self.threshold)


@dataclass(frozen=True)
class Window:
    """Whole minutes [start, end): `start` is the first minute bucket, `end` is exclusive."""

    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / MINUTE)

    def buckets(self) -> list[datetime]:
        return [self.start + i * MINUTE for i in range(self.minutes)]


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def window_before(moment: datetime, window_s: int) -> Window:
    """The complete minutes covering `window_s` seconds that end at `moment`'s minute."""
    end = floor_minute(moment)
    return Window(start=end - math.ceil(window_s / 60) * MINUTE, end=end)


@dataclass(frozen=True)
class MinuteSeries:
    """One series as a source returns it: its labels and (minute, value) points."""

    labels: dict
    points: list[tuple[datetime, float]]


@dataclass(frozen=True)
class Verdict:
    check: Check
    window: Window
    result: str
    sentence: str
    observed: float | None = None
    minutes: list[tuple[datetime, float]] = field(default_factory=list)
    breached_minutes: int = 0
    longest_breach: int = 0
    baseline: float | None = None
    change_pct: float | None = None

    @property
    def deciding(self) -> bool:
        return not self.check.dry_run


def minute_values(
    check: Check, series: list[MinuteSeries], window: Window
) -> list[tuple[datetime, float]]:
    """One value per window minute that has data: the worst across series for the operator."""
    per_minute: dict[datetime, list[float]] = {}
    for one in series:
        for minute, value in one.points:
            if window.start <= minute < window.end and math.isfinite(value):
                per_minute.setdefault(minute, []).append(value)
    return [(minute, _worst(check, per_minute[minute])) for minute in sorted(per_minute)]


def _worst(check: Check, values: list[float]) -> float:
    if check.operator in ("<", "<="):
        return max(values)
    if check.operator in (">", ">="):
        return min(values)
    return next((v for v in values if not check.holds(v)), values[0])


def aggregate(values: list[float], how: str) -> float:
    if how == "avg":
        return sum(values) / len(values)
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "last":
        return values[-1]
    if how == "p95":  # nearest rank: a value that really occurred
        ordered = sorted(values)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    raise InvalidCheck(f"unknown aggregate '{how}'")


def evaluate(
    check: Check,
    series: list[MinuteSeries],
    window: Window,
    *,
    baseline_series: list[MinuteSeries] | None = None,
    baseline_window: Window | None = None,
) -> Verdict:
    """Judge one check over `window` (and, with a baseline, against `baseline_window`)."""
    minutes = minute_values(check, series, window)
    if not minutes:
        result = NO_DATA_POLICIES[check.no_data]
        return Verdict(
            check=check,
            window=window,
            result=result,
            sentence=_prefix(check) + no_data_sentence(check, window, result),
        )
    values = [value for _, value in minutes]
    observed = aggregate(values, check.aggregate)

    baseline = change_pct = limit = None
    if check.max_increase_pct is not None and baseline_window is not None:
        before = minute_values(check, baseline_series or [], baseline_window)
        if before:
            baseline = aggregate([v for _, v in before], check.aggregate)
            change_pct = _change_pct(observed, baseline)
            limit = baseline + abs(baseline) * check.max_increase_pct / 100

    def breached(value: float) -> bool:
        return not check.holds(value) or (limit is not None and value > limit)

    flags = [breached(value) for value in values]
    contiguous = _contiguous(minutes)
    longest = _longest_run(flags, contiguous)
    failed = breached(observed) and longest >= check.for_minutes
    verdict = Verdict(
        check=check,
        window=window,
        result=FAIL if failed else PASS,
        sentence="",
        observed=observed,
        minutes=minutes,
        breached_minutes=sum(flags),
        longest_breach=longest,
        baseline=baseline,
        change_pct=change_pct,
    )
    return _with_sentence(verdict, limit)


def inconclusive(check: Check, window: Window, why: str) -> Verdict:
    """A check that could not be judged (its source failed); never a pass."""
    sentence = f"{_prefix(check)}{label(check)}: {why} (inconclusive)"
    return Verdict(check=check, window=window, result=INCONCLUSIVE, sentence=sentence)


def _change_pct(observed: float, baseline: float) -> float:
    if baseline == 0:
        return 0.0 if observed == 0 else math.copysign(math.inf, observed)
    return (observed - baseline) / abs(baseline) * 100


def _contiguous(minutes: list[tuple[datetime, float]]) -> list[bool]:
    """For each minute: does it directly follow the previous one (no gap in the data)?"""
    return [i > 0 and minutes[i][0] - minutes[i - 1][0] == MINUTE for i in range(len(minutes))]


def _longest_run(flags: list[bool], contiguous: list[bool]) -> int:
    longest = run = 0
    for flag, follows in zip(flags, contiguous, strict=True):
        run = (run + 1 if follows else 1) if flag else 0
        longest = max(longest, run)
    return longest


# --- sentences a person can read: "p95 latency 412 ms > 300 ms for 3 of 3 minutes" ---


def label(check: Check) -> str:
    words = check.name.replace("-", " ").replace("_", " ").strip()
    if check.aggregate.lower() not in words.lower().split():
        words = f"{words} ({check.aggregate})"
    return words


BARE_SELECTOR = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*$")


def unit(check: Check) -> str:
    """From the metric name's suffix (http_p95_ms → " ms"); for PromQL only a bare selector."""
    name = check.metric
    if not name and (bare := BARE_SELECTOR.match(check.promql)):
        name = bare.group(1)
    name = name.lower()
    for suffix, shown in (
        ("_ms", " ms"),
        ("_milliseconds", " ms"),
        ("_seconds", " s"),
        ("_s", " s"),
        ("_pct", "%"),
        ("_percent", "%"),
        ("_bytes", " B"),
    ):
        if name.endswith(suffix):
            return shown
    return ""


def number(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def relation(observed: float, threshold: float) -> str:
    return ">" if observed > threshold else "<" if observed < threshold else "="


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


def _prefix(check: Check) -> str:
    return "[dry run] " if check.dry_run else ""


def no_data_sentence(check: Check, window: Window, result: str) -> str:
    what = check.promql or check.metric
    tail = {
        INCONCLUSIVE: "inconclusive",
        PASS: "passes by its no_data policy",
        FAIL: "fails by its no_data policy",
    }[result]
    return f"{label(check)}: no data for {what} in the {_minutes(window.minutes)} window ({tail})"


def _with_sentence(verdict: Verdict, limit: float | None) -> Verdict:
    check, u = verdict.check, unit(verdict.check)
    observed, total = verdict.observed, len(verdict.minutes)
    threshold_breached = not check.holds(observed)
    parts = [
        f"{label(check)} {number(observed)}{u} {relation(observed, check.threshold)} "
        f"{number(check.threshold)}{u}"
    ]
    if verdict.breached_minutes:
        parts.append(f" for {verdict.breached_minutes} of {_minutes(total)}")
    else:
        parts.append(f" over {_minutes(total)}")
    if verdict.result == PASS and verdict.breached_minutes and threshold_breached:
        parts.append(
            f", under the {check.for_minutes} consecutive minutes needed to fail"
            f" (longest run {verdict.longest_breach})"
        )
    elif verdict.result == PASS and verdict.breached_minutes and not threshold_breached:
        parts.append(f", within the threshold as {check.aggregate}")
    if verdict.baseline is not None:
        sign = "+" if verdict.change_pct >= 0 else ""
        parts.append(
            f"; {sign}{number(verdict.change_pct)}% vs baseline {number(verdict.baseline)}{u}"
            f" (max +{number(check.max_increase_pct)}%)"
        )
    elif check.max_increase_pct is not None:
        parts.append("; no baseline data before the change")
    if verdict.minutes and total < verdict.window.minutes:
        parts.append(f" [data for {total} of {_minutes(verdict.window.minutes)}]")
    sentence = _prefix(check) + "".join(parts)
    return replace(verdict, sentence=sentence)


def decide(verdicts: list[Verdict]) -> tuple[bool, str]:
    """All deciding checks pass (and there is at least one) → (True, summary); otherwise
    (False, a summary naming the failing or inconclusive checks)."""
    deciding = [v for v in verdicts if v.deciding]
    failed = [v for v in deciding if v.result == FAIL]
    unsure = [v for v in deciding if v.result == INCONCLUSIVE]
    if failed:
        return False, "Verification failed: " + "; ".join(_named(v) for v in failed + unsure)
    if unsure:
        return False, "Verification inconclusive: " + "; ".join(_named(v) for v in unsure)
    if not deciding:
        return False, "Verification inconclusive: every check is dry_run, so none may decide"
    summary = f"All {len(deciding)} deciding check(s) passed: " + "; ".join(
        _named(v) for v in deciding
    )
    shadow = [v for v in verdicts if not v.deciding and v.result != PASS]
    if shadow:
        summary += " (dry run, not deciding: " + "; ".join(_named(v) for v in shadow) + ")"
    return True, summary


def _named(verdict: Verdict) -> str:
    return f"check '{verdict.check.name}' {verdict.result}: {verdict.sentence}"
