"""Gatekeeper errors, rendered as problem+json by aiops.problems."""

from aiops.problems import BadRequest, Conflict, Problem


class NotAtGate(Conflict):
    slug, title = "case-not-at-gate", "The case is not waiting at the gate"


class AlreadyDecided(Conflict):
    slug, title = "gate-already-decided", "The latest plan already has a gate decision"


class NoPendingApproval(Conflict):
    slug, title = "no-pending-approval", "The latest plan is not waiting for a human decision"


class CommentRequired(BadRequest):
    slug, title = "comment-required", "A rejection needs a comment"


class FourEyesViolation(Problem):
    status, slug, title = 403, "four-eyes", "The plan's requester cannot approve it"


class KillSwitchEngaged(Conflict):
    slug, title = "kill-switch-engaged", "The kill switch is engaged"
