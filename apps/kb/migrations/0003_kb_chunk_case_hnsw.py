import pgvector.django.indexes
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CONCURRENTLY: the embedding worker and searches go on while a large store is indexed.
    atomic = False

    dependencies = [
        ("kb", "0002_kbdoc_meta"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="kbchunk",
            index=pgvector.django.indexes.HnswIndex(
                condition=models.Q(kind="case"),
                ef_construction=64,
                fields=["embedding"],
                m=16,
                name="kb_chunk_case_hnsw",
                opclasses=["vector_cosine_ops"],
            ),
        ),
    ]
