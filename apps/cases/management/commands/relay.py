from django.core.management.base import BaseCommand

from aiops import warm
from aiops.metrics import serve_process_metrics
from apps.cases import relayd


class Command(BaseCommand):
    help = (
        "Run the relay process: drain the outbox whenever a writer wakes it "
        "(AIOPS_OUTBOX_RELAY_PROCESS=1 in every process that writes events)."
    )

    def handle(self, *args, **options):
        stop = relayd.stop_on_signals()
        serve_process_metrics()
        relayd.process_starting.send(sender=self.__class__)
        warm.freeze()
        relayd.serve(stop)
