"""Secret references in step params: read in the worker just before a step runs, and
redacted from everything the attempt leaves behind (docs/plan-dsl.md#secrets).

A reference is a JSON object whose one key is `secretRef`:
`{"secretRef": {"source": "env", "name": "GATEWAY_TOKEN"}}` is the worker's environment
variable AIOPS_SECRET_GATEWAY_TOKEN; `{"source": "file", "name": "gateway-token"}` the file
AIOPS_SECRETS_DIR/gateway-token; `{"source": "kubernetes", "namespace", "name", "key"}` a key
of a Secret, read with the kubernetes adapter's client configuration from a namespace in
AIOPS_EXEC_K8S_NAMESPACES. The plan schema says where an adapter accepts one; the stored
plan, exec_step.params and every event keep the reference, never the value.

`resolve` and the `redact_*` functions are pure; `lookup` reads the sources. Whatever goes
wrong raises SecretUnavailable, whose message names the reference and never a value.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings

from apps.executor.adapters.base import StepError

REDACTED = "[redacted]"
ENV_PREFIX = "AIOPS_SECRET_"
# Checked again here although the plan schema refuses the same names at the door: this is
# the last line before a name becomes an environment variable or a path.
_ENV_NAME = re.compile(r"[A-Za-z0-9_]{1,100}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*")

Lookup = Callable[[Mapping], str]


class SecretUnavailable(StepError):
    """A reference that cannot be read: malformed, refused or missing. Not retryable unless
    the store said so (a Kubernetes API 5xx)."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message, retryable=retryable)


def describe(ref) -> str:
    """The reference as an error names it, e.g. `env:GATEWAY_TOKEN`."""
    if not isinstance(ref, Mapping):
        return repr(ref)[:100]
    source = ref.get("source")
    if source == "kubernetes":
        return f"kubernetes:{ref.get('namespace')}/{ref.get('name')}[{ref.get('key')}]"
    return f"{source}:{ref.get('name')}"


def is_ref(value) -> bool:
    return isinstance(value, dict) and "secretRef" in value


def resolve(params: dict, lookup: Lookup) -> tuple[dict, frozenset[str]]:
    """A copy of `params` with every reference, at any depth, replaced by `lookup(ref)`, and
    the values read (the ones to redact afterwards; empty values are not kept)."""
    values: set[str] = set()

    def walk(node):
        if is_ref(node):
            ref = node["secretRef"]
            if len(node) != 1 or not isinstance(ref, Mapping):
                raise SecretUnavailable(f"malformed secretRef {describe(ref)}")
            value = lookup(ref)
            values.add(value)
            return value
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(params), frozenset(value for value in values if value)


def redact_text(text: str, values: frozenset[str]) -> str:
    """`text` with every verbatim occurrence of a value replaced by REDACTED."""
    for value in sorted(values, key=len, reverse=True):  # a longer value may contain another
        text = text.replace(value, REDACTED)
    return text


def redact_bytes(data: bytes, values: frozenset[str]) -> bytes:
    for value in sorted(values, key=len, reverse=True):
        data = data.replace(value.encode(), REDACTED.encode())
    return data


def redact(value, values: frozenset[str]):
    """A JSON value with every string in it (keys included) redacted."""
    if not values:
        return value
    if isinstance(value, str):
        return redact_text(value, values)
    if isinstance(value, dict):
        return {redact_text(str(k), values): redact(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, values) for item in value]
    return value


# --- the sources ---


def lookup(ref: Mapping) -> str:
    """The value `ref` stands for, read from its source."""
    source = ref.get("source")
    if source == "env":
        return from_env(ref, os.environ)
    if source == "file":
        return from_file(ref, settings.AIOPS_SECRETS_DIR)
    if source == "kubernetes":
        return from_kubernetes(ref)
    raise SecretUnavailable(f"secretRef {describe(ref)}: unknown source")


def from_env(ref: Mapping, environ: Mapping[str, str]) -> str:
    """AIOPS_SECRET_<name>: only that prefix, so a plan cannot read the worker's own
    settings (DJANGO_SECRET_KEY, DATABASE_URL)."""
    name = ref.get("name")
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise SecretUnavailable(f"secretRef {describe(ref)}: refused name")
    value = environ.get(ENV_PREFIX + name)
    if value is None:
        raise SecretUnavailable(
            f"secretRef {describe(ref)}: {ENV_PREFIX}{name} is not set in the worker"
        )
    return value


def from_file(ref: Mapping, directory) -> str:
    """<directory>/<name>, one trailing newline dropped (as `echo token > file` leaves it)."""
    name = ref.get("name")
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise SecretUnavailable(f"secretRef {describe(ref)}: refused name (a plain file name)")
    if not directory:
        raise SecretUnavailable(f"secretRef {describe(ref)}: AIOPS_SECRETS_DIR is not set")
    root = Path(directory).resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        raise SecretUnavailable(f"secretRef {describe(ref)}: no such file in AIOPS_SECRETS_DIR")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretUnavailable(
            f"secretRef {describe(ref)}: unreadable ({type(exc).__name__})"
        ) from None
    return text[:-1] if text.endswith("\n") else text


def from_kubernetes(ref: Mapping) -> str:
    """One key of a Secret, with the kubernetes adapter's client configuration, from a
    namespace the installation lets steps touch (AIOPS_EXEC_K8S_NAMESPACES)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from apps.executor.adapters.kubernetes import api_client

    namespace, name, key = ref.get("namespace"), ref.get("name"), ref.get("key")
    if not all(isinstance(part, str) and part for part in (namespace, name, key)):
        raise SecretUnavailable(f"secretRef {describe(ref)}: needs namespace, name and key")
    if namespace not in settings.EXEC_K8S_NAMESPACES:
        raise SecretUnavailable(
            f"secretRef {describe(ref)}: namespace {namespace!r} is not in the allow-list "
            "(AIOPS_EXEC_K8S_NAMESPACES)"
        )
    try:
        secret = client.CoreV1Api(api_client()).read_namespaced_secret(name, namespace)
    except ApiException as exc:
        retryable = exc.status is None or exc.status >= 500 or exc.status == 429
        raise SecretUnavailable(
            f"secretRef {describe(ref)}: Kubernetes API {exc.status} {exc.reason}",
            retryable=retryable,
        ) from None
    encoded = (secret.data or {}).get(key)
    if encoded is None:
        raise SecretUnavailable(f"secretRef {describe(ref)}: the Secret has no such key")
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except ValueError:
        raise SecretUnavailable(f"secretRef {describe(ref)}: not base64 UTF-8 text") from None
