import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.cases import services
from tests import support


def make_user(username: str, *roles: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username)
    user.is_superuser = superuser
    user.save()
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(
            HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}"
        )
    return client


@pytest.fixture
def operator(db):
    return make_user("olga", "operator")


@pytest.fixture
def api(operator):
    """An API client authenticated as an operator."""
    return client_for(operator)


@pytest.fixture
def viewer_api(db):
    return client_for(make_user("victor", "viewer"))


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture
def new_case(operator):
    def make(**overrides):
        fields = {"title": "checkout p95 up", "service": "checkout", "environment": "staging"}
        fields.update(overrides)
        return services.case_create(actor=operator, **fields)

    return make


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker process on the test database and broker."""
    support.purge_broker()
    process = support.celery_worker().start()
    yield process
    process.stop()
