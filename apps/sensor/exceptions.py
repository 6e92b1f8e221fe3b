"""Domain errors of the Sensor; aiops.problems renders them as problem+json with the per-item
`errors` ({index, field, message}) that say what to fix."""

import json

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


class SeriesCollision(Problem):
    """Two different series hash to one id (apps.sensor.staging.series_id): about once in
    2^64. The batch is refused whole; the stored series is kept."""

    status, slug, title = 409, "series-collision", "A series collides with a stored one"

    @classmethod
    def of(cls, series: list[tuple[str, str, str]]):
        return cls(
            "These series hash to the id of a different stored series; nothing was stored. "
            "Report it: a label renamed or added gives the series a new id.",
            series=[{"service": s, "metric": m, "labels": json.loads(lab)} for s, m, lab in series],
        )
