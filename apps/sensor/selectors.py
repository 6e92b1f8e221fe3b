"""Sensor reads: for other modules (the Planner asks what was ever ingested) and the API."""

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q

from aiops.prepared import prepared
from apps.sensor import locators
from apps.sensor.hints import canonical_id
from apps.sensor.models import EvidenceLink, Metric1m


def unobserved_metrics(*, service: str, metrics: Iterable[str]) -> set[str]:
    """Which of `metrics` have no metric_1m minute for `service` (within the retention: older
    minutes are deleted). One indexed existence probe per name."""
    return {metric for metric in set(metrics) if not _a_minute(service, metric)}


@prepared
def _a_minute(service, metric):
    minutes = Metric1m.objects.filter(series__service=service, series__metric=metric)
    return minutes.order_by().values_list("series_id", flat=True)[:1]


def case_evidence(case):
    """The evidence links of a case, oldest first, each with its locator: links to the case
    itself, to the findings the Orchestrator recorded in `case.labels` (`findings`: a list of
    ids; `finding`: the first one, an object with an `id`), and to steps of the case."""
    finding_ids = case_finding_ids(case.labels)
    targets = Q(target_kind=EvidenceLink.CASE, target_id=str(case.pk))
    targets |= Q(target_kind=EvidenceLink.STEP, case_id=case.pk)
    if finding_ids:
        targets |= Q(target_kind=EvidenceLink.FINDING, target_id__in=finding_ids)
    return (
        EvidenceLink.objects.filter(targets).select_related("locator").order_by("created_at", "id")
    )


def case_finding_ids(labels) -> list[str]:
    """The finding ids a case's labels name; absent or malformed entries name none."""
    if not isinstance(labels, dict):
        return []
    found = labels.get("findings")
    ids = [i for i in found if isinstance(i, str | int)] if isinstance(found, list) else []
    first = labels.get("finding")
    if isinstance(first, dict) and isinstance(first.get("id"), str | int):
        ids.append(first["id"])
    return sorted({canonical_id(str(i)) for i in ids if not isinstance(i, bool)})


def evidence_href(locator) -> tuple[str | None, str]:
    """(href, why): a link into the locator's system's UI, or None and why there is none."""
    return locators.render(locator, ui_bases())


def ui_bases() -> locators.UiBases:
    return locators.UiBases(
        prometheus=settings.PROMETHEUS_UI_URL or settings.PROMETHEUS_URL,
        grafana=settings.GRAFANA_URL,
        grafana_loki_datasource=settings.GRAFANA_LOKI_DATASOURCE,
        openobserve=settings.OPENOBSERVE_URL,
        openobserve_org=settings.OPENOBSERVE_ORG,
        kibana=settings.KIBANA_URL,
    )
