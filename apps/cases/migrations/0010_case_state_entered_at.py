import django.utils.timezone
from django.db import migrations, models

# Existing cases entered their state at their latest transition (a timeline note keeps the
# state: from_state = to_state); a case with no such row, at its creation.
BACKFILL = """
UPDATE ops_case c SET state_entered_at = coalesce(
    (SELECT t.created_at FROM case_timeline t
     WHERE t.case_id = c.id AND t.from_state <> t.to_state
     ORDER BY t.id DESC LIMIT 1),
    c.created_at)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_timeline_time_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="opscase",
            name="state_entered_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                help_text="When the case entered its current state",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
