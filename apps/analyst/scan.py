"""One analysis pass: every enabled rule over the series it watches, at one minute.

The pass reads only what changed: series that received a point since the previous pass
started (its watermark), plus the series whose findings are still open (so they can
resolve), each with the window its rules look back over. Rule verdicts come from the pure
apps.analyst.rules; episodes (one finding per anomaly, resolved after `clear_after` quiet
passes) from apps.analyst.episodes. One pass runs at a time: a transaction-scoped advisory
lock; the periodic pass skips when one is running, an on-demand pass waits for it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.analyst import episodes, rules
from apps.analyst.events import FindingsReported
from apps.analyst.models import FIRING, SOURCE_RULE, AnalysisFinding, AnalysisRule, ScanPass
from apps.analyst.services import finding_resolve, lock_fingerprints
from apps.sensor import series as metric_series

PERIODIC = "periodic"
SEASON = {"day_ago": timedelta(days=1), "week_ago": timedelta(days=7)}
METRIC_KINDS = ("threshold", "deviation", "seasonal", "error_rate")


@dataclass
class PassResult:
    at: datetime
    skipped: str = ""
    series: int = 0
    evaluations: int = 0
    opened: list[dict] = field(default_factory=list)
    resolved: list[dict] = field(default_factory=list)
    firing: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "skipped": self.skipped,
            "series": self.series,
            "evaluations": self.evaluations,
            "opened": self.opened,
            "resolved": self.resolved,
            "firing": self.firing,
            "seconds": round(self.seconds, 4),
        }


def run_pass(
    *, at: datetime | None = None, service: str = "", rule: str = "", wait: bool = False
) -> PassResult:
    """Evaluate the rules at minute `at` (default: the last complete minute). The periodic
    pass (no service, no rule, no at) advances the watermark; a narrowed or back-dated pass
    reads every series active in its window instead."""
    started = time.perf_counter()
    now = timezone.now()
    minute = (at or now - timedelta(minutes=1)).replace(second=0, microsecond=0)
    result = PassResult(at=minute)
    periodic = not (at or service or rule)
    with transaction.atomic():
        if not _lock(wait=wait):
            result.skipped = "another analysis pass is running"
            return result
        chosen = _rules(rule)
        metric_rules = [r for r in chosen if r.kind in METRIC_KINDS]
        params = {r.pk: rules.validate_params(r.kind, r.params) for r in metric_rules}
        span = max((rules.lookback(r.kind, params[r.pk]) for r in metric_rules), default=0)
        start = minute - timedelta(minutes=span - 1)
        keys = _candidates(periodic, service, start, minute, metric_rules, now)
        result.series = len(keys)
        data = metric_series.windows(sorted(keys), start=start, minutes=span) if span else {}
        seasonal = _seasonal(metric_rules, keys, start, span)
        open_findings = {
            f.fingerprint: f
            for f in AnalysisFinding.objects.filter(
                source=SOURCE_RULE, status=FIRING, rule__in=metric_rules
            )
        }
        changes = []
        for r in metric_rules:
            for key in keys:
                if not _in_scope(r, key):
                    continue
                verdict = _judge(r, params[r.pk], key, data, seasonal, span)
                if verdict is None:
                    continue
                result.evaluations += 1
                changes.append((r, key, verdict, _fingerprint(r, key)))
        _apply(changes, open_findings, params, minute, now, result)
        if periodic:
            ScanPass.objects.update_or_create(
                scope=PERIODIC,
                defaults={
                    "watermark": now,
                    "finished_at": timezone.now(),
                    "series": result.series,
                    "findings": len(result.opened),
                },
            )
        result.firing = AnalysisFinding.objects.filter(source=SOURCE_RULE, status=FIRING).count()
    result.seconds = time.perf_counter() - started
    return result


def _lock(*, wait: bool) -> bool:
    with connection.cursor() as cursor:
        fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        cursor.execute(f"SELECT {fn}(hashtextextended('analysis-pass', 0))")
        return wait or bool(cursor.fetchone()[0])


def _rules(name: str) -> list[AnalysisRule]:
    query = AnalysisRule.objects.filter(enabled=True)
    if name:
        query = query.filter(name=name)
    return list(query.order_by("name"))


def _candidates(periodic, service, start, minute, metric_rules, now) -> set:
    if not metric_rules:
        return set()
    if periodic:
        previous = ScanPass.objects.filter(scope=PERIODIC).first()
        since = previous.watermark if previous else start
        keys = set(metric_series.changed_series(since=since))
    else:
        keys = set(metric_series.active_series(start=start, end=minute, service=service or None))
    # Open findings keep being judged, so they resolve when their series goes quiet.
    for f in AnalysisFinding.objects.filter(source=SOURCE_RULE, status=FIRING):
        if not service or f.service == service:
            keys.add((f.service, f.metric, metric_series.canonical(f.labels)))
    # error_rate divides by its volume series: read it alongside.
    for r in metric_rules:
        if r.kind == "error_rate" and r.volume_metric:
            keys |= {(k[0], r.volume_metric, k[2]) for k in list(keys) if k[1] == r.scope_metric}
    return keys


def _in_scope(rule: AnalysisRule, key) -> bool:
    service, metric, _ = key
    if rule.scope_service and not fnmatch.fnmatchcase(service, rule.scope_service):
        return False
    if rule.scope_metric and not fnmatch.fnmatchcase(metric, rule.scope_metric):
        return False
    if rule.kind == "error_rate" and metric == rule.volume_metric:
        return False
    if rule.scope_labels:
        have = metric_series.SeriesWindow(key=key, start=timezone.now(), values=[]).labels
        return all(have.get(k) == v for k, v in rule.scope_labels.items())
    return True


def _seasonal(metric_rules, keys, start, span) -> dict:
    """The same window a day and a week earlier, for series a seasonal rule watches."""
    wanted = sorted(
        k for k in keys if any(r.kind == "seasonal" and _in_scope(r, k) for r in metric_rules)
    )
    if not wanted:
        return {}
    return {
        name: metric_series.windows(wanted, start=start - delta, minutes=span)
        for name, delta in SEASON.items()
    }


def _judge(rule, params, key, data, seasonal, span) -> rules.Verdict | None:
    need = rules.lookback(rule.kind, params)
    window = data.get(key)
    values = (window.values if window else [None] * span)[span - need :]
    extra = {}
    if rule.kind == "seasonal":
        for name in SEASON:
            other = seasonal.get(name, {}).get(key)
            extra[name] = (other.values if other else [None] * span)[span - need :]
    if rule.kind == "error_rate":
        volume = data.get((key[0], rule.volume_metric, key[2]))
        extra["volume"] = (volume.values if volume else [None] * span)[span - need :]
    return rules.evaluate(rule.kind, params, rules.Window(values=values, **extra))


def _fingerprint(rule: AnalysisRule, key) -> str:
    return hashlib.sha256("|".join((rule.name, *key)).encode()).hexdigest()[:32]


def _apply(changes, open_findings, params, minute, now, result: PassResult) -> None:
    touched = [fp for _, _, v, fp in changes if v.fired or fp in open_findings]
    lock_fingerprints(touched)
    updates = []
    for r, key, verdict, fp in changes:
        finding = open_findings.get(fp)
        state = episodes.Episode(open=finding is not None, quiet=finding.quiet if finding else 0)
        clear_after = int(params[r.pk].get("clear_after", 5))
        state, action = episodes.advance(
            state, verdict.fired and not verdict.insufficient, clear_after=clear_after
        )
        if action == "open":
            finding = _open(r, key, verdict, fp, minute, now)
            result.opened.append(finding.as_event())
        elif action == "resolve" and finding is not None:
            finding_resolve(finding, at=minute, why=f"quiet for {clear_after} passes")
            result.resolved.append(finding.as_event())
        elif finding is not None:
            finding.quiet = state.quiet
            finding.last_seen_at = now
            if verdict.fired:
                finding.observed, finding.score = verdict.observed, verdict.score
                finding.window_end = minute
            updates.append(finding)
    if updates:
        AnalysisFinding.objects.bulk_update(
            updates, ["quiet", "last_seen_at", "observed", "score", "window_end"], batch_size=1000
        )
    if result.opened:
        FindingsReported(case_id="", findings=result.opened).emit()


def _open(rule, key, verdict, fp, minute, now) -> AnalysisFinding:
    service, metric, _ = key
    return AnalysisFinding.objects.create(
        fingerprint=fp,
        source=SOURCE_RULE,
        rule=rule,
        kind=rule.kind,
        service=service,
        environment=rule.environment,
        metric=metric,
        labels=metric_series.SeriesWindow(key=key, start=minute, values=[]).labels,
        severity=rule.severity,
        status=FIRING,
        observed=verdict.observed,
        baseline=verdict.baseline,
        score=verdict.score,
        window_start=minute - timedelta(minutes=max(verdict.minutes, 1) - 1),
        window_end=minute,
        summary=verdict.reason[:2000],
        detail={"remedy": rule.remedy, "rule_params": rule.params},
        started_at=minute,
        last_seen_at=now,
    )
