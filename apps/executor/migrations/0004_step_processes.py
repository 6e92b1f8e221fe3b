from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('executor', '0003_one_running_status'),
    ]

    operations = [
        migrations.AddField(
            model_name='execstep',
            name='idempotent',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='execstep',
            name='host',
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AddField(
            model_name='execstep',
            name='pgid',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='execstep',
            name='proc_start',
            field=models.BigIntegerField(blank=True, null=True),
        ),
    ]
