"""Query preprocessing: pure, no database."""

from apps.kb.query import MAX_TERMS, text_terms, tsquery_source, words

ALERT = (
    "alertname=KafkaConsumerLagHigh service=orders severity=warning "
    'summary="consumer group orders-processor is 50k messages behind"'
)


def test_alert_labels_become_their_values_as_words():
    assert words(ALERT) == (
        "Kafka Consumer Lag High orders warning consumer group orders processor is 50k "
        "messages behind"
    )


def test_single_quoted_and_regex_matcher_values_are_unwrapped():
    assert words("job=~'node_exporter' mountpoint:'/var'") == "node exporter var"


def test_prose_keeps_its_words():
    assert words("checkout is slow, p95 > 300ms!") == "checkout is slow p95 300ms"


def test_text_terms_are_distinct_lower_case_and_bounded():
    assert text_terms("Orders orders ORDERS lag") == ["orders", "lag"]
    assert len(text_terms(" ".join(f"w{i}" for i in range(200)))) == MAX_TERMS


def test_the_tsquery_is_an_or_of_the_terms():
    assert tsquery_source(["kafka", "lag"]) == "kafka | lag"
