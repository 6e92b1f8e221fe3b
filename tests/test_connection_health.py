"""The database health check (aiops.postgres): a connection the server closed is replaced
before a request uses it; a healthy one is used without a `SELECT 1` round trip."""

import psycopg
import pytest
from django.db import close_old_connections, connection

from tests.support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _other():
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], autocommit=True
    )


def _last_statement(pid: int) -> str:
    with _other() as other:
        return other.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[
            0
        ]


def _next_request_starts():
    # What Django does at the start of a request and Celery's fixup before a task.
    close_old_connections()
    connection.close_if_health_check_failed()


def test_a_connection_the_server_closed_is_replaced_before_the_next_request_uses_it():
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with _other() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        gone = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = %s"
        wait_for(lambda: other.execute(gone, [pid]).fetchone()[0], what="the backend to exit")
    _next_request_starts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_healthy_connection_is_used_without_a_select_1_round_trip():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the last statement before the request'")
    pid = connection.connection.info.backend_pid
    _next_request_starts()
    assert connection.connection.info.backend_pid == pid
    assert _last_statement(pid) == "SELECT 'the last statement before the request'"
