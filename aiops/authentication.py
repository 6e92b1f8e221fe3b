"""`Authorization: Token <key>`, checked against knox's tokens (aiops.tokens: stored hashed,
expiring, revocable).

DRF's header parsing (and so drf-spectacular's `tokenAuth` scheme) with knox's lookup. knox's
module is imported on first use, not here: DRF imports its default authentication classes
while Django configures logging, before the app registry is ready, and knox's module defines
its model when imported.
"""

from rest_framework import authentication


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        """(user, knox AuthToken) for a live token of an active user, else 401. An expired
        token is deleted on the way."""
        from knox.auth import TokenAuthentication as KnoxTokenAuthentication

        return KnoxTokenAuthentication().authenticate_credentials(key.encode())
