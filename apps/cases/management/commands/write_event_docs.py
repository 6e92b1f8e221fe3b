from django.conf import settings
from django.core.management.base import BaseCommand

from apps.cases import eventdocs


class Command(BaseCommand):
    help = "Write docs/events.md from the typed event classes."

    def handle(self, *args, **options):
        path = settings.BASE_DIR / "docs" / "events.md"
        path.write_text(eventdocs.render())
        self.stdout.write(f"wrote {path}")
