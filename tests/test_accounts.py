"""Accounts: API tokens hashed, expiring and revocable (aiops.tokens); password sign-ins
locked out after repeated failures (django-axes); Django's password validators; the first
admin `make run` creates."""

import io
import os
import stat
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from aiops import launcher, tokens
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_an_issued_token_reads_with_its_users_roles():
    key = tokens.issue(make_user("victor", "viewer"))
    assert bearer(key).get("/case/").status_code == 200
    assert bearer(key).post("/case/create", {}, format="json").status_code == 403


def test_a_token_request_reads_the_users_groups_with_the_token_not_apart():
    key = tokens.issue(make_user("victor", "viewer"))
    with CaptureQueriesContext(connection) as queries:
        assert bearer(key).get("/case/").status_code == 200
    assert not [q for q in queries if "auth_user_groups" in q["sql"] and "knox" not in q["sql"]]


def test_a_role_taken_away_is_refused_on_the_next_request():
    user = make_user("olga", "operator")
    key = tokens.issue(user)
    assert bearer(key).post("/case/create", {}, format="json").status_code == 400  # may write
    user.groups.clear()

    response = bearer(key).post("/case/create", {"title": "t", "service": "s"}, format="json")

    assert response.status_code == 403
    assert not apps.get_model("cases", "OpsCase").objects.exists()


def test_a_revoked_token_gets_401():
    key = tokens.issue(make_user("victor", "viewer"))
    out = io.StringIO()
    call_command("revoke_tokens", "victor", stdout=out)
    assert "revoked 1 token" in out.getvalue()
    response = bearer(key).get("/case/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_an_expired_token_gets_401_and_is_deleted():
    user = make_user("victor", "viewer")
    key = tokens.issue(user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert bearer(key).get("/case/").status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()


def test_issuing_a_token_clears_the_users_expired_tokens_only():
    user, other = make_user("victor", "viewer"), make_user("olga", "viewer")
    stale, live, others = tokens.issue(user), tokens.issue(user), tokens.issue(other)
    AuthToken.objects.filter(token_key=stale[:15]).update(expiry=timezone.now() - timedelta(1))
    AuthToken.objects.filter(user=other).update(expiry=timezone.now() - timedelta(1))
    fresh = tokens.issue(user)
    assert AuthToken.objects.filter(user=user).count() == 2
    assert bearer(live).get("/case/").status_code == 200
    assert bearer(fresh).get("/case/").status_code == 200
    assert AuthToken.objects.filter(user=other).count() == 1  # olga's own, still there
    assert bearer(others).get("/case/").status_code == 401


def test_tokens_expire_after_the_setting(settings):
    settings.TOKEN_TTL_HOURS = 2
    tokens.issue(make_user("victor", "viewer"))
    expected = timezone.now() + timedelta(hours=2)
    assert abs(AuthToken.objects.get().expiry - expected) < timedelta(minutes=1)
    with pytest.raises(ValueError):
        tokens.issue(User.objects.get(), hours=0)


def test_the_database_never_holds_a_key_in_clear():
    key = tokens.issue(make_user("victor", "viewer"))
    assert bearer(key).get("/case/").status_code == 200  # used once, too
    row = AuthToken.objects.values().get()
    assert key not in {str(value) for value in row.values()}
    # Nowhere else either: no row of any table spells it.
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", [f"%{key}%"])
            assert cursor.fetchone()[0] == 0, model._meta.db_table


def test_issue_token_prints_a_working_key_and_refuses_what_cannot_work():
    make_user("victor", "viewer")
    out = io.StringIO()
    call_command("issue_token", "victor", "--hours", "1", stdout=out)
    assert bearer(out.getvalue().strip()).get("/case/").status_code == 200
    with pytest.raises(CommandError):
        call_command("issue_token", "nobody")
    with pytest.raises(CommandError):
        call_command("issue_token", "victor", "--hours", "0")


def test_after_the_failure_limit_even_the_right_password_is_refused(settings, client):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_superuser("root", password="the-right-one-42")
    statuses = [
        client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]  # the form again with its error; the third locks
    right = client.post("/admin/login/", {"username": "root", "password": "the-right-one-42"})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    signed_in = [s for s in Session.objects.all() if "_auth_user_id" in s.get_decoded()]
    assert signed_in == []  # no session carries the user


def test_a_right_password_under_the_limit_signs_in_and_resets_the_count(settings, client):
    settings.AXES_FAILURE_LIMIT = 2
    User.objects.create_superuser("root", password="the-right-one-42")
    client.post("/admin/login/", {"username": "root", "password": "wrong"})
    signed_in = client.post("/admin/login/", {"username": "root", "password": "the-right-one-42"})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)


@pytest.mark.parametrize("password", ["short1", "password123", "8362910574", "olga-smith"])
def test_weak_passwords_are_refused(password):
    user = User(username="olga-smith", first_name="Olga", last_name="Smith")
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, user)


def test_the_first_admin_gets_a_valid_password_and_a_token_saved_0600(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    launcher.bootstrap_admin(out)
    path = tmp_path / launcher.CREDENTIALS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    fields = dict(line.split(": ", 1) for line in path.read_text().splitlines())
    admin = User.objects.get(username=fields["username"])
    password_validation.validate_password(fields["password"], admin)
    assert admin.check_password(fields["password"])
    assert bearer(fields["api token"]).get("/case/").status_code == 200
    expected = timezone.now() + timedelta(hours=settings.ADMIN_TOKEN_TTL_HOURS)
    assert abs(AuthToken.objects.get(user=admin).expiry - expected) < timedelta(minutes=1)
    assert fields["api token"] in out.getvalue()
