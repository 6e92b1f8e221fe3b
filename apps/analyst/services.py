"""The Analyst's writes: alerts and rule verdicts become findings, one transaction each.

A finding is written with its event (evt.analysis.findings.v1 when it opens,
evt.analysis.finding.resolved.v1 when it ends) in the same transaction, so the Orchestrator
hears of every finding exactly once; concurrent writers of one fingerprint are serialized
by a transaction-scoped advisory lock on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from apps.analyst import evidence
from apps.analyst.alertmanager import Alert
from apps.analyst.events import FindingResolved, FindingsReported
from apps.analyst.models import (
    FIRING,
    RESOLVED,
    SOURCE_ALERTMANAGER,
    AnalysisFinding,
)

ACTOR = "system:analyst"


def lock_fingerprints(fingerprints: Iterable[str]) -> None:
    """Hold each fingerprint's lock until the transaction ends (sorted: no deadlocks)."""
    keys = sorted(set(fingerprints))
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('analysis:' || k, 0)) "
                "FROM unnest(%s::text[]) AS k ORDER BY k",
                [keys],
            )


def alerts_ingest(alerts: list[Alert], *, now: datetime | None = None) -> dict:
    """Record a validated Alertmanager group. A firing alert opens its finding once per
    episode (fingerprint + startsAt); a resolved one resolves it. Returns counts of what
    changed, so a redelivery reports zeros."""
    now = now or timezone.now()
    counts = {"opened": 0, "resolved": 0, "unchanged": 0}
    with transaction.atomic():
        lock_fingerprints(a.fingerprint for a in alerts)
        for alert in alerts:
            counts[_alert_apply(alert, now)] += 1
    return counts


def _alert_apply(alert: Alert, now: datetime) -> str:
    episode = AnalysisFinding.objects.filter(
        source=SOURCE_ALERTMANAGER, fingerprint=alert.fingerprint, started_at=alert.starts_at
    ).first()
    if alert.status == FIRING:
        if episode is not None:
            return "unchanged"  # a redelivery, or a later notification of the same episode
        # A firing finding of an earlier episode that never heard its resolve ends here.
        for stale in AnalysisFinding.objects.filter(fingerprint=alert.fingerprint, status=FIRING):
            finding_resolve(stale, at=alert.starts_at, why="superseded by a new episode")
        finding = AnalysisFinding.objects.create(
            **_alert_fields(alert), status=FIRING, started_at=alert.starts_at, last_seen_at=now
        )
        evidence.attach(finding)
        FindingsReported(case_id="", findings=[finding.as_event()]).emit()
        return "opened"
    if episode is None:
        # Resolved before we heard it fire (or after retention): kept for the record only.
        AnalysisFinding.objects.create(
            **_alert_fields(alert),
            status=RESOLVED,
            started_at=alert.starts_at,
            resolved_at=alert.ends_at or now,
            last_seen_at=now,
        )
        return "unchanged"
    if episode.status == RESOLVED:
        return "unchanged"
    finding_resolve(episode, at=alert.ends_at or now, why="the alert resolved")
    return "resolved"


def _alert_fields(alert: Alert) -> dict:
    return {
        "fingerprint": alert.fingerprint,
        "source": SOURCE_ALERTMANAGER,
        "kind": alert.labels.get("kind") or alert.name,
        "service": alert.service,
        "environment": alert.environment,
        "metric": alert.name,
        "labels": alert.labels,
        "severity": alert.severity,
        "window_start": alert.starts_at,
        "window_end": alert.ends_at or alert.starts_at,
        "summary": alert.summary[:2000],
        "detail": {
            "annotations": alert.annotations,
            "generator_url": alert.generator_url,
            "remedy": alert.labels.get("remedy") or alert.annotations.get("remedy", ""),
        },
    }


def finding_resolve(finding: AnalysisFinding, *, at: datetime, why: str) -> None:
    """End a firing finding (caller's transaction) and tell the Orchestrator."""
    finding.status = RESOLVED
    finding.resolved_at = at
    finding.detail = {**finding.detail, "resolved_because": why}
    finding.save(update_fields=["status", "resolved_at", "detail"])
    FindingResolved(case_id="", finding=finding.as_event()).emit()


def rules_seed_from_file(path=None) -> tuple[int, int]:
    """Create the rules of the seed file that do not exist yet (by name); rules already
    stored — perhaps edited in the admin — are left as they are. Returns (created, kept)."""
    import yaml
    from django.conf import settings

    from apps.analyst import rules
    from apps.analyst.models import AnalysisRule

    entries = yaml.safe_load((path or settings.ANALYST_RULES_FILE).read_text()) or []
    created = kept = 0
    with transaction.atomic():
        for entry in entries:
            scope = entry.get("scope") or {}
            params = rules.validate_params(entry["kind"], entry.get("params") or {})
            _, new = AnalysisRule.objects.get_or_create(
                name=entry["name"],
                defaults={
                    "kind": entry["kind"],
                    "scope_service": _any(scope.get("service")),
                    "scope_metric": _any(scope.get("metric")),
                    "scope_labels": scope.get("labels") or {},
                    "volume_metric": entry.get("volume_metric", ""),
                    "remedy": entry.get("remedy", ""),
                    "severity": entry.get("severity", "sev3"),
                    "environment": entry.get("environment", "prod"),
                    "enabled": entry.get("enabled", True),
                    "params": {k: v for k, v in params.items() if k in (entry.get("params") or {})},
                },
            )
            created, kept = created + new, kept + (not new)
    return created, kept


def _any(value) -> str:
    return "" if value in (None, "*") else str(value)
