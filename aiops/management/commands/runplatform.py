import sys

from django.core.management.base import BaseCommand

from aiops import launcher


class Command(BaseCommand):
    help = "Run web + Celery worker + beat on the embedded (or configured) services."

    def handle(self, *args, **options):
        sys.exit(launcher.run(self.stdout))
