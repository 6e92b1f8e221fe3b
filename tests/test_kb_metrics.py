"""/metrics says how many knowledge-base chunks still wait for their embedding."""

import pytest

from apps.kb import services
from tests.kb_support import DISK
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.django_db


def test_metrics_count_the_chunks_waiting_for_their_embedding(client, operator):
    services.doc_ingest(**DISK, actor=operator)
    assert value(scrape(client), "kb_chunks_pending") == 2

    services.chunks_embed()
    assert value(scrape(client), "kb_chunks_pending") == 0
