"""metric_1m, read-only: points arrive through POST /ingest/metrics."""

from django.contrib import admin

from apps.sensor.models import Metric1m


@admin.register(Metric1m)
class Metric1mAdmin(admin.ModelAdmin):
    list_display = ["minute", "service", "metric", "labels", "value"]
    list_filter = ["service", "metric"]
    search_fields = ["service", "metric"]
    date_hierarchy = "minute"
    readonly_fields = ["minute", "service", "metric", "labels", "value"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
