"""The Librarian's tables: kb_doc (a runbook, postmortem or case summary) and kb_chunk (one
section of it, searchable by full text at once and by meaning once embedded)."""

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

# all-MiniLM-L6-v2 (apps.kb.embedding) embeds into 384 dimensions.
DIMENSIONS = 384
# The text search configuration of kb_chunk.tsv and of every query against it.
TEXT_CONFIG = "english"


class KbDoc(models.Model):
    """One document. `key` names it across ingests (its source_url, else its title): the same
    key with the same content is a no-op, with other content it replaces the chunks."""

    RUNBOOK, POSTMORTEM, CASE = "runbook", "postmortem", "case"
    KINDS = [RUNBOOK, POSTMORTEM, CASE]

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=2100, unique=True)
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=[(k, k) for k in KINDS])
    services = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    source_url = models.URLField(max_length=2000, blank=True, default="")
    body = models.TextField()
    content_hash = models.CharField(max_length=64, help_text="sha256 of what was ingested")
    chunk_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")
    # A case document's facts (case id, how it ended, the change it made), read back for
    # GET /case/{id}/similar and the Planner's track record; empty for other kinds.
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "kb_doc"
        verbose_name = "KB document"
        ordering = ["title"]

    def __str__(self):
        return f"{self.title} ({self.kind})"


class KbChunk(models.Model):
    """A section of a document under its heading path ("Checkout latency > Mitigation").

    `kind` and `services` repeat the document's so that search filters sit in the same scan
    as the ranking (a chunk never outlives its document's version: a change replaces them)."""

    id = models.BigAutoField(primary_key=True)
    doc = models.ForeignKey(KbDoc, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    heading = models.TextField(help_text="The heading path, joined by ' > '")
    text = models.TextField()
    content_hash = models.CharField(max_length=64, help_text="sha256 of heading and text")
    kind = models.CharField(max_length=20)
    services = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    embedding = VectorField(dimensions=DIMENSIONS, null=True, blank=True)
    model = models.CharField(
        max_length=200, blank=True, default="", help_text="The model that made the embedding"
    )
    tsv = models.GeneratedField(
        expression=SearchVector("heading", weight="A", config=TEXT_CONFIG)
        + SearchVector("text", weight="B", config=TEXT_CONFIG),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        db_table = "kb_chunk"
        verbose_name = "KB chunk"
        ordering = ["doc", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["doc", "ordinal"], name="kb_chunk_doc_ordinal_uniq")
        ]
        indexes = [
            GinIndex(fields=["tsv"], name="kb_chunk_tsv_gin"),
            GinIndex(fields=["services"], name="kb_chunk_services_gin"),
            models.Index(fields=["kind"], name="kb_chunk_kind_idx"),
            HnswIndex(
                name="kb_chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            # Past cases, the kind that grows with every closed case: the Planner's
            # similar-cases search walks this graph instead of measuring every case chunk
            # (an exact scan, without pgvector 0.8's filtered iterative scan).
            HnswIndex(
                name="kb_chunk_case_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
                condition=models.Q(kind="case"),
            ),
            # The embedding task's scan: chunks without an embedding of the current model.
            models.Index(
                fields=["model"],
                name="kb_chunk_unembedded_idx",
                condition=models.Q(embedding__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.heading} #{self.ordinal}"
