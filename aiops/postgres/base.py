"""Django's PostgreSQL backend, with a health check that costs no round trip when the
connection is plainly fine.

CONN_HEALTH_CHECKS makes Django send `SELECT 1` before the first statement of every
request and every Celery task on a reused connection: one round trip in eight of an API
write, a dozen per loop case. A server that closed the connection (a restart, an idle
timeout, pg_terminate_backend) leaves the socket readable: its goodbye message, then EOF.
So an idle connection whose socket has nothing to read is used as it is; anything else
gets Django's `SELECT 1`, and a connection that fails it is replaced before use.
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self._plainly_usable() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _plainly_usable(self) -> bool:
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):  # no socket to look at: ask the server
            return False
        return not readable
