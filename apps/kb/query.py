"""Pure query handling: what a search query means as words.

Queries arrive as prose ("checkout is slow after the deploy") or as an alert the way
Alertmanager sends it (`alertname=KafkaConsumerLagHigh service=orders summary="…"`).
`words` turns the second into the first: label names are structure, not meaning, so they go;
values stay, CamelCase and snake_case split into words, quotes and punctuation drop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# key=value, key="quoted value", key='quoted value' (Prometheus label names).
LABEL = re.compile(r"""\b[A-Za-z_][A-Za-z0-9_]*\s*[=:]~?\s*("[^"]*"|'[^']*'|\S+)""")
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
WORD = re.compile(r"[A-Za-z0-9]+")
# Text search terms beyond this many are dropped (a pasted log would make a huge OR query).
MAX_TERMS = 64


def words(query: str) -> str:
    """The query as plain words: `alertname=KafkaConsumerLagHigh severity=warning` →
    `Kafka Consumer Lag High warning`."""
    text = LABEL.sub(lambda match: " " + match.group(1).strip("\"'") + " ", query)
    text = CAMEL.sub(" ", text)
    return " ".join(WORD.findall(text.replace("_", " ")))


def text_terms(query: str) -> list[str]:
    """Distinct lower-case words of the query for an OR text search, in order."""
    terms = dict.fromkeys(w.lower() for w in words(query).split())
    return list(terms)[:MAX_TERMS]


def tsquery_source(terms: Iterable[str]) -> str:
    """`a | b | c` for to_tsquery: any word may match, more matches rank higher. The words
    are alphanumeric (text_terms), so nothing in them is tsquery syntax."""
    return " | ".join(terms)
