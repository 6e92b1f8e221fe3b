"""Evidence locators, pure: validate one from JSON, and render one as a link into its system's
UI. No database: rendering takes any object with the oo_locator fields (a model row too).

A locator is `{"system", "stream"?, "query"?, "from"?, "to"?, "labels"?, "url"?}`:

| system | needs | link |
|---|---|---|
| prometheus | query (PromQL), from, to | Prometheus graph (`/graph?g0.expr=…`) |
| loki | query (LogQL), from, to | Grafana Explore on the Loki data source |
| openobserve | stream, from, to; query (SQL) optional | OpenObserve logs page |
| elasticsearch | stream (index pattern), from, to; query (KQL) optional | Kibana Discover |
| url | url (http or https); from/to optional | the url itself |
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from apps.sensor.points import PointError, parse_moment

PROMETHEUS, LOKI, OPENOBSERVE, ELASTICSEARCH, URL = (
    "prometheus",
    "loki",
    "openobserve",
    "elasticsearch",
    "url",
)
SYSTEMS = (OPENOBSERVE, LOKI, PROMETHEUS, ELASTICSEARCH, URL)
FIELDS = {"system", "stream", "query", "from", "to", "labels", "url"}
MAX_STREAM, MAX_QUERY, MAX_URL = 200, 4000, 2000
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE = 20, 100, 200
# What each system cannot do without, besides the time range.
REQUIRED = {
    PROMETHEUS: ("query",),
    LOKI: ("query",),
    OPENOBSERVE: ("stream",),
    ELASTICSEARCH: ("stream",),
    URL: ("url",),
}
STREAM = re.compile(r"^[A-Za-z0-9_.*:\-,]+$")


@dataclass(frozen=True)
class Locator:
    system: str
    stream: str = ""
    query: str = ""
    time_from: datetime | None = None
    time_to: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    url: str = ""


@dataclass(frozen=True)
class UiBases:
    """The UIs locators link into (settings; an empty string: not configured)."""

    prometheus: str = ""
    grafana: str = ""
    grafana_loki_datasource: str = "loki"
    openobserve: str = ""
    openobserve_org: str = "default"
    kibana: str = ""


def parse_locator(
    index: int, raw, *, max_range: timedelta
) -> tuple[Locator | None, list[PointError]]:
    """Validate one locator of a hint; errors name `index` and the field."""
    if not isinstance(raw, dict):
        return None, [PointError(index, "", "A locator must be a JSON object.")]
    errors = [PointError(index, name, "Unknown field.") for name in sorted(set(raw) - FIELDS)]

    def fail(name: str, message: str) -> None:
        errors.append(PointError(index, name, message))

    system = raw.get("system")
    if system is None:
        fail("system", "This field is required.")
    elif system not in SYSTEMS:
        fail("system", f"One of {', '.join(SYSTEMS)}.")
    stream = _text(raw.get("stream", ""), MAX_STREAM, "stream", fail)
    if stream and not STREAM.match(stream):
        fail("stream", "Letters, digits and _ . * : , - only.")
    query = _text(raw.get("query", ""), MAX_QUERY, "query", fail)
    url = _text(raw.get("url", ""), MAX_URL, "url", fail)
    labels = _labels(raw.get("labels", {}), fail)
    for name in REQUIRED[system] if system in SYSTEMS else ():
        if raw.get(name) in (None, ""):
            fail(name, f"Required for system {system}.")
    if "url" in raw and system != URL:
        fail("url", "Only for system url (the other systems' links are rendered).")
    if url and system == URL and not _http_url(url):
        fail("url", "Must be an absolute http(s) URL.")
    time_from, time_to = _range(raw, system, max_range, fail)
    if errors:
        return None, errors
    return Locator(system, stream, query, time_from, time_to, labels, url), []


def _text(value, max_length: int, name: str, fail) -> str:
    if not isinstance(value, str):  # null too: an absent field is "" here
        fail(name, "Must be a string.")
    elif len(value) > max_length:
        fail(name, f"At most {max_length} characters.")
    elif "\x00" in value:
        fail(name, "Must not contain NUL characters.")
    else:
        return value.strip()
    return ""


def _labels(value, fail) -> dict[str, str]:
    if not isinstance(value, dict):
        fail("labels", "Must be an object of string values.")
    elif len(value) > MAX_LABELS:
        fail("labels", f"At most {MAX_LABELS} labels.")
    else:
        for key, label in value.items():
            if not key or len(key) > MAX_LABEL_KEY:
                fail("labels", f"Label names are 1 to {MAX_LABEL_KEY} characters.")
            elif not isinstance(label, str) or len(label) > MAX_LABEL_VALUE:
                fail(f"labels.{key}", f"Must be a string of at most {MAX_LABEL_VALUE} characters.")
        return value
    return {}


def _http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def _range(raw: dict, system, max_range: timedelta, fail):
    if system == URL and "from" not in raw and "to" not in raw:
        return None, None
    start = parse_moment(raw.get("from"), "from", fail)
    end = parse_moment(raw.get("to"), "to", fail)
    if start is None or end is None:
        return None, None
    if start >= end:
        fail("to", "Must be after from.")
    elif end - start > max_range:
        fail("to", f"The range may span at most {max_range.days} days.")
    return start, end


# --- Rendering ---


def render(locator, bases: UiBases) -> tuple[str | None, str]:
    """(href, why): a link into the locator's system, or None and the reason there is none."""
    system = locator.system
    if system == URL:
        return locator.url, ""
    base = {
        PROMETHEUS: bases.prometheus,
        LOKI: bases.grafana,
        OPENOBSERVE: bases.openobserve,
        ELASTICSEARCH: bases.kibana,
    }.get(system)
    if base is None:
        return None, f"Unknown system {system!r}."
    if not base:
        setting = {
            PROMETHEUS: "AIOPS_PROMETHEUS_UI_URL or PROMETHEUS_URL",
            LOKI: "AIOPS_GRAFANA_URL",
            OPENOBSERVE: "AIOPS_OPENOBSERVE_URL",
            ELASTICSEARCH: "AIOPS_KIBANA_URL",
        }[system]
        return None, f"No {system} UI is configured ({setting} is not set)."
    base = base.rstrip("/")
    if locator.time_from is None or locator.time_to is None:
        return None, "The locator has no time range."
    return _RENDERERS[system](locator, base, bases), ""


def _prometheus(locator, base: str, bases: UiBases) -> str:
    seconds = int((locator.time_to - locator.time_from).total_seconds())
    query = {
        "g0.expr": locator.query,
        "g0.tab": "0",
        "g0.range_input": _duration(max(seconds, 1)),
        "g0.end_input": _utc(locator.time_to).strftime("%Y-%m-%d %H:%M:%S"),
    }
    return f"{base}/graph?{urlencode(query, quote_via=quote)}"


def _loki(locator, base: str, bases: UiBases) -> str:
    left = {
        "datasource": bases.grafana_loki_datasource,
        "queries": [{"refId": "A", "expr": locator.query}],
        "range": {"from": str(_millis(locator.time_from)), "to": str(_millis(locator.time_to))},
    }
    pane = json.dumps(left, separators=(",", ":"))
    return f"{base}/explore?{urlencode({'orgId': '1', 'left': pane}, quote_via=quote)}"


def _openobserve(locator, base: str, bases: UiBases) -> str:
    query = {
        "stream_type": "logs",
        "stream": locator.stream,
        "period": "",
        "from": str(_millis(locator.time_from) * 1000),  # OpenObserve counts microseconds
        "to": str(_millis(locator.time_to) * 1000),
        "sql_mode": "true" if locator.query else "false",
        "query": base64.b64encode(locator.query.encode()).decode() if locator.query else "",
        "org_identifier": bases.openobserve_org,
    }
    return f"{base}/web/logs?{urlencode(query, quote_via=quote)}"


def _elasticsearch(locator, base: str, bases: UiBases) -> str:
    time = f"(time:(from:{_rison(_iso(locator.time_from))},to:{_rison(_iso(locator.time_to))}))"
    app = f"(index:{_rison(locator.stream)},query:(language:kuery,query:{_rison(locator.query)}))"
    return f"{base}/app/discover#/?_g={quote(time, safe='')}&_a={quote(app, safe='')}"


_RENDERERS = {
    PROMETHEUS: _prometheus,
    LOKI: _loki,
    OPENOBSERVE: _openobserve,
    ELASTICSEARCH: _elasticsearch,
}


def _rison(text: str) -> str:
    """A Rison string literal (Kibana's URL state): quoted, with ! and ' escaped by !."""
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
