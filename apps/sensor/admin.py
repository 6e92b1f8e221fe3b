"""The Sensor's tables, read-only: everything arrives through POST /ingest/*."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.sensor.models import DrainState, EvidenceLink, LogPattern5m, MetricSeries, OoLocator


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence is written by the ingest endpoints only; the admin shows and deletes it."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MetricSeries)
class MetricSeriesAdmin(ReadOnlyAdmin):
    """A series and its latest minutes (metric_1m's composite key keeps it out of the admin
    as a model of its own)."""

    LATEST = 60
    list_display = ["service", "metric", "labels", "created_at"]
    list_filter = ["service", "metric"]
    search_fields = ["service", "metric"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "latest_minutes"]

    @admin.display(description=f"latest {LATEST} minutes")
    def latest_minutes(self, obj):
        rows = obj.minutes.order_by("-minute").values_list("minute", "value")[: self.LATEST]
        return (
            format_html_join(
                mark_safe("<br>"), "{}: {}", ((f"{m:%Y-%m-%d %H:%M}", v) for m, v in rows)
            )
            or "—"
        )


@admin.register(LogPattern5m)
class LogPattern5mAdmin(ReadOnlyAdmin):
    list_display = ["bucket", "service", "pattern_id", "count", "template"]
    list_filter = ["service"]
    search_fields = ["service", "pattern_id", "template"]
    date_hierarchy = "bucket"


@admin.register(DrainState)
class DrainStateAdmin(ReadOnlyAdmin):
    list_display = ["service", "version", "updated_at"]
    search_fields = ["service"]
    exclude = ["state"]  # a compressed snapshot: nothing a person reads

    def get_readonly_fields(self, request, obj=None):
        return ["service", "version", "updated_at"]


class EvidenceLinkInline(admin.TabularInline):
    model = EvidenceLink
    extra = 0
    can_delete = False
    fields = ["target_kind", "target_id", "case_id", "note", "created_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OoLocator)
class OoLocatorAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "system", "stream", "query", "time_from", "time_to", "url"]
    list_filter = ["system"]
    search_fields = ["stream", "query", "url"]
    date_hierarchy = "created_at"
    inlines = [EvidenceLinkInline]


@admin.register(EvidenceLink)
class EvidenceLinkAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "target_kind", "target_id", "case_id", "created_by", "note"]
    list_filter = ["target_kind", "locator__system", "created_by"]
    search_fields = ["target_id", "case_id", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["locator"]
