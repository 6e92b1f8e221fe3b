"""Domain errors of the Orchestrator; aiops.problems renders them as problem+json."""

from aiops.problems import BadRequest, Conflict, NotFound, Problem


class CaseNotFound(NotFound):
    slug, title = "case-not-found", "Case not found"


class UnknownEvent(BadRequest):
    slug, title = "unknown-event", "Unknown event"


class ReasonRequired(BadRequest):
    slug, title = "reason-required", "This event needs a reason"


class ModuleEvent(Problem):
    status, slug, title = 403, "module-event", "Only the module that owns this outcome reports it"


class IllegalTransition(Conflict):
    slug, title = "illegal-transition", "Event not allowed in the current state"


class GuardFailed(Conflict):
    slug, title = "guard-failed", "The transition's guard refused it"


class StaleVersion(Problem):
    status, slug, title = 412, "stale-version", "If-Match does not match the current version"


class NoVerifyDecision(Conflict):
    slug, title = "no-verify-decision", "The case is not waiting for a verify decision"
