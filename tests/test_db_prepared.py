"""Statements a connection runs again and again are prepared on the server (planned once)."""

from django.conf import settings
from django.db import connection

from apps.cases.models import OpsCase


def _prepared(fragment: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if fragment in row[0]]


def test_a_statement_run_past_the_threshold_is_prepared_on_the_server(db):
    for _ in range(settings.DB_PREPARE_THRESHOLD + 1):
        list(OpsCase.objects.filter(title="prepared?").values_list("id", flat=True))
    (statement,) = _prepared('"ops_case"."title" = $1')
    assert "prepared?" not in statement  # the value travels as a parameter


def test_a_statement_run_fewer_times_is_not_prepared(db):
    for _ in range(settings.DB_PREPARE_THRESHOLD - 1):
        list(OpsCase.objects.filter(service="rarely").values_list("id", flat=True))
    assert _prepared('"ops_case"."service" = $1') == []
