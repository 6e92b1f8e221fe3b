# The Idempotency model moved to the aiops app (aiops.0001). The table and its rows stay:
# this migration only removes the model from cases's state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0004_outbox_delivered_at'),
        ('aiops', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='Idempotency')],
        ),
    ]
