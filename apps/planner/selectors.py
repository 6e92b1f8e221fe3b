from apps.planner.models import PlanProposed


def latest_plan(case_id) -> PlanProposed | None:
    return PlanProposed.objects.filter(case_id=case_id).order_by("-revision").first()
