"""Request bodies the database can store: JSON (and YAML, apps.planner) may spell NUL
(`\\u0000`) and lone UTF-16 surrogates (`\\ud800`) in any string or key, which PostgreSQL
cannot hold in text or jsonb; written as they come they fail the INSERT with a 500. They are
refused at parsing, as a malformed body (400 problem+json), wherever they sit in the data."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def check_storable(data) -> None:
    """Raise ParseError if any string or key in `data` holds NUL or a lone surrogate."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise ParseError("Strings may not contain NUL (\\u0000).")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError("Strings may not contain lone surrogates.") from None


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        check_storable(data)
        return data
