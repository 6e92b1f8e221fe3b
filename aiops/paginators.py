"""An admin paginator that does not count a huge table: unfiltered, it takes PostgreSQL's
own estimate (pg_class.reltuples, kept by autovacuum/ANALYZE) once that is past ESTIMATE_FROM
rows; filtered, or small, it counts. Page links past the real end are empty pages, not
errors; the total shown is then approximate, which a list of a million rows can afford."""

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

ESTIMATE_FROM = 100_000


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= ESTIMATE_FROM:
                return int(row[0])
        return super().count
