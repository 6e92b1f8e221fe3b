"""Pure validation of documents to ingest: raw JSON in, clean documents or per-item errors out.

A document is `{title, kind, services?, source_url?, body}`; a request holds one (an object)
or a batch (an array). Any error rejects the whole request, so nothing is half-ingested.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

KINDS = ("runbook", "postmortem", "case")
FIELDS = {"title", "kind", "services", "source_url", "body"}
MAX_TITLE, MAX_URL = 300, 2000
MAX_SERVICES, MAX_SERVICE = 20, 100
SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
# Control characters other than tab, newline and carriage return: a binary file, not text.
BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_url = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class DocIn:
    title: str
    kind: str
    services: tuple[str, ...]
    source_url: str
    body: str

    @property
    def key(self) -> str:
        """What names the document across ingests: its source, else its title."""
        return self.source_url or f"title:{self.title.casefold()}"


@dataclass(frozen=True)
class DocError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


def parse_documents(
    raw, *, max_docs: int, max_body_chars: int
) -> tuple[list[DocIn], list[DocError]]:
    """Validate a decoded JSON body (one document or an array). Returns (documents, errors);
    any error means the caller must store none of them."""
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        return [], [DocError(-1, "", "The body must be a document object or an array of them.")]
    if not items:
        return [], [DocError(-1, "", "The array is empty.")]
    if len(items) > max_docs:
        return [], [DocError(-1, "", f"At most {max_docs} documents per request.")]
    docs: list[DocIn] = []
    errors: list[DocError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        doc, problems = check_document(index, item, max_body_chars=max_body_chars)
        if problems:
            errors.extend(problems)
            continue
        if doc.key in seen:
            field = "source_url" if doc.source_url else "title"
            errors.append(DocError(index, field, f"Same document as item {seen[doc.key]}."))
            continue
        seen[doc.key] = index
        docs.append(doc)
    return docs, errors


def check_document(index: int, item, *, max_body_chars: int) -> tuple[DocIn | None, list[DocError]]:
    if not isinstance(item, dict):
        return None, [DocError(index, "", "A document must be a JSON object.")]
    errors = [DocError(index, name, "Unknown field.") for name in sorted(set(item) - FIELDS)]

    def fail(field: str, message: str) -> None:
        errors.append(DocError(index, field, message))

    title = _text(item.get("title"), "title", MAX_TITLE, fail)
    kind = item.get("kind")
    if kind is None:
        fail("kind", "This field is required.")
    elif kind not in KINDS:
        fail("kind", f"One of {', '.join(KINDS)}.")
    services = _services(item.get("services", []), fail)
    source_url = _source_url(item.get("source_url", ""), fail)
    body = _body(item.get("body"), max_body_chars, fail)
    if errors:
        return None, errors
    return DocIn(title=title, kind=kind, services=services, source_url=source_url, body=body), []


def _text(value, field: str, max_length: int, fail) -> str:
    if value is None:
        fail(field, "This field is required.")
    elif not isinstance(value, str) or not value.strip():
        fail(field, "Must be a non-empty string.")
    elif len(value) > max_length:
        fail(field, f"At most {max_length} characters.")
    elif BINARY.search(value) or "\n" in value:
        fail(field, "One line of text, without control characters.")
    else:
        return value.strip()
    return ""


def _services(value, fail) -> tuple[str, ...]:
    if not isinstance(value, list):
        fail("services", "Must be an array of service names.")
        return ()
    if len(value) > MAX_SERVICES:
        fail("services", f"At most {MAX_SERVICES} services.")
        return ()
    for name in value:
        if not isinstance(name, str) or not 0 < len(name) <= MAX_SERVICE or not SERVICE.match(name):
            fail(
                "services",
                f"Service names are 1 to {MAX_SERVICE} letters, digits, '_', '.', ':', '-'.",
            )
            return ()
    return tuple(dict.fromkeys(value))


def _source_url(value, fail) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        fail("source_url", "Must be a string.")
    elif len(value) > MAX_URL:
        fail("source_url", f"At most {MAX_URL} characters.")
    else:
        try:
            _url(value)
            urlsplit(value)
        except (ValidationError, ValueError):
            fail("source_url", "Must be an http(s) URL.")
        else:
            return value
    return ""


def _body(value, max_chars: int, fail) -> str:
    if value is None:
        fail("body", "This field is required.")
    elif not isinstance(value, str):
        fail("body", "Must be a string (markdown or plain text).")
    elif not value.strip():
        fail("body", "Must not be empty.")
    elif len(value) > max_chars:
        fail("body", f"At most {max_chars} characters (this one has {len(value)}).")
    elif BINARY.search(value):
        fail("body", "Binary content: control characters (NUL and the like) are not text.")
    else:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            fail("body", "Not valid text: lone UTF-16 surrogates.")
        else:
            return value
    return ""
