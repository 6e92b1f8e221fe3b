"""Domain errors of the Sensor; aiops.problems renders them as problem+json with the per-item
`errors` ({index, field, message}) that say what to fix."""

from aiops.problems import Problem


class InvalidItems(Problem):
    """A request with invalid items: nothing of it was stored."""

    status, slug, title = 400, "invalid-items", "Some items are invalid"

    @classmethod
    def listing(cls, errors: list, *, shown: int):
        listed = errors[:shown]
        return cls(
            f"{len(errors)} problem(s) in the request; nothing was stored.",
            errors=[e.as_dict() for e in listed],
            errors_truncated=len(errors) > len(listed),
        )


class InvalidPoints(InvalidItems):
    slug, title = "invalid-points", "Some points are invalid"


class InvalidLogPatterns(InvalidItems):
    slug, title = "invalid-log-patterns", "Some pattern counts are invalid"


class InvalidLogs(InvalidItems):
    slug, title = "invalid-logs", "Some log lines are invalid"


class InvalidHint(InvalidItems):
    slug, title = "invalid-hint", "The hint is invalid"
