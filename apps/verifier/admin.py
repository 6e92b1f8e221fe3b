"""Checkpoints are evidence: read-only in the admin."""

from django.contrib import admin

from apps.verifier.models import VerifyCheckpoint


@admin.register(VerifyCheckpoint)
class VerifyCheckpointAdmin(admin.ModelAdmin):
    list_display = ["created_at", "case", "check_name", "result", "dry_run", "sentence"]
    list_filter = ["result", "dry_run", "source"]
    search_fields = ["check_name", "case__id", "case__title", "sentence"]
    ordering = ["-created_at", "position"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
