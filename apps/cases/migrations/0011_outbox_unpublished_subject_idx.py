"""The relay's per-case ordering check reads unpublished rows of a subject by index: before,
it walked every row the subject ever had (thousands for a long-lived subject)."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # built CONCURRENTLY: writers to the outbox are not blocked meanwhile

    dependencies = [("cases", "0010_case_state_entered_at")]

    operations = [
        AddIndexConcurrently(
            model_name="outbox",
            index=models.Index(
                condition=models.Q(("published_at__isnull", True)),
                fields=["subject", "seq"],
                name="outbox_unpublished_subject_idx",
            ),
        ),
    ]
