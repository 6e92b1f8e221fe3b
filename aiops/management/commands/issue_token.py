"""`manage.py issue_token <username>`: print a new API token of an existing user.

The key is shown only now (aiops.tokens); it acts with the user's roles until it expires
(`--hours`, default AIOPS_TOKEN_TTL_HOURS) or `manage.py revoke_tokens` removes it.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from aiops import tokens


class Command(BaseCommand):
    help = "Print a new API token for an existing user."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--hours", type=float, help="lifetime (default: the setting)")

    def handle(self, *args, username: str, hours: float | None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive: its tokens would be refused")
        try:
            self.stdout.write(tokens.issue(user, hours=hours))
        except ValueError as error:
            raise CommandError(str(error)) from error
