"""The Analyst's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class FindingsReported(Event):
    """With a case: the answer to cmd.analysis.run.v1. Without one (case_id ""): new
    findings from a scan or an alert; the Orchestrator opens or attaches their case."""

    type = "evt.analysis.findings.v1"
    description = (
        "The Analyst's findings: for a case in ANALYZING (possibly none), or, with an empty "
        "case_id, newly firing findings the Orchestrator correlates into cases."
    )
    findings: list[dict]


@dataclass(frozen=True)
class FindingResolved(Event):
    type = "evt.analysis.finding.resolved.v1"
    description = "A finding stopped firing (the rule went quiet, or the alert resolved)."
    finding: dict
