"""Planner use cases: propose a plan revision for a case (one transaction)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aiops import registry, rows
from apps.cases import workflow as wf
from apps.cases.services import lock_case, timeline_note
from apps.kb import loop as kb_loop
from apps.kb.handlers import case_url as kb_case_url
from apps.planner import dsl, metrics, selectors, templates
from apps.planner.defaults import plan_defaults
from apps.planner.events import PlanProposedEvent, PlanWaiting
from apps.planner.exceptions import (
    CaseNotPlanning,
    PlanInvalid,
    PlanOutOfBounds,
    PlanRequestInvalid,
)
from apps.planner.models import PlanProposed

ACTOR = "system:planner"


def plan_generate(
    *,
    case_id,
    actor: str,
    template: str | None = None,
    params: dict | None = None,
    document=None,
    requested_by=None,
) -> PlanProposed:
    """Propose the next plan revision of a case in ANALYZING or PLANNING, from a template or a
    hand-written document.

    Writes plan_proposed (revision = previous + 1) with its risk score and factors, a
    "plan_proposal" timeline row and evt.plan.proposed.v1 (the Orchestrator then moves the
    case on). A plan whose steps touch what the case's environment may not (the gate policy's
    `targets`, asked through aiops.registry) is refused, whoever wrote it. Raises
    PlanRequestInvalid/PlanInvalid/PlanOutOfBounds (400), CaseNotFound (404),
    CaseNotPlanning (409).
    """
    if (template is None) == (document is None):
        raise PlanRequestInvalid("Give either a template or a plan, not both and not neither.")
    if template is not None and template not in templates.TEMPLATES:
        raise PlanRequestInvalid(
            f"Unknown template '{template}'.", known_templates=list(templates.TEMPLATES)
        )
    if params is not None and not isinstance(params, dict):
        raise PlanRequestInvalid("params must be an object.")
    if document is not None:
        document = _checked(document)
    with transaction.atomic():
        case = lock_case(case_id)
        if case.state not in (wf.ANALYZING, wf.PLANNING):
            raise CaseNotPlanning(
                f"The case is in {case.state}.",
                state=case.state,
                allowed_events=wf.allowed_events(case.state),
            )
        now = timezone.now()
        failures = selectors.recent_failed_changes(
            service=case.service, now=now, days=settings.PLANNER_RECENT_FAILURE_DAYS
        )
        if document is None:
            document = _from_template(case, template, params or {}, now=now, failures=failures)
        else:
            _check_target(document, case)
        _check_bounds(document, case)
        # Scored as stored (defaults filled in, e.g. a check's no_data from settings), with
        # the facts only the database knows.
        score, factors = templates.assess_risk(
            document["spec"],
            now=now,
            recent_failures=failures,
            unobserved_metrics=selectors.unobserved_metrics(
                service=case.service, spec=document["spec"]
            ),
        )
        document["metadata"]["risk"] = {"score": score, "factors": factors}
        newest = selectors.latest_plan(case.pk)
        revision = (newest.revision if newest is not None else 0) + 1
        risk = document["metadata"]["risk"]
        knowledge = _knowledge(case)
        plan = rows.insert(
            PlanProposed(
                case=case,
                revision=revision,
                template=document["metadata"].get("template", ""),
                document=document,
                risk_score=risk["score"],
                risk_factors=risk["factors"],
                created_by=actor,
                requested_by=requested_by,
                case_version=case.version,
                **knowledge,
            )
        )
        missing = dsl.missing_parts(document)
        timeline_note(
            case,
            event="plan_proposal",
            actor=actor,
            reason=(
                f"revision {revision} ({plan.template or 'hand-written'}), risk {plan.risk_score}"
            ),
            data={"plan_id": str(plan.pk), "revision": revision, "missing": missing},
        )
        PlanProposedEvent(
            case_id=str(case.pk),
            plan_id=str(plan.pk),
            revision=revision,
            template=plan.template,
            risk=plan.risk_score,
            environment=case.environment,
            service=case.service,
            ready=not missing,
            missing=missing,
            actor=actor,
        ).emit()
        transaction.on_commit(
            lambda: (
                metrics.plans_proposed_total.labels(template=plan.template or "custom").inc(),
                metrics.plan_risk_score.observe(plan.risk_score),
            )
        )
    return plan


def plan_on_request(*, case_id, case_version: int) -> PlanProposed | None:
    """PLANNING asked for a plan (cmd.plan.propose.v1, caller's transaction): propose one from
    the case's template, or from its finding (the incident template); with neither, note that
    the case waits for a hand-written plan (evt.plan.waiting.v1). Does nothing when the case
    moved on since it asked, or a plan was already proposed in this pass (during ANALYZING,
    one version earlier, or now)."""
    case = lock_case(case_id)
    if case.state != wf.PLANNING or case.version != case_version:
        return None
    latest = selectors.latest_plan(case.pk)
    if latest is not None and latest.case_version >= case_version - 1:
        return None
    finding = case.labels.get("finding")
    if case.template:
        template, params = case.template, case.params
    elif finding:
        template, params = "incident", case.params
    else:
        reason = "no template or finding on the case: waiting for a hand-written plan"
        timeline_note(case, event="plan_waiting", actor=ACTOR, reason=reason)
        PlanWaiting(case_id=str(case.pk), reason=reason).emit()
        return None
    # The case's creator asked for this change: four-eyes keeps them from approving it.
    return plan_generate(
        case_id=case.pk,
        actor=ACTOR,
        template=template,
        params=params,
        requested_by=case.created_by,
    )


def _checked(document) -> dict:
    if isinstance(document, str | bytes):
        try:
            document = dsl.parse_text(document)
        except dsl.PlanSyntaxError as exc:
            raise PlanInvalid(str(exc), errors=[{"path": "$", "message": str(exc)}]) from None
    errors = dsl.validate(document)
    if errors:
        raise PlanInvalid(
            f"{len(errors)} error(s): " + "; ".join(f"{e['path']}: {e['message']}" for e in errors),
            errors=errors,
        )
    return dsl.normalize(document, defaults=plan_defaults())


def _check_target(document: dict, case) -> None:
    target = document["spec"]["target"]
    errors = [
        {"path": f"$.spec.target.{key}", "message": f"must be the case's {key} '{expected}'"}
        for key, expected in (("environment", case.environment), ("service", case.service))
        if target[key] != expected
    ]
    if errors:
        raise PlanInvalid("The plan targets another service or environment.", errors=errors)


def _check_bounds(document: dict, case) -> None:
    # Judged by what the steps touch, not by the case's environment label: a dev case must
    # not reach a production namespace.
    errors = registry.target_violations(case.environment, document["spec"])
    if errors:
        raise PlanOutOfBounds(
            f"The plan reaches outside {case.environment}: "
            + "; ".join(f"{e['path']}: {e['message']}" for e in errors),
            errors=errors,
        )


def _knowledge(case) -> dict:
    """What the Librarian knows about this case's symptoms (empty when switched off)."""
    if not settings.PLANNER_REFERENCES:
        return {}
    query = kb_loop.case_query(case)
    similar = kb_loop.similar_cases(query, exclude_url=kb_case_url(case.pk))
    return {
        "references": kb_loop.references(query),
        "similar_cases": similar,
        "track_record": kb_loop.track_record(similar),
    }


def _from_template(case, template: str, params: dict, *, now, failures: int) -> dict:
    target = {"environment": case.environment, "service": case.service}
    last = None
    if template in ("rollback", "incident"):
        last = selectors.last_change(
            service=case.service, environment=case.environment, exclude_case_id=case.pk
        )
    try:
        if template == "incident":
            finding = params.get("finding") or case.labels.get("finding") or {}
            rest = {k: v for k, v in params.items() if k != "finding"}
            document = templates.build_incident_plan(
                finding, target, rest, now=now, recent_failures=failures, last_change=last
            )
        else:
            document = templates.build_change_plan(
                template, target, params, now=now, recent_failures=failures, last_change=last
            )
    except templates.TemplateError as exc:
        raise PlanRequestInvalid(str(exc)) from None
    errors = dsl.validate(document)
    if errors:  # a parameter slipped through into an invalid plan: say which
        raise PlanInvalid("The template produced an invalid plan.", errors=errors)
    return dsl.normalize(document, defaults=plan_defaults())
