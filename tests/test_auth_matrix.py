"""Every route by every role, against the table in docs/security.md (so the two cannot drift).

The table's rows are `| route | method | anonymous | no role | viewer | operator | approver |
ingest | superuser |`; a route is its pattern as the URL resolver spells it (`admin/` stands
for the admin's index and every model's changelist). A cell is `allowed` (any status but
401/403), `401` or `403` (exactly), or another exact status (e.g. the admin's `302` to its
login page). Path parameters are filled with a real object's id (case, plan, run, step) or a
random UUID.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver

from apps.executor.models import ExecStep
from apps.executor.services import exec_start
from tests import factories
from tests.conftest import client_for, drive_to_executing, make_user

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "no role", "viewer", "operator", "approver", "ingest", "superuser")
METHODS = ("get", "post", "put", "patch", "delete")
DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"


def documented() -> dict[tuple[str, str], dict[str, str]]:
    """(route, METHOD) → role → cell, from the docs/security.md route table."""
    table = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(ROLES) or not re.fullmatch(r"[A-Z]+", cells[1]):
            continue
        table[(cells[0], cells[1])] = dict(zip(ROLES, cells[2:], strict=True))
    return table


def routes() -> list[tuple[str, str]]:
    """(route, METHOD) for every URL pattern outside the admin, and the admin as one row."""
    found = []

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route == "admin/":
                    found.append((route, "GET"))
                else:
                    walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                found.extend((route, m.upper()) for m in _methods(entry.callback))

    walk(get_resolver().url_patterns, "")
    return found


def _methods(callback) -> list[str]:
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return ["get"]  # a plain function view (healthz, readyz, metrics)
    return [m for m in METHODS if hasattr(view, m)]


@pytest.fixture
def objects(db):
    """One of everything a path can name: a case with a plan, a run and its queued step."""
    user = make_user("matrix-operator", "operator")
    case = drive_to_executing(factories.new_case(user), "matrix-operator")
    run = exec_start(case_id=case.pk, actor="matrix-operator")
    step = ExecStep.objects.filter(run=run).first()
    return {
        "case_id": case.pk,
        "plan_id": case.plans.first().pk,
        "run_id": step.run_id,
        "step_id": step.pk,
    }


def clients():
    users = {
        "no role": make_user("matrix-nobody"),
        "viewer": make_user("matrix-viewer", "viewer"),
        "operator": make_user("matrix-op", "operator"),
        "approver": make_user("matrix-approver", "approver"),
        "ingest": make_user("matrix-ingest", "ingest"),
        "superuser": User.objects.create_superuser("matrix-root", password="pw"),  # staff too
    }
    return {"anonymous": client_for(None)} | {role: client_for(u) for role, u in users.items()}


def urls(route: str, ids: dict) -> list[str]:
    if route == "admin/":
        changelists = [
            f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            for model in admin.site._registry
        ]
        return ["/admin/", *changelists]
    filled = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m[1]) or uuid.uuid4()), route)
    return ["/" + filled]


def test_the_table_names_every_route_and_only_those():
    assert sorted(documented()) == sorted(routes())


def test_every_route_answers_every_role_as_documented(objects):
    table, everyone = documented(), clients()
    wrong = []
    for route, method in routes():
        for role, expected in table[(route, method)].items():
            for url in urls(route, objects):
                status = everyone[role].generic(method, url, "{}", "application/json").status_code
                if not _matches(expected, status):
                    wrong.append(f"{method} {url} as {role}: {status}, documented {expected}")
    assert wrong == []


def _matches(expected: str, status: int) -> bool:
    if expected == "allowed":
        return status not in (401, 403)
    return status == int(expected)
