"""The Librarian's API shapes. Ingest bodies are validated by apps.kb.documents (per-item
errors); these serializers document them and validate the search query."""

from django.conf import settings
from rest_framework import serializers

from apps.kb.documents import KINDS, MAX_TITLE, MAX_URL
from apps.kb.selectors import HYBRID, MODES


class DocInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=MAX_TITLE)
    kind = serializers.ChoiceField(choices=KINDS)
    services = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=20
    )
    source_url = serializers.URLField(
        required=False,
        allow_blank=True,
        max_length=MAX_URL,
        help_text="Names the document across ingests (else its title)",
    )
    body = serializers.CharField(help_text="Markdown or plain text, split along its headings")


class IngestedDocSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="doc.id")
    title = serializers.CharField(source="doc.title")
    kind = serializers.CharField(source="doc.kind")
    chunks = serializers.IntegerField(source="doc.chunk_count")
    outcome = serializers.ChoiceField(
        choices=["created", "updated", "unchanged"],
        help_text="unchanged: the same document again, nothing was written",
    )


class IngestResultSerializer(serializers.Serializer):
    documents = IngestedDocSerializer(many=True)


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=settings.KB_SEARCH_MAX_QUERY_CHARS,
        help_text="Prose, or an alert's labels and summary (key=value pairs become words)",
    )
    k = serializers.IntegerField(min_value=1, max_value=settings.KB_SEARCH_MAX_K, default=5)
    kind = serializers.ChoiceField(choices=KINDS, required=False)
    service = serializers.CharField(max_length=100, required=False)
    mode = serializers.ChoiceField(choices=MODES, default=HYBRID)


class ScoresSerializer(serializers.Serializer):
    vector = serializers.FloatField(allow_null=True, help_text="cosine similarity")
    text = serializers.FloatField(allow_null=True, help_text="ts_rank of the full-text match")
    fused = serializers.FloatField(help_text="reciprocal rank fusion of the rankings used")


class HitDocSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="doc_id")
    title = serializers.CharField()
    kind = serializers.CharField()
    services = serializers.ListField(child=serializers.CharField())
    source_url = serializers.CharField()


class HitSerializer(serializers.Serializer):
    chunk_id = serializers.IntegerField()
    document = HitDocSerializer(source="*")
    heading = serializers.CharField(help_text="heading path, 'Title > Section > Subsection'")
    text = serializers.CharField()
    snippet = serializers.CharField(
        help_text="HTML: the text escaped, words of the query in <mark>…</mark>"
    )
    scores = ScoresSerializer()


class SearchResultSerializer(serializers.Serializer):
    hits = HitSerializer(many=True)
