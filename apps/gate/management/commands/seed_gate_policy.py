from django.core.management.base import BaseCommand

from apps.gate.services import policy_seed_from_file


class Command(BaseCommand):
    help = "Store config/gate-policy.yaml as a new gate policy version if it changed (idempotent)."

    def handle(self, *args, **options):
        policy = policy_seed_from_file()
        self.stdout.write(f"gate policy in force: v{policy.version} ({policy.source})")
