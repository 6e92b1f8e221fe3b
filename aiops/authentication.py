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
from hmac import compare_digest

from django.utils import timezone
from rest_framework import authentication, exceptions

from aiops import rows

INVALID = "Invalid token."


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        """(user, knox AuthToken) for a live token of an active user, else 401. An expired
        token is deleted on the way."""
        from knox.crypto import hash_token
        from knox.models import AuthToken
        from knox.settings import CONSTANTS

        # Built once (aiops.rows): through the ORM, building this query on every request cost
        # more than running it.
        found = rows.find(AuthToken, "token_key", key[: CONSTANTS.TOKEN_KEY_LENGTH], related="user")
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
            return token.user, token
        raise exceptions.AuthenticationFailed(INVALID)
