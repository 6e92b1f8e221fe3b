"""The Celery app (`celery -A aiops worker|beat` finds it here).

Importing it starts nothing. A worker or beat process prepares itself (aiops.bootstrap) when
Celery asks it to import its task modules, just before Celery's Django fixup sets Django up.
"""

import os

from celery import Celery, signals

from aiops import bootstrap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aiops.settings")


# Connected before the app exists, so that it runs before the receiver Celery's Django fixup
# connects when the app is made (receivers run in the order they were connected). Only the
# worker and beat send import_modules; web and shell processes were prepared by their own
# entry point.
@signals.import_modules.connect
def _prepare_process(**kwargs) -> None:
    bootstrap.prepare()


app = Celery("aiops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
