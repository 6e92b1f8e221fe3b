"""`manage.py create_ingest_token <name>`: a service user in the ingest group and a token.

Issues a new token for user `<name>` (created when missing, with no password: it signs in
with tokens only), which then may POST /ingest/* and nothing else, and prints its key: the
only time it is shown (aiops.tokens). `--rotate` revokes the user's other tokens first;
`--hours` sets its lifetime (default AIOPS_TOKEN_TTL_HOURS).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aiops import tokens
from aiops.permissions import INGEST


class Command(BaseCommand):
    help = "Print a new API token that may ingest metrics, for a new or existing service user."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the service user's username, e.g. prometheus-bridge")
        parser.add_argument("--rotate", action="store_true", help="revoke its other tokens")
        parser.add_argument("--hours", type=float, help="lifetime (default: the setting)")

    @transaction.atomic
    def handle(self, *args, name: str, rotate: bool, hours: float | None, **options):
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
        if rotate:
            tokens.revoke_all(user)
        try:
            self.stdout.write(tokens.issue(user, hours=hours))
        except ValueError as error:
            raise CommandError(str(error)) from error
