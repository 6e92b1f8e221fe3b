from django.core.management.base import BaseCommand

from apps.analyst.services import rules_seed_from_file


class Command(BaseCommand):
    help = "Store the rules of apps/analyst/rules.yaml that do not exist yet (idempotent)."

    def handle(self, *args, **options):
        created, kept = rules_seed_from_file()
        self.stdout.write(f"analyst rules: {created} created, {kept} already stored")
