"""The Analyst's part of a closed case's summary, and its findings' retention."""

from datetime import timedelta

from django.conf import settings

from apps.analyst.models import RESOLVED
from apps.cases.archive import summary_part
from apps.cases.retention import delete_batched, retention_step


@summary_part("findings")
def findings(case) -> list[dict]:
    from apps.analyst.handlers import _uuids
    from apps.analyst.models import AnalysisFinding

    ids = _uuids([i for i in case.labels.get("findings", []) if isinstance(i, str)])
    rows = AnalysisFinding.objects.filter(id__in=ids).order_by("started_at") if ids else []
    return [
        {
            "kind": f.kind,
            "source": f.source,
            "metric": f.metric,
            "status": f.status,
            "summary": f.summary[:500],
        }
        for f in rows
    ]


@retention_step("findings")
def findings_expire(now) -> int:
    cutoff = now - timedelta(days=settings.RETAIN_FINDINGS_DAYS)
    return delete_batched(
        "analysis_finding", "id", "status = %s AND resolved_at < %s", [RESOLVED, cutoff]
    )
