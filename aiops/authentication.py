"""`Authorization: Token <key>`, checked against knox's tokens (aiops.tokens: stored hashed,
expiring, revocable).

DRF's header parsing (and so drf-spectacular's `tokenAuth` scheme) with knox's tables and
digest. The lookup is ours: knox's own reads every token of the user on every request to
delete the expired ones, a second query on the hot path of every API call; here a request
reads only the rows of the key it presents, and aiops.tokens.issue clears a user's expired
tokens when it adds one. knox's modules are imported on first use, not here: DRF imports its
default authentication classes while Django configures logging, before the app registry is
ready, and knox's module defines its model when imported.
"""

import binascii
import functools
from hmac import compare_digest

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions

from aiops import rows
from aiops.permissions import GROUPS_READ

INVALID = "Invalid token."


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        """(user, knox AuthToken) for a live token of an active user, else 401. An expired
        token is deleted on the way."""
        from knox.crypto import hash_token
        from knox.models import AuthToken
        from knox.settings import CONSTANTS

        # Built once (aiops.rows): through the ORM, building this query on every request cost
        # more than running it. The user's groups come in the same statement: every request's
        # permission check asks for them (aiops.permissions), a query of its own otherwise.
        found = rows.find(
            AuthToken,
            "token_key",
            key[: CONSTANTS.TOKEN_KEY_LENGTH],
            related="user",
            extra=((GROUPS_READ, _groups_sql()),),
        )
        for token in found:
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(INVALID) from None
            if not compare_digest(digest, token.digest):
                continue
            if token.expiry is not None and token.expiry < timezone.now():
                token.delete()
                break
            if not token.user.is_active:
                raise exceptions.AuthenticationFailed("User inactive or deleted.")
            setattr(token.user, GROUPS_READ, frozenset(getattr(token, GROUPS_READ)))
            return token.user, token
        raise exceptions.AuthenticationFailed(INVALID)


@functools.cache
def _groups_sql() -> str:
    """The names of the joined user's groups, as an array (names from model metadata)."""
    from django.contrib.auth.models import Group, User

    quote = connection.ops.quote_name
    through = User.groups.through._meta
    member, group = quote(through.db_table), quote(Group._meta.db_table)
    user = f"{quote(User._meta.db_table)}.{quote(User._meta.pk.column)}"
    return (
        f"ARRAY(SELECT {group}.{quote('name')} FROM {member} JOIN {group} "  # noqa: S608
        f"ON {group}.{quote('id')} = {member}.{quote('group_id')} "
        f"WHERE {member}.{quote('user_id')} = {user})"
    )
