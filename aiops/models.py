"""The platform's own table: idempotency (moved from apps.cases; same table, same rows)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Idempotency(models.Model):
    """The first response to an Idempotency-Key, per caller (IETF draft semantics)."""

    IN_FLIGHT, COMPLETED = "in_flight", "completed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, default=IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    # Which database session holds an in-flight claim: a twin whose first request's session
    # is gone (its worker died, the server restarted) takes the key over at once instead of
    # waiting out AIOPS_IDEMPOTENCY_IN_FLIGHT_TIMEOUT.
    backend_pid = models.IntegerField(null=True, blank=True)
    server_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "idempotency"
        verbose_name_plural = "idempotency records"
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_uniq")
        ]

    def __str__(self):
        return f"{self.key} ({self.state})"
