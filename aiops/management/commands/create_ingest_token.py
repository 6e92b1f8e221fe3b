"""`manage.py create_ingest_token <name>`: a service user in the ingest group and its token.

Prints the DRF token of user `<name>` (created when missing, with no password: it signs in
with the token only), which then may POST /ingest/* and nothing else. Run it again to see
the same token; `--rotate` replaces it.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from aiops.permissions import INGEST


class Command(BaseCommand):
    help = "Print an API token that may ingest metrics, for a new or existing service user."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the service user's username, e.g. prometheus-bridge")
        parser.add_argument("--rotate", action="store_true", help="replace an existing token")

    @transaction.atomic
    def handle(self, *args, name: str, rotate: bool, **options):
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=INGEST)[0])
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
