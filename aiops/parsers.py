"""Request bodies the database can store: JSON (and YAML, apps.planner) may spell NUL
(`\\u0000`) and lone UTF-16 surrogates (`\\ud800`) in any string or key, which PostgreSQL
cannot hold in text or jsonb; written as they come they fail the INSERT with a 500. They are
refused at parsing, as a malformed body (400 problem+json), wherever they sit in the data.

The decoder takes a raw control character or invalid UTF-8 for malformed JSON, so such a
string can only come from an escape (`\\u0000`, `\\ud800`…`\\udfff`): a body without one
skips the walk over every string, which costs more than decoding it. (Only UTF-8 bodies:
the escape looks otherwise in another charset.)"""

import codecs
import io
import re

from django.conf import settings
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


# Lower and upper case hex digits are both JSON; a surrogate escape may be half of a valid
# pair, which the walk then tells apart.
SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        data = super().parse(io.BytesIO(body), media_type, parser_context)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        if codecs.lookup(encoding).name != "utf-8" or SUSPECT_ESCAPE.search(body):
            check_storable(data)
        return data
