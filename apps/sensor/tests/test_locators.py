"""Locators: validation per system and links into each system's UI (pure)."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

from apps.sensor.locators import Locator, UiBases, parse_locator, render

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
BASES = UiBases(
    prometheus="http://prom:9090/",
    grafana="https://grafana.example",
    grafana_loki_datasource="loki-uid",
    openobserve="https://oo.example",
    openobserve_org="shop",
    kibana="https://kibana.example",
)


def parse(raw):
    return parse_locator(0, raw, max_range=timedelta(days=31))


def span(**fields):
    return {"from": START.isoformat(), "to": END.isoformat(), **fields}


def fields_of(errors):
    return [e.field for e in errors]


def test_each_system_needs_its_own_fields():
    assert fields_of(parse(span(system="prometheus"))[1]) == ["query"]
    assert fields_of(parse(span(system="loki"))[1]) == ["query"]
    assert fields_of(parse(span(system="openobserve"))[1]) == ["stream"]
    assert fields_of(parse(span(system="elasticsearch"))[1]) == ["stream"]
    assert fields_of(parse({"system": "url"})[1]) == ["url"]


def test_a_url_locator_needs_an_http_url_and_no_time_range():
    locator, errors = parse({"system": "url", "url": "https://status.example/incident/7"})
    assert errors == [] and locator.time_from is None
    for bad in ("javascript:alert(1)", "ftp://x/y", "https://", "not a url"):
        assert fields_of(parse({"system": "url", "url": bad})[1]) == ["url"]


def test_the_time_range_is_required_ordered_and_bounded():
    assert fields_of(parse({"system": "prometheus", "query": "up"})[1]) == ["from", "to"]
    backwards = span(system="prometheus", query="up", **{"from": END.isoformat()})
    assert fields_of(parse(backwards)[1]) == ["to"]
    long = span(system="prometheus", query="up", to=(START + timedelta(days=40)).isoformat())
    assert "at most 31 days" in parse(long)[1][0].message


def test_unknown_systems_and_fields_are_errors():
    assert fields_of(parse(span(system="splunk"))[1]) == ["system"]
    assert fields_of(parse(span(system=["prometheus"]))[1]) == ["system"]
    assert fields_of(parse(span(system="prometheus", query="up", colour="red"))[1]) == ["colour"]
    assert fields_of(parse(span(system="loki", query="{}", url="https://x"))[1]) == ["url"]


def test_prometheus_links_to_the_graph_with_its_range_and_end():
    locator = Locator("prometheus", query='rate(errors{svc="a"}[5m])', time_from=START, time_to=END)
    href, why = render(locator, BASES)
    parts = urlsplit(href)
    assert why == "" and f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://prom:9090/graph"
    query = parse_qs(parts.query)
    assert query["g0.expr"] == ['rate(errors{svc="a"}[5m])']
    assert query["g0.range_input"] == ["1h"]
    assert query["g0.end_input"] == ["2026-11-27 13:00:00"]


def test_loki_links_to_grafana_explore_on_the_configured_data_source():
    href, _ = render(Locator("loki", query='{app="checkout"}', time_from=START, time_to=END), BASES)
    assert href.startswith("https://grafana.example/explore?orgId=1&left=")
    left = unquote(parse_qs(urlsplit(href).query, keep_blank_values=True)["left"][0])
    assert '"datasource":"loki-uid"' in left and '"expr":"{app=\\"checkout\\"}"' in left
    assert f'"from":"{int(START.timestamp() * 1000)}"' in left


def test_openobserve_links_to_the_logs_page_of_the_stream_in_microseconds():
    locator = Locator(
        "openobserve", stream="default", query="SELECT 1", time_from=START, time_to=END
    )
    query = parse_qs(urlsplit(render(locator, BASES)[0]).query)
    assert query["stream"] == ["default"] and query["org_identifier"] == ["shop"]
    assert query["from"] == [str(int(START.timestamp()) * 1_000_000)]
    assert query["query"] == ["U0VMRUNUIDE="]  # base64 of the SQL, as the UI expects


def test_elasticsearch_links_to_kibana_discover_with_rison_state():
    locator = Locator(
        "elasticsearch",
        stream="logs-*",
        query="level:error and msg:'x!'",
        time_from=START,
        time_to=END,
    )
    href = unquote(render(locator, BASES)[0])
    assert href.startswith("https://kibana.example/app/discover#/?_g=(time:(from:'2026-11-27T12:00")
    assert "index:'logs-*'" in href and "query:'level:error and msg:!'x!!!''" in href


def test_a_url_locator_is_its_own_link():
    assert render(Locator("url", url="https://x.example/a?b=1"), UiBases()) == (
        "https://x.example/a?b=1",
        "",
    )


def test_a_system_without_a_configured_ui_has_no_link_and_says_why():
    href, why = render(Locator("loki", query="{}", time_from=START, time_to=END), UiBases())
    assert href is None and "AIOPS_GRAFANA_URL" in why


def test_null_is_not_absent():
    assert fields_of(parse(span(system="prometheus", query="up", stream=None))[1]) == ["stream"]
    assert fields_of(parse({"system": "url", "url": "https://x.example", "from": None})[1]) == [
        "from",
        "to",
    ]
    assert fields_of(parse(span(system="prometheus", query="up", url=""))[1]) == ["url"]
