"""How the loop's changes turn out, read from the timeline (the Orchestrator's own record).

`outcome_summary(since)` is the dashboard's: every number counts timeline rows written
since `since`. A *change* is a plan the Executor carried out; it succeeded when a passing
verification closed its case (verify_pass) and failed when its run failed (exec_failed) or
its verification did (verify_failed). Rollbacks are runs that ended by running the plan's
rollback steps (run_rolled_back: after a failed step, or after a failed verification).
An *override* is a failed verification a person accepted (verify_accepted: the change was
kept and the case closed), the false-positive signal of a check. Time in a state is the
time between a case's transition into it and its next transition, for transitions out of
it since `since`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count

from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline
from apps.cases.selectors import VERIFY_ACCEPTED

SUCCEEDED = ("verify_pass",)
FAILED = ("exec_failed", "verify_failed")
ROLLED_BACK = "run_rolled_back"
PARK_EVENTS = tuple(t.event for t in wf.TRANSITIONS if t.target == wf.PARKED)
COUNTED = (*SUCCEEDED, *FAILED, ROLLED_BACK, VERIFY_ACCEPTED, *PARK_EVENTS)


@dataclass(frozen=True)
class OutcomeCounts:
    succeeded: int
    failed: int
    rollbacks: int
    overrides: int
    parks_by_reason: dict[str, int]

    @property
    def success_rate(self) -> float | None:
        ended = self.succeeded + self.failed
        return round(self.succeeded / ended, 4) if ended else None


def outcome_counts(*, since: datetime) -> OutcomeCounts:
    """One grouped query over the timeline rows since `since` (index on event, created_at)."""
    rows = (
        CaseTimeline.objects.filter(created_at__gte=since, event__in=COUNTED)
        .values_list("event", "to_state")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_event: dict[str, int] = {}
    parks: dict[str, int] = {}
    for event, to_state, n in rows:
        by_event[event] = by_event.get(event, 0) + n
        if to_state == wf.PARKED and event in PARK_EVENTS:
            parks[event] = parks.get(event, 0) + n
    return OutcomeCounts(
        succeeded=sum(by_event.get(e, 0) for e in SUCCEEDED),
        failed=sum(by_event.get(e, 0) for e in FAILED),
        rollbacks=by_event.get(ROLLED_BACK, 0),
        overrides=by_event.get(VERIFY_ACCEPTED, 0),
        parks_by_reason=dict(sorted(parks.items())),
    )


# Per state left since %s: the time since the same case's previous transition. The window
# reads only the transitions of cases that moved since then.
_TIME_IN_STATE = """
SELECT from_state, COUNT(*), AVG(seconds), MAX(seconds)
FROM (
    SELECT from_state, created_at,
           EXTRACT(EPOCH FROM created_at - LAG(created_at) OVER (
               PARTITION BY case_id ORDER BY id)) AS seconds
    FROM case_timeline
    WHERE from_state <> to_state
      AND case_id IN (
          SELECT DISTINCT case_id FROM case_timeline
          WHERE created_at >= %s AND from_state <> to_state)
) AS moves
WHERE created_at >= %s AND seconds IS NOT NULL AND from_state <> ''
GROUP BY from_state
"""


def time_in_state(*, since: datetime) -> dict[str, dict]:
    """{state: {"transitions", "avg_s", "max_s"}} for the transitions out of each state."""
    with connection.cursor() as cursor:
        cursor.execute(_TIME_IN_STATE, [since, since])
        rows = cursor.fetchall()
    return {
        state: {"transitions": n, "avg_s": round(float(avg), 3), "max_s": round(float(top), 3)}
        for state, n, avg, top in sorted(rows)
    }


def outcome_summary(since: datetime) -> dict:
    """The loop's outcomes since `since`, for the dashboard (see the module's docstring)."""
    counts = outcome_counts(since=since)
    return {
        "since": since.isoformat(),
        "changes": {
            "succeeded": counts.succeeded,
            "failed": counts.failed,
            "success_rate": counts.success_rate,
        },
        "rollbacks_total": counts.rollbacks,
        "parks_by_reason": counts.parks_by_reason,
        "verify_overrides": counts.overrides,
        "time_in_state": time_in_state(since=since),
    }
