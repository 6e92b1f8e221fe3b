"""`manage.py revoke_tokens <username>`: revoke every API token of a user at once.

Requests with them get 401 from the next one on; the user's password and sessions are
untouched (deactivate the user in the admin to stop those too).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from aiops import tokens


class Command(BaseCommand):
    help = "Revoke every API token of a user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        self.stdout.write(f"revoked {tokens.revoke_all(user)} token(s) of {username}")
