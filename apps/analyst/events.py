"""The Analyst's events."""

from dataclasses import dataclass

from apps.cases.events import Event


@dataclass(frozen=True)
class FindingsReported(Event):
    type = "evt.analysis.findings.v1"
    description = "The Analyst's findings for a case in ANALYZING (possibly none)."
    findings: list[dict]
