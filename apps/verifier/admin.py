"""Checkpoints are evidence: read-only in the admin. Deciding and dry-run checks are kept
apart (a column and a filter): only deciding ones moved the case."""

from django.contrib import admin

from apps.verifier.models import VerifyCheckpoint


class ModeFilter(admin.SimpleListFilter):
    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return [("deciding", "deciding"), ("dry_run", "dry run (never decides)")]

    def queryset(self, request, queryset):
        if self.value() == "deciding":
            return queryset.filter(dry_run=False)
        if self.value() == "dry_run":
            return queryset.filter(dry_run=True)
        return queryset


@admin.register(VerifyCheckpoint)
class VerifyCheckpointAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "check_name", "mode", "result", "sentence"]
    list_filter = [ModeFilter, "result", "source"]
    search_fields = ["check_name", "case__id", "case__title", "sentence"]
    ordering = ["-created_at", "position"]

    @admin.display(description="mode", ordering="dry_run")
    def mode(self, obj):
        return "dry run" if obj.dry_run else "deciding"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
