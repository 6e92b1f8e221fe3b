"""Orchestrator tables: ops_case (the FSM), case_timeline, outbox, inbox."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition

from apps.cases import workflow as wf

T = wf.BY_EVENT


def _src(event: str) -> list[str]:
    return list(T[event].sources)


class Severity(models.TextChoices):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"
    SEV4 = "sev4"


class OpsCase(models.Model):
    """A case. Its state changes only through the transitions below, called by services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    # Indexed in Meta: db_index on a CharField adds a second, LIKE-prefix index nobody
    # queries (filters are exact, admin search is icontains) that every transition updates.
    service = models.CharField(max_length=100)
    environment = models.CharField(max_length=50)
    severity = models.CharField(max_length=4, choices=Severity.choices, default=Severity.SEV3)
    description = models.TextField(blank=True, default="")
    labels = models.JSONField(default=dict, blank=True)
    template = models.CharField(
        max_length=50, blank=True, default="", help_text="The plan template the Planner uses"
    )
    params = models.JSONField(default=dict, blank=True, help_text="Parameters of the template")
    state = FSMField(default=wf.NEW, protected=True, choices=[(s, s) for s in wf.STATES])
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept on the row so a transition times the state it leaves without reading the timeline.
    state_entered_at = models.DateTimeField(
        default=timezone.now, help_text="When the case entered its current state"
    )

    class Meta:
        db_table = "ops_case"
        verbose_name = "case"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["service"], name="ops_case_service_idx"),
            models.Index(fields=["environment"], name="ops_case_environment_idx"),
            models.Index(fields=["state"], name="ops_case_state_idx"),
        ]

    def __str__(self):
        return f"{self.title} [{self.state}]"

    # Transitions only move the state field; services own the timeline, outbox and version.
    @transition(field=state, source=_src("start_analysis"), target=T["start_analysis"].target)
    def start_analysis(self):
        pass

    @transition(field=state, source=_src("analysis_done"), target=T["analysis_done"].target)
    def analysis_done(self):
        pass

    @transition(field=state, source=_src("plan_ready"), target=T["plan_ready"].target)
    def plan_ready(self):
        pass

    @transition(field=state, source=_src("gate_approved"), target=T["gate_approved"].target)
    def gate_approved(self):
        pass

    @transition(field=state, source=_src("gate_rejected"), target=T["gate_rejected"].target)
    def gate_rejected(self):
        pass

    @transition(field=state, source=_src("exec_done"), target=T["exec_done"].target)
    def exec_done(self):
        pass

    @transition(field=state, source=_src("exec_failed"), target=T["exec_failed"].target)
    def exec_failed(self):
        pass

    @transition(field=state, source=_src("verify_pass"), target=T["verify_pass"].target)
    def verify_pass(self):
        pass

    @transition(field=state, source=_src("verify_failed"), target=T["verify_failed"].target)
    def verify_failed(self):
        pass

    @transition(field=state, source=_src("park"), target=T["park"].target)
    def park(self):
        pass

    @transition(field=state, source=_src("resume"), target=T["resume"].target)
    def resume(self):
        pass

    @transition(field=state, source=_src("close"), target=T["close"].target)
    def close(self):
        pass

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    @property
    def is_open(self) -> bool:
        return self.state in wf.OPEN_STATES


class CaseTimeline(models.Model):
    """Append-only audit trail: transitions and other decisions about a case."""

    # No index of its own: case_timeline_case_id_idx (case, id) leads with it. At ten million
    # rows a second one cost every transition another random index page.
    case = models.ForeignKey(
        OpsCase, on_delete=models.CASCADE, related_name="timeline", db_index=False
    )
    event = models.CharField(max_length=64)
    from_state = models.CharField(max_length=16, blank=True, default="")
    to_state = models.CharField(max_length=16, blank=True, default="")
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "case_timeline"
        verbose_name = "timeline entry"
        verbose_name_plural = "timeline"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["case", "id"], name="case_timeline_case_id_idx"),
            # The outcome counts (apps.cases.outcomes) read a window of a few events.
            models.Index(fields=["event", "created_at"], name="case_timeline_event_time_idx"),
            models.Index(fields=["created_at"], name="case_timeline_time_idx"),
        ]

    def __str__(self):
        return f"{self.event}: {self.from_state} -> {self.to_state}"


class Outbox(models.Model):
    """One CloudEvent waiting to be (or already) relayed; written in the producer's transaction."""

    seq = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Neither type nor subject has an index of its own: nothing reads the outbox by them
    # but the relay (outbox_unpublished_subject_idx) and the admin, and each index costs
    # every row's insert and its two updates (published, delivered) two entries (btree and
    # LIKE pattern) apiece.
    type = models.CharField(max_length=100)
    source = models.CharField(max_length=200)
    subject = models.CharField(max_length=100)
    time = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True, default="")
    traceparent = models.CharField(max_length=100, blank=True, default="")
    published_at = models.DateTimeField(null=True, blank=True)
    # Set once every subscriber has the event in its inbox; until then the relay re-sends it.
    delivered_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    # Times confirm_deliveries handed a missing delivery to the broker again: each waits
    # twice as long, so a busy queue (deliveries merely waiting) is not flooded.
    resends = models.PositiveSmallIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "outbox"
        verbose_name = "outbox event"
        verbose_name_plural = "outbox"
        ordering = ["seq"]
        indexes = [
            models.Index(
                fields=["seq"],
                name="outbox_unpublished_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            # The relay's check for an earlier unpublished event of the same case: it reads
            # only the few unpublished rows, not the whole history of a long-lived subject.
            models.Index(
                fields=["subject", "seq"],
                name="outbox_unpublished_subject_idx",
                condition=models.Q(published_at__isnull=True),
            ),
            models.Index(
                fields=["seq"],
                name="outbox_undelivered_idx",
                condition=models.Q(published_at__isnull=False, delivered_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"

    def envelope(self) -> dict:
        """The CloudEvents 1.0 JSON form (structured mode)."""
        body = {
            "specversion": "1.0",
            "id": str(self.event_id),
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.isoformat(),
            "datacontenttype": "application/json",
            "data": self.data,
        }
        if self.request_id:
            body["requestid"] = self.request_id
        if self.traceparent:
            body["traceparent"] = self.traceparent
        return body


class Inbox(models.Model):
    """(subscriber, event id) pairs already handled: a redelivered event changes nothing."""

    APPLIED, FAILED = "applied", "failed"

    subscriber = models.CharField(max_length=100)
    event_id = models.UUIDField()
    outcome = models.CharField(max_length=10, default=APPLIED)
    error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "inbox"
        verbose_name = "inbox entry"
        verbose_name_plural = "inbox"
        constraints = [
            # Led by the event id: the delivery sweep reads an event's rows (0012).
            models.UniqueConstraint(
                fields=["event_id", "subscriber"], name="inbox_event_subscriber_uniq"
            )
        ]

    def __str__(self):
        return f"{self.subscriber} {self.event_id}"


class CaseArchive(models.Model):
    """What stays of a closed case once retention deletes its detail (apps.cases.archive)."""

    case_id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=200)
    service = models.CharField(max_length=100, db_index=True)
    environment = models.CharField(max_length=50)
    state = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField()
    summary = models.JSONField()
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "case_archive"
        ordering = ["-closed_at"]

    def __str__(self):
        return f"{self.title} ({self.service}/{self.environment}, archived)"
