"""notification: one outgoing webhook message, kept until sent (a small outbox of its own)."""

import uuid

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """Written in the transaction that handles the event; sent by `send_due` with retries
    and backoff, so a receiver that is down delays a message and never loses or blocks one."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4)
    case_id = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=10, help_text="slack or generic")
    url = models.URLField(max_length=2000)
    what = models.CharField(max_length=40, help_text="needs_human, parked or closed")
    payload = models.JSONField()
    attempts = models.PositiveIntegerField(default=0)
    next_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "notification"
        ordering = ["-created_at"]
        constraints = [
            # One message per event and receiver: a redelivered event adds nothing.
            models.UniqueConstraint(fields=["event_id", "url"], name="notification_once")
        ]

    def __str__(self):
        return f"{self.what} → {self.kind} ({'sent' if self.sent_at else 'pending'})"
