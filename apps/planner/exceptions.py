"""Planner errors, rendered as problem+json by aiops.problems."""

from aiops.problems import BadRequest, Conflict


class PlanInvalid(BadRequest):
    slug, title = "plan-invalid", "The plan does not match the aiops/v1 Plan schema"


class PlanOutOfBounds(BadRequest):
    slug, title = "plan-out-of-bounds", "The plan touches what its environment may not"


class PlanRequestInvalid(BadRequest):
    slug, title = "plan-request-invalid", "The plan request is invalid"


class CaseNotPlanning(Conflict):
    slug, title = "case-not-planning", "Plans can be proposed only in ANALYZING or PLANNING"
