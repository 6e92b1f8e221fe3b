"""A test-only side effect with no unique key, so a double application would show."""

from django.db import models


class ProbeApplication(models.Model):
    subscriber = models.CharField(max_length=50)
    event_id = models.UUIDField()
    applied_by_pid = models.IntegerField()

    class Meta:
        db_table = "probe_application"

    def __str__(self):
        return f"{self.subscriber} {self.event_id}"
