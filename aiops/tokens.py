"""API tokens (django-rest-knox), sent as `Authorization: Token <key>`.

A key is shown once, when it is issued: the database keeps only its SHA-512 digest and its
first 15 characters (to find the row), so neither a database dump nor the admin can give a
key back. Every token expires (settings.TOKEN_TTL_HOURS unless the issuer says otherwise);
revoking deletes its row, which takes effect on the next request. An expired token is refused
and deleted when presented; the rest of a user's expired tokens go when the user is issued
a new one.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken


def issue(user, *, hours: float | None = None) -> str:
    """A new key for `user`, valid `hours` (default settings.TOKEN_TTL_HOURS); the caller
    must hand it on now, it cannot be read back. The user's other tokens stay valid."""
    if hours is None:
        hours = settings.TOKEN_TTL_HOURS
    if hours <= 0:
        raise ValueError("a token must expire: hours must be positive")
    with transaction.atomic():
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        return AuthToken.objects.create(user=user, expiry=timedelta(hours=hours))[1]


def revoke_all(user) -> int:
    """Revoke every token of `user`; return how many there were."""
    count, _ = AuthToken.objects.filter(user=user).delete()
    return count
