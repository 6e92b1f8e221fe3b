"""The Analyst's subscriber: ANALYZING asks for the case's findings.

Until anomaly rules exist (they read metric_1m / log_pattern_5m), the findings are the one
the case was opened with, if any; the Planner turns a finding into an incident plan.
"""

from apps.analyst.events import FindingsReported
from apps.cases import events
from apps.cases import workflow as wf
from apps.cases.services import lock_case


@events.subscriber("analyst.analyze", events.AnalysisRequested)
def on_analysis_requested(command) -> None:
    case = lock_case(command.case_id)
    if case.state != wf.ANALYZING or case.version != command.case_version:
        return
    finding = case.labels.get("finding")
    findings = [finding if isinstance(finding, dict) else {"kind": str(finding)}] if finding else []
    FindingsReported(case_id=command.case_id, findings=findings).emit()
