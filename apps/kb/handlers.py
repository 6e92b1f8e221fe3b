"""The Librarian's subscriber: a case that closes (from VERIFYING or from PARKED) becomes a
"case" document — its summary — so later cases with the same symptoms find it."""

from django.conf import settings

from aiops import rows
from apps.cases import events
from apps.cases import workflow as wf
from apps.cases.archive import case_summary
from apps.cases.models import OpsCase
from apps.kb import casedoc
from apps.kb.models import KbDoc
from apps.kb.services import doc_ingest

ACTOR = "system:librarian"


def case_url(case_id) -> str:
    return f"{settings.PUBLIC_URL}/case/{case_id}"


@events.subscriber("kb.archive_case", events.CaseTransitioned, when=events.entering(wf.CLOSED))
def on_case_closed(event) -> None:
    case = rows.get(OpsCase, event.case_id)
    if case is None:
        return
    summary = case_summary(case)
    title, body = casedoc.markdown(summary)
    doc = doc_ingest(
        title=title,
        kind="case",
        body=body,
        services=[case.service],
        source_url=case_url(case.pk),
        actor=ACTOR,
    )
    rows.update_where(KbDoc, {"meta": casedoc.meta_of(summary)}, {"id": doc.pk})
