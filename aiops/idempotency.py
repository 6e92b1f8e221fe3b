"""Idempotency-Key for every POST/PATCH endpoint (IETF draft-ietf-httpapi-idempotency-key).

`@idempotent` wraps a DRF handler method. With a key, the first request claims an in-flight
record (committed on its own, so a concurrent twin sees it and gets 409); the handler then
runs in one transaction that also stores the response in that record. A replay returns the
stored response with `Idempotent-Replayed: true`; the same key with another request → 422.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Func, IntegerField
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from aiops import metrics
from aiops.models import Idempotency
from aiops.problems import BadRequest, Conflict, Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# The header as documented in the OpenAPI schema of every endpoint that honours it, with the
# lengths `idempotent` accepts (anything else is a 400).
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
)
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("ETag", "Location")


class IdempotencyKeyReused(Problem):
    status, slug, title = (
        422,
        "idempotency-key-reused",
        "Idempotency-Key reused with another request",
    )


class IdempotencyInFlight(Conflict):
    slug, title = "idempotency-in-flight", "A request with this Idempotency-Key is still in flight"


def fingerprint(*, method: str, path: str, body: bytes, owner_id: int) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), str(owner_id).encode(), _canonical(body)):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _canonical(body: bytes) -> bytes:
    # Key order and whitespace do not make a request different.
    try:
        return json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except (ValueError, UnicodeDecodeError):
        return body


def claim(*, owner, key: str, method: str, path: str, print_: str) -> Idempotency | Response:
    """Claim `key` for this request, or return the stored response to replay.

    Raises IdempotencyKeyReused (422) or IdempotencyInFlight (409).
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            return Idempotency.objects.create(
                owner=owner,
                key=key,
                method=method,
                path=path,
                fingerprint=print_,
                expires_at=now + timedelta(seconds=settings.IDEMPOTENCY_TTL_SECONDS),
                backend_pid=Func(function="pg_backend_pid", output_field=IntegerField()),
                server_started_at=Func(
                    function="pg_postmaster_start_time", output_field=DateTimeField()
                ),
            )
    except IntegrityError:
        pass
    with transaction.atomic():
        record = Idempotency.objects.select_for_update().get(owner=owner, key=key)
        if record.fingerprint != print_:
            metrics.conflict_total.labels(kind="idempotency").inc()
            raise IdempotencyKeyReused(
                "This Idempotency-Key was first used for a different request."
            )
        if record.state == Idempotency.COMPLETED:
            metrics.idempotent_replay_total.inc()
            return _replay(record)
        abandoned_before = now - timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)
        if record.created_at > abandoned_before and _claimer_alive(record):
            metrics.conflict_total.labels(kind="idempotency").inc()
            raise IdempotencyInFlight("Retry after the first request completes.")
        # The first request died without an answer: this one takes the key over.
        record.created_at = now
        record.save(update_fields=["created_at"])
        return record


def _claimer_alive(record: Idempotency) -> bool:
    """Is the database session that claimed the key still there? Not after a server restart
    (another start time) nor once its connection closed (its pid is gone)."""
    if record.backend_pid is None:
        return True  # not known: wait out the timeout
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_postmaster_start_time() = %s AND EXISTS "
            "(SELECT 1 FROM pg_stat_activity WHERE pid = %s)",
            [record.server_started_at, record.backend_pid],
        )
        return bool(cursor.fetchone()[0])


def complete(record: Idempotency, response: Response) -> None:
    """Store the response (inside the handler's transaction)."""
    record.state = Idempotency.COMPLETED
    record.response_status = response.status_code
    record.response_body = response.data
    record.response_headers = {h: response[h] for h in _KEPT_HEADERS if response.has_header(h)}
    if response.content_type:  # set for problem+json; otherwise the renderer decides
        record.response_headers["Content-Type"] = response.content_type
    record.save(update_fields=["state", "response_status", "response_body", "response_headers"])


def release(record: Idempotency) -> None:
    """Forget a claim whose request failed unexpectedly, so the client may retry it."""
    Idempotency.objects.filter(pk=record.pk, state=Idempotency.IN_FLIGHT).delete()


def _replay(record: Idempotency) -> Response:
    headers = {k: v for k, v in record.response_headers.items() if k != "Content-Type"}
    headers[REPLAYED_HEADER] = "true"
    response = Response(record.response_body, status=record.response_status, headers=headers)
    if "Content-Type" in record.response_headers:
        response.content_type = record.response_headers["Content-Type"]
    return response


def expire_records() -> int:
    deleted, _ = Idempotency.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def idempotent(handler):
    """Decorate a DRF view method (post/patch) to honour the Idempotency-Key header."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
        print_ = fingerprint(
            method=request.method, path=request.path, body=request.body, owner_id=request.user.pk
        )
        claimed = claim(
            owner=request.user, key=key, method=request.method, path=request.path, print_=print_
        )
        if isinstance(claimed, Response):
            return claimed
        try:
            with transaction.atomic():
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    # DRF turns a domain error into the (stored) response; a bug re-raises.
                    response = view.handle_exception(exc)
                if response.status_code >= 500:
                    raise _ServerError(response)
                complete(claimed, response)
                return response
        except _ServerError as failed:  # a 5xx is not an answer worth replaying
            release(claimed)
            return failed.response
        except BaseException:
            release(claimed)
            raise

    return wrapper


class _ServerError(Exception):
    """Carries a 5xx response out of the atomic block so its writes roll back."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response
