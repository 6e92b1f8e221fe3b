"""Operator views of runs: each run with its steps inline, status, duration and output tail."""

import json

from django.contrib import admin
from django.utils.html import format_html

from apps.executor import logstore
from apps.executor.models import ExecRun, ExecStep

TAIL_BYTES = 2000


class ExecStepInline(admin.TabularInline):
    model = ExecStep
    extra = 0
    can_delete = False
    fields = [
        "phase",
        "index",
        "step_id",
        "adapter",
        "action",
        "attempt",
        "status",
        "duration",
        "exit_code",
        "error",
        "output_tail",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="duration (s)")
    def duration(self, step):
        return None if step.duration_s is None else round(step.duration_s, 3)

    @admin.display(description="output (tail)")
    def output_tail(self, step):
        out = logstore.read(step.stdout_ref, tail_bytes=TAIL_BYTES)
        err = logstore.read(step.stderr_ref, tail_bytes=TAIL_BYTES)
        text = out + (("\n--- stderr ---\n" + err) if err else "")
        return format_html("<pre style='max-height:12em;overflow:auto'>{}</pre>", text)


@admin.register(ExecRun)
class ExecRunAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "status", "phase", "step_count", "duration", "created_at"]
    list_filter = ["status", "phase"]
    search_fields = ["id", "case__id", "case__title"]
    readonly_fields = [f.name for f in ExecRun._meta.fields if f.name != "document"] + [
        "plan_document"
    ]
    inlines = [ExecStepInline]

    @admin.display(description="document")
    def plan_document(self, run):
        return format_html("<pre>{}</pre>", json.dumps(run.document, indent=2, sort_keys=True))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="steps")
    def step_count(self, run):
        return run.steps.count()

    @admin.display(description="duration (s)")
    def duration(self, run):
        return None if run.duration_s is None else round(run.duration_s, 3)
