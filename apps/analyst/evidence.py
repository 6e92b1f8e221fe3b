"""Where a person sees what a finding saw: its locators, written as evidence links through
the Sensor in the finding's own transaction (GET /case/{id}/evidence then shows them).

- a metric rule's finding: the series as a PromQL selector over the window and the hour
  before it (a Prometheus link when one is configured);
- a log rule's finding: the service's log stream in Loki, over the same span;
- an alert: Alertmanager's generatorURL (the rule's expression in Prometheus) and the
  alert's runbook_url.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

from apps.analyst.models import SOURCE_ALERTMANAGER, AnalysisFinding
from apps.sensor.exceptions import InvalidHint
from apps.sensor.services import hint_write

log = logging.getLogger(__name__)
LOG_KINDS = ("log_new", "log_surge")
BEFORE, AFTER = timedelta(hours=1), timedelta(minutes=10)


def locators_for(finding: AnalysisFinding) -> list[dict]:
    """The locators of a finding (pure: reads the row's fields only)."""
    if finding.source == SOURCE_ALERTMANAGER:
        urls = [
            finding.detail.get("generator_url", ""),
            (finding.detail.get("annotations") or {}).get("runbook_url", ""),
        ]
        return [
            {"system": "url", "url": url}
            for url in urls
            if isinstance(url, str) and url.startswith(("http://", "https://"))
        ]
    span = {
        "from": (finding.window_start - BEFORE).isoformat(),
        "to": (finding.window_end + AFTER).isoformat(),
    }
    service = _quote(finding.service)
    if finding.kind in LOG_KINDS:
        return [
            {
                "system": "loki",
                "query": f'{{service="{service}"}}',
                "labels": {"pattern_id": finding.metric[:200]},
                **span,
            }
        ]
    matchers = [f'{settings.PROMETHEUS_SERVICE_LABEL}="{service}"']
    matchers += [f'{k}="{_quote(v)}"' for k, v in sorted(finding.labels.items())]
    return [{"system": "prometheus", "query": f"{finding.metric}{{{', '.join(matchers)}}}", **span}]


def attach(finding: AnalysisFinding) -> int:
    """Link the finding's locators (caller's transaction). A locator the Sensor refuses is
    logged and left out: evidence must never stop a finding from being reported."""
    locators = locators_for(finding)
    if not locators:
        return 0
    try:
        links = hint_write(
            target_kind="finding",
            target_id=str(finding.pk),
            locators=locators,
            note=finding.summary[:500],
            actor="system:analyst",
        )
    except InvalidHint as refused:
        log.warning("finding %s: evidence not linked: %s", finding.pk, refused.detail)
        return 0
    return len(links)


def _quote(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"')
