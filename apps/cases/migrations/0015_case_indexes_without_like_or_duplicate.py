"""Fewer indexes for a transition to update, without rebuilding the ones kept.

ops_case's service, environment and state each had a plain index and a LIKE-prefix one
(Django's db_index on a CharField); no query uses the prefix ones. case_timeline had an
index on case_id beside (case_id, id), which serves every lookup the first one did. The kept
indexes are renamed, not rebuilt: no write lock while a million rows are indexed again.
"""

from django.db import migrations, models

import django.db.models.deletion
import django_fsm

STATES = ["NEW", "ANALYZING", "PLANNING", "WAIT_GATE", "EXECUTING", "VERIFYING", "CLOSED", "PARKED"]

# (old name, new name, column) of the ops_case indexes kept; Django named the old ones.
KEPT = [
    ("ops_case_service_c3dc1082", "ops_case_service_idx", "service"),
    ("ops_case_environment_ebb4b97b", "ops_case_environment_idx", "environment"),
    ("ops_case_state_d1e6e885", "ops_case_state_idx", "state"),
]
DROPPED = [
    ("ops_case_service_c3dc1082_like", "ops_case (service varchar_pattern_ops)"),
    ("ops_case_environment_ebb4b97b_like", "ops_case (environment varchar_pattern_ops)"),
    ("ops_case_state_d1e6e885_like", "ops_case (state varchar_pattern_ops)"),
    ("case_timeline_case_id_37e80fc6", "case_timeline (case_id)"),
]

FORWARD = [f"DROP INDEX IF EXISTS {name}" for name, _ in DROPPED] + [
    sql
    for old, new, column in KEPT
    for sql in (
        f"ALTER INDEX IF EXISTS {old} RENAME TO {new}",
        f"CREATE INDEX IF NOT EXISTS {new} ON ops_case ({column})",
    )
]
BACKWARD = [f"ALTER INDEX IF EXISTS {new} RENAME TO {old}" for old, new, _ in KEPT] + [
    f"CREATE INDEX IF NOT EXISTS {name} ON {on}" for name, on in DROPPED
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_outbox_no_type_subject_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="opscase",
                    name="service",
                    field=models.CharField(max_length=100),
                ),
                migrations.AlterField(
                    model_name="opscase",
                    name="environment",
                    field=models.CharField(max_length=50),
                ),
                migrations.AlterField(
                    model_name="opscase",
                    name="state",
                    field=django_fsm.FSMField(
                        choices=[(s, s) for s in STATES],
                        default="NEW",
                        max_length=50,
                        protected=True,
                    ),
                ),
                migrations.AlterField(
                    model_name="casetimeline",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="timeline",
                        to="cases.opscase",
                    ),
                ),
                migrations.AddIndex(
                    model_name="opscase",
                    index=models.Index(fields=["service"], name="ops_case_service_idx"),
                ),
                migrations.AddIndex(
                    model_name="opscase",
                    index=models.Index(fields=["environment"], name="ops_case_environment_idx"),
                ),
                migrations.AddIndex(
                    model_name="opscase",
                    index=models.Index(fields=["state"], name="ops_case_state_idx"),
                ),
            ],
        ),
    ]
