"""http: one call to a traffic gateway (or any allow-listed HTTP API).

params: method (GET/POST/PUT/PATCH/DELETE); url (http/https, its host or host:port in
settings.EXEC_HTTP_ALLOWED_HOSTS); json (the body; `body` is an alias); headers (optional);
expected_status (an int or a list; default any 2xx). Sends the attempt's message id as
Idempotency-Key, so a redelivered message is not applied twice by a gateway honouring it.
5xx, 429 and connection errors are retryable; other unexpected statuses are not.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests
from django.conf import settings

from aiops.registry import ActionSpec, AdapterSpec
from apps.executor.adapters.base import Adapter, Context, Outcome, StepError, StepSpec, StepTimeout

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REQUEST = ActionSpec(
    risk=15,
    description="one HTTP call to an allow-listed host",
    params_schema={
        "type": "object",
        "required": ["url"],
        "properties": {
            # Case-insensitive at run time, so no enum here.
            "method": {"type": "string"},
            "url": {"type": "string", "minLength": 1},
            "json": {},
            "body": {},
            "headers": {"type": "object"},
            "expected_status": {
                "oneOf": [
                    {"type": "integer"},
                    {"type": "array", "items": {"type": "integer"}},
                ]
            },
        },
    },
)


def check_url(url) -> str:
    if not isinstance(url, str):
        raise StepError("http param 'url' must be a string", retryable=False)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StepError(f"http url {url!r} must be an absolute http(s) URL", retryable=False)
    host = parts.hostname.lower()
    allowed = settings.EXEC_HTTP_ALLOWED_HOSTS
    if host not in allowed and f"{host}:{parts.port}" not in allowed:
        raise StepError(
            f"host {host!r} is not in the http allow-list (AIOPS_EXEC_HTTP_ALLOWED_HOSTS)",
            retryable=False,
        )
    return url


class HttpAdapter(Adapter):
    spec = AdapterSpec(
        name="http",
        description="gateway calls (or any allow-listed HTTP API)",
        actions={"request": _REQUEST, "call": _REQUEST},  # `call` is an alias
    )

    def run(self, step: StepSpec, ctx: Context) -> Outcome:
        self.check_action(step)
        params = step.params
        method = str(params.get("method", "POST")).upper()
        if method not in METHODS:
            raise StepError(f"http method {method!r} is not one of {METHODS}", retryable=False)
        url = check_url(params.get("url"))
        expected = params.get("expected_status")
        if isinstance(expected, int):
            expected = [expected]
        headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
        headers["Idempotency-Key"] = step.message_id
        headers.setdefault("User-Agent", "aiops-executor")
        ctx.check()
        try:
            response = requests.request(
                method,
                url,
                json=params.get("json", params.get("body")),
                headers=headers,
                timeout=max(0.1, ctx.remaining()),
                allow_redirects=False,
            )
        except requests.Timeout:
            raise StepTimeout(f"timed out after {ctx.timeout_s:g}s calling {url}") from None
        except requests.RequestException as exc:
            raise StepError(f"{method} {url} failed: {exc}") from None
        body = response.content[: settings.EXEC_LOG_MAX_BYTES]
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        outcome = Outcome(
            result={"method": method, "url": url, "status": response.status_code, "json": parsed},
            stdout=body,
        )
        ok = response.status_code in expected if expected else 200 <= response.status_code < 300
        if not ok:
            retryable = response.status_code >= 500 or response.status_code == 429
            error = StepError(
                f"{method} {url} returned {response.status_code}, expected "
                f"{expected or '2xx'}: {json.dumps(parsed) if parsed is not None else ''}"[:500],
                retryable=retryable,
            )
            error.outcome = outcome
            raise error
        return outcome
