"""The API against the schema it publishes: schemathesis (scripts/fuzz.py, every check) on a
real gunicorn over the test database, as a superuser and as an operator, on a small budget
with a fixed seed so the suite is repeatable. `make fuzz` runs the same with a large one and
a fresh seed (docs/fuzzing.md)."""

import os

import pytest
import requests

from scripts import fuzz
from tests import support

EXAMPLES = int(os.environ.get("AIOPS_FUZZ_EXAMPLES", "3"))

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(transactional_db):
    tokens, ids = fuzz.seed()
    yield tokens, ids
    support.purge_broker()  # the creates queued relay runs; no worker took them


@pytest.fixture
def server(seeded):
    port = support.free_port()
    process = support.gunicorn(port, workers=2, **fuzz.UNTHROTTLED).start()
    url = f"http://127.0.0.1:{port}"
    try:
        support.wait_for(lambda: _up(url), what="gunicorn to answer")
        yield url
    finally:
        process.stop()


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).ok
    except requests.RequestException:
        return False


@pytest.mark.parametrize("role", fuzz.ROLES)
def test_every_response_conforms_to_the_schema(server, seeded, role, tmp_path):
    tokens, ids = seeded
    report = tmp_path / "report.json"
    summary = fuzz.run(
        server, tokens[role], ids=ids, max_examples=EXAMPLES, report=report, seed=20261201
    )
    assert summary["generated"] > 100
    assert not summary["failures"] and not summary["errors"], report.with_suffix(
        ".txt"
    ).read_text()[-30000:]
