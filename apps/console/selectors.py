"""What the case page shows, read in a fixed number of queries however long the case's
history: the timeline, the latest plan, gate decisions, the latest run and its steps, the
checkpoints, findings and evidence. Reads only; every module's own tables through its models.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime

from apps.analyst.models import AnalysisFinding
from apps.cases.models import CaseTimeline, OpsCase
from apps.executor import logstore
from apps.executor.models import ExecRun, ExecStep
from apps.gate.models import GateDecision, PlanApproved
from apps.planner.models import PlanProposed
from apps.sensor import selectors as sensor
from apps.verifier.models import VerifyCheckpoint

TIMELINE_ROWS = 200  # newest rows shown; the rest are a link away
TAIL_BYTES = 2000
CHECKPOINTS = 50


@dataclass
class StepView:
    step: ExecStep
    output: str


@dataclass
class CheckpointView:
    checkpoint: VerifyCheckpoint
    minute_values: list[tuple[datetime, float]]


@dataclass
class CasePage:
    case: OpsCase
    timeline: list[CaseTimeline]
    timeline_total: int
    plan: PlanProposed | None
    decisions: list[GateDecision]
    approvals: list[PlanApproved]
    run: ExecRun | None
    steps: list[StepView]
    runs_total: int
    checkpoints: list[CheckpointView]
    findings: list[AnalysisFinding]
    evidence: list = field(default_factory=list)

    @property
    def change_at(self) -> datetime | None:
        """When the change began: the latest entry into EXECUTING (as the Verifier's baseline)."""
        for row in reversed(self.timeline):
            if row.to_state == "EXECUTING" and row.from_state != "EXECUTING":
                return row.created_at
        return None

    @property
    def latest_verification(self) -> list[CheckpointView]:
        """The checkpoints of the newest verification (the one that decided), in plan order."""
        if not self.checkpoints:
            return []
        newest = self.checkpoints[0].checkpoint.verification_id
        return [v for v in self.checkpoints if v.checkpoint.verification_id == newest]

    @property
    def pending_decision(self) -> GateDecision | None:
        """The latest decision on the latest plan if it waits for a person."""
        if self.plan is None or not self.decisions:
            return None
        latest = next((d for d in self.decisions if d.plan_id == self.plan.pk), None)
        waiting = (GateDecision.NEEDS_HUMAN, GateDecision.DEFERRED)
        return latest if latest is not None and latest.decision in waiting else None


def case_page(case: OpsCase) -> CasePage:
    timeline = list(CaseTimeline.objects.filter(case=case).order_by("-id")[:TIMELINE_ROWS])[::-1]
    total = len(timeline)
    if total == TIMELINE_ROWS:
        total = CaseTimeline.objects.filter(case=case).count()
    runs = list(ExecRun.objects.filter(case=case).order_by("-created_at")[:1])
    run = runs[0] if runs else None
    steps = list(ExecStep.objects.filter(run=run)) if run else []
    return CasePage(
        case=case,
        timeline=timeline,
        timeline_total=total,
        plan=PlanProposed.objects.filter(case=case)
        .select_related("requested_by")
        .order_by("-revision")
        .first(),
        decisions=list(
            GateDecision.objects.filter(case=case).select_related("plan").order_by("-created_at")
        ),
        approvals=list(PlanApproved.objects.filter(case=case).order_by("-created_at")),
        run=run,
        steps=[StepView(step, _output(step)) for step in _forward_first(steps)],
        runs_total=ExecRun.objects.filter(case=case).count() if run else 0,
        checkpoints=[
            CheckpointView(cp, _minute_values(cp.minute_values))
            for cp in VerifyCheckpoint.objects.filter(case=case).order_by(
                "-created_at", "position"
            )[:CHECKPOINTS]
        ],
        findings=list(
            AnalysisFinding.objects.filter(pk__in=_uuids(sensor.case_finding_ids(case.labels)))
            .select_related("rule")
            .order_by("started_at")
        ),
        evidence=[
            (link, *sensor.evidence_href(link.locator)) for link in sensor.case_evidence(case)
        ],
    )


def _forward_first(steps: list[ExecStep]) -> list[ExecStep]:
    return sorted(steps, key=lambda s: (s.phase != ExecRun.FORWARD, s.index, s.attempt))


def _output(step: ExecStep) -> str:
    out = logstore.read(step.stdout_ref, tail_bytes=TAIL_BYTES)
    err = logstore.read(step.stderr_ref, tail_bytes=TAIL_BYTES)
    return out + (("\n--- stderr ---\n" + err) if err else "")


def _minute_values(raw) -> list[tuple[datetime, float]]:
    """verify_checkpoint.minute_values ([[iso minute, value], …]) as (datetime, value)."""
    values = []
    for item in raw or []:
        moment = parse_datetime(item[0]) if isinstance(item, list) and len(item) == 2 else None
        if moment is not None and isinstance(item[1], int | float):
            values.append((moment, float(item[1])))
    return values


def _uuids(ids: list[str]) -> list[str]:
    valid = []
    for value in ids:
        try:
            valid.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return valid
