"""Operators' view of cases and the outbox. State changes go through services only."""

from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html_join

from aiops.actors import actor_name
from aiops.paginators import EstimatedCountPaginator
from apps.cases import services
from apps.cases import workflow as wf
from apps.cases.models import CaseTimeline, OpsCase, Outbox


class TimelineInline(admin.TabularInline):
    model = CaseTimeline
    extra = 0
    can_delete = False
    fields = ["created_at", "event", "from_state", "to_state", "actor", "reason"]
    readonly_fields = fields
    ordering = ["id"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(OpsCase)
class OpsCaseAdmin(admin.ModelAdmin):
    list_display = ["title", "service", "environment", "severity", "state", "version", "created_at"]
    list_filter = ["state", "service", "environment", "severity"]
    search_fields = ["title", "service", "id"]
    readonly_fields = [
        "id",
        "template",
        "params",
        "state",
        "version",
        "related",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = [
        "id",
        "title",
        "service",
        "environment",
        "severity",
        "description",
        "labels",
        "template",
        "params",
        "state",
        "version",
        "related",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [TimelineInline]
    actions = ["park_cases"]

    def has_add_permission(self, request):
        return False  # cases are opened through the API / signals so the outbox sees them

    @admin.display(description="records")
    def related(self, case):
        """Links to this case's plans, gate decisions, runs, checkpoints… in their own admins
        (found through the reverse relations, so this app imports none of theirs)."""
        links = []
        for relation in case._meta.related_objects:
            model = relation.related_model
            if model is CaseTimeline or not admin.site.is_registered(model):
                continue
            opts = model._meta
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            except NoReverseMatch:
                continue
            count = model._default_manager.filter(**{relation.field.name: case}).count()
            label = opts.verbose_name if count == 1 else opts.verbose_name_plural
            links.append((f"{url}?{relation.field.name}={case.pk}", count, label))
        return format_html_join(" · ", '<a href="{}">{} {}</a>', links) or "-"

    @admin.action(description="Park selected open cases")
    def park_cases(self, request, queryset):
        parked = 0
        for case in queryset.filter(state__in=wf.OPEN_STATES):
            if services.case_park(
                case_id=case.pk, actor=actor_name(request.user), reason="parked from admin"
            ):
                parked += 1
        self.message_user(request, f"Parked {parked} case(s).", messages.SUCCESS)


@admin.register(CaseTimeline)
class CaseTimelineAdmin(admin.ModelAdmin):
    """Every case's timeline, newest first (filter one case with ?case=<id>). Read-only: rows
    are written by the services. A million rows stay fast: no full count, no filter lists."""

    list_display = ["created_at", "case", "event", "from_state", "to_state", "actor", "reason"]
    list_select_related = ["case"]
    ordering = ["-id"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    readonly_fields = [f.name for f in CaseTimeline._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = ["seq", "type", "subject", "time", "published_at", "attempts", "last_error"]
    list_filter = ["type", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "event_id"]
    readonly_fields = [f.name for f in Outbox._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
