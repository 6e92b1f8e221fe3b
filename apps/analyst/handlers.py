"""The Analyst's subscriber: ANALYZING asks for the case's findings.

A case the Orchestrator opened from findings lists their ids (labels.findings): the answer
is those findings as they stand now. A case opened by hand with a `finding` label gets that
one back; the Planner turns the first finding into an incident plan.
"""

import uuid

from apps.analyst.events import FindingsReported
from apps.analyst.models import AnalysisFinding
from apps.cases import events
from apps.cases import workflow as wf
from apps.cases.services import lock_case


@events.subscriber("analyst.analyze", events.AnalysisRequested)
def on_analysis_requested(command) -> None:
    case = lock_case(command.case_id)
    if case.state != wf.ANALYZING or case.version != command.case_version:
        return
    ids = _uuids([i for i in case.labels.get("findings", []) if isinstance(i, str)])
    # No findings listed (a case opened by hand or by an alert): no query to build.
    rows = AnalysisFinding.objects.filter(id__in=ids).select_related("rule") if ids else None
    findings = [f.as_event() for f in rows.order_by("started_at")] if rows is not None else []
    if not findings:
        finding = case.labels.get("finding")
        if finding:
            findings = [finding if isinstance(finding, dict) else {"kind": str(finding)}]
    FindingsReported(case_id=command.case_id, findings=findings).emit()


def _uuids(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return out
