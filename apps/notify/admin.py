"""Outgoing notifications: what was sent, what waits, why it failed (read-only)."""

from django.contrib import admin

from apps.notify.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "what", "kind", "case_id", "attempts", "sent_at", "last_error"]
    list_filter = ["what", "kind"]
    search_fields = ["case_id", "last_error"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
