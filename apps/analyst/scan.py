"""One analysis pass: every enabled rule over the series it watches, at one minute.

The pass reads only what changed: series that received a point since the previous pass
started (its watermark), plus the series whose findings are still open (so they can
resolve), each with the window its rules look back over. Rule verdicts come from the pure
apps.analyst.rules; episodes (one finding per anomaly, resolved after `clear_after` quiet
passes) from apps.analyst.episodes. One pass runs at a time: a transaction-scoped advisory
lock; the periodic pass skips when one is running, an on-demand pass waits for it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from apps.analyst import episodes, evidence, metrics, rules
from apps.analyst.events import FindingsReported
from apps.analyst.models import FIRING, SOURCE_RULE, AnalysisFinding, AnalysisRule, ScanPass
from apps.analyst.services import finding_resolve, lock_fingerprints
from apps.sensor import series as metric_series

PERIODIC = "periodic"
SEASON = {"day_ago": timedelta(days=1), "week_ago": timedelta(days=7)}
METRIC_KINDS = ("threshold", "deviation", "seasonal", "error_rate")
LOG_KINDS = ("log_new", "log_surge")
QUIET = rules.Verdict(False, None, None, 0.0, 0, "nothing to judge this pass")


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
        params = {r.pk: rules.validate_params(r.kind, r.params) for r in chosen}
        metric_rules = [r for r in chosen if r.kind in METRIC_KINDS]
        log_rules = [r for r in chosen if r.kind in LOG_KINDS]
        changes = _metric_changes(metric_rules, params, minute, service, periodic, result)
        changes += _log_changes(log_rules, params, minute, service, result)
        open_findings = {
            f.fingerprint: f
            for f in AnalysisFinding.objects.filter(
                source=SOURCE_RULE, status=FIRING, rule__in=chosen
            ).select_related("rule")
            if not service or f.service == service
        }
        # An open finding whose series had nothing to judge this pass is quiet this pass.
        judged = {fp for *_, fp in changes}
        changes += [
            (f.rule, None, QUIET, fp) for fp, f in open_findings.items() if fp not in judged
        ]
        result.evaluations = len(changes)
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
    metrics.pass_seconds.observe(result.seconds)
    return result


def _metric_changes(metric_rules, params, minute, service, periodic, result) -> list:
    span = max((rules.lookback(r.kind, params[r.pk]) for r in metric_rules), default=0)
    if not span:
        return []
    start = minute - timedelta(minutes=span - 1)
    keys = _candidates(periodic, service, start, minute, metric_rules)
    result.series += len(keys)
    data = metric_series.windows(sorted(keys), start=start, minutes=span)
    seasonal = _seasonal(metric_rules, keys, start, span)
    labels = {key: json.loads(key[2]) for key in keys}
    changes = []
    for r in metric_rules:
        for key in keys:
            if _in_scope(r, key, labels[key]):
                verdict = _judge(r, params[r.pk], key, data, seasonal, span)
                changes.append((r, key, verdict, _fingerprint(r, key)))
    return changes


def _log_changes(log_rules, params, minute, service, result) -> list:
    """Log rules judge the last complete 5-minute bucket of every pattern seen lately."""
    if not log_rules:
        return []
    bucket = timedelta(minutes=metric_series.BUCKET)
    end = minute + timedelta(minutes=1)
    last = end.replace(minute=end.minute - end.minute % metric_series.BUCKET) - bucket
    need = max(rules.lookback(r.kind, params[r.pk]) for r in log_rules)
    recent = max(params[r.pk]["for_minutes"] for r in log_rules)
    windows = metric_series.pattern_windows(
        start=last - bucket * (need - 1),
        buckets=need,
        recent_from=last - bucket * (recent - 1),
        service=service or None,
    )
    result.series += len(windows)
    changes = []
    for r in log_rules:
        size = rules.lookback(r.kind, params[r.pk])
        for w in windows:
            key = (w.service, w.pattern_id, "{}")
            if not _in_scope(r, key, {}):
                continue
            values = w.counts[-min(size, w.history) :]
            verdict = rules.evaluate(r.kind, params[r.pk], rules.Window(values=values))
            if verdict.fired:
                reason = f'pattern {w.pattern_id} "{w.template[:200]}": {verdict.reason}'
                verdict = dataclasses.replace(verdict, reason=reason)
            changes.append((r, key, verdict, _fingerprint(r, key)))
    return changes


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


def _candidates(periodic, service, start, minute, metric_rules) -> set:
    if periodic:
        previous = ScanPass.objects.filter(scope=PERIODIC).first()
        since = previous.watermark if previous else start
        keys = set(metric_series.changed_series(since=since))
    else:
        keys = set(metric_series.active_series(start=start, end=minute, service=service or None))
    # error_rate divides by its volume series: read it alongside.
    for r in metric_rules:
        if r.kind == "error_rate" and r.volume_metric:
            keys |= {(k[0], r.volume_metric, k[2]) for k in list(keys) if k[1] == r.scope_metric}
    return keys


def _in_scope(rule: AnalysisRule, key, labels: dict) -> bool:
    service, metric, _ = key
    if rule.scope_service and not fnmatch.fnmatchcase(service, rule.scope_service):
        return False
    if rule.scope_metric and not fnmatch.fnmatchcase(metric, rule.scope_metric):
        return False
    if rule.kind == "error_rate" and metric == rule.volume_metric:
        return False
    return all(labels.get(k) == v for k, v in rule.scope_labels.items())


def _seasonal(metric_rules, keys, start, span) -> dict:
    """The same window a day and a week earlier, for series a seasonal rule watches."""
    wanted = sorted(
        k
        for k in keys
        if any(r.kind == "seasonal" and _in_scope(r, k, json.loads(k[2])) for r in metric_rules)
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
    if window is None:
        values = [None] * need
    elif rule.kind in ("threshold", "deviation"):
        # They read from the end: the minutes before the series began add nothing.
        values = window.values[max(span - need, window.first) :]
    else:  # aligned minute by minute with the day/week ago or the volume series
        values = window.values[span - need :]
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
    service, metric, labels = key
    finding = AnalysisFinding.objects.create(
        fingerprint=fp,
        source=SOURCE_RULE,
        rule=rule,
        kind=rule.kind,
        service=service,
        environment=rule.environment,
        metric=metric,
        labels=json.loads(labels),
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
    evidence.attach(finding)
    metrics.findings_total.labels(source=SOURCE_RULE, kind=rule.kind).inc()
    return finding
