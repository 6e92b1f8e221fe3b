"""Drain3 template mining with its state in drain_state, one row per service.

A request mines a service's lines inside the caller's transaction, holding that service's
row lock (`SELECT … FOR UPDATE`) from the load of the state to its save: a second worker
mining the same service waits and then builds on the first one's templates, so cluster ids
are stable and none is lost. The deserialized miner is kept per process keyed by the row's
version, and reused only while the row still holds that version; a rolled-back request
drops it (it is put back only on commit).

The state is Drain3's own snapshot (jsonpickle, zlib, base64). jsonpickle decodes objects,
so drain_state must only ever be written by this module: it is not an input.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.persistence_handler import PersistenceHandler
from drain3.template_miner_config import TemplateMinerConfig

from apps.sensor.models import DrainState

PATTERN_PREFIX = "drain-"
# Miners kept deserialized per process; any other service's is loaded from its row.
MAX_CACHED_MINERS = 100

# Masked before mining, so a value never splits a template: the order matters (an IP or a
# UUID before the bare numbers inside it). Drain3 writes each as <NAME>.
_BOUND_L, _BOUND_R = r"((?<=[^A-Za-z0-9])|^)", r"((?=[^A-Za-z0-9])|$)"
MASKS = [
    (r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "UUID"),
    (r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d{1,5})?", "IP"),
    (r"([0-9a-fA-F]{2}:){3,}[0-9a-fA-F]{2}", "ID"),
    (r"0x[0-9a-fA-F]+", "HEX"),
    (r"[0-9a-fA-F]{16,}", "HEX"),
    (r"[\-+]?\d+(\.\d+)?(ms|s|m|h|KB|MB|GB|B)?", "NUM"),
]


def miner_config() -> TemplateMinerConfig:
    """Drain3's configuration, in code rather than a drain3.ini next to the process."""
    config = TemplateMinerConfig()
    config.masking_instructions = [
        MaskingInstruction(_BOUND_L + pattern + _BOUND_R, name) for pattern, name in MASKS
    ]
    config.mask_prefix, config.mask_suffix = "<", ">"
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.drain_max_children = 100
    # Least recently matched clusters go first; a bound keeps one service's state small.
    config.drain_max_clusters = settings.LOG_PATTERN_MAX_CLUSTERS
    config.drain_extra_delimiters = ["=", ","]
    config.parametrize_numeric_tokens = True
    config.snapshot_compress_state = True
    config.profiling_enabled = False
    return config


class DrainStatePersistence(PersistenceHandler):
    """Drain3's port to drain_state: loads and saves one service's snapshot. Call it inside
    a transaction that holds the row (`locked_row`)."""

    def __init__(self, row: DrainState):
        self.row = row

    def load_state(self):
        return bytes(self.row.state) if self.row.state is not None else None

    def save_state(self, state):
        self.row.state = state
        self.row.version += 1
        DrainState.objects.filter(pk=self.row.pk).update(
            state=state, version=self.row.version, updated_at=timezone.now()
        )


@dataclass(frozen=True)
class Mined:
    pattern_id: str
    template: str


_cache: dict[str, tuple[int, TemplateMiner]] = {}
_cache_lock = threading.Lock()


def forget_miners() -> None:
    """Drop every miner this process holds (as a restart does); the rows stay."""
    with _cache_lock:
        _cache.clear()


def locked_row(service: str) -> DrainState:
    """The service's drain_state row, created if new and locked until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO drain_state (service, version, updated_at) VALUES (%s, 0, now())"
            " ON CONFLICT (service) DO NOTHING",
            [service],
        )
    return DrainState.objects.select_for_update().get(service=service)


def mine(service: str, lines: list[str]) -> list[Mined]:
    """The template of each line, mined with the service's persisted miner, which is saved
    once at the end. Needs the caller's transaction (it locks the service's row)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("mine() must run inside a transaction")
    row = locked_row(service)
    handler = DrainStatePersistence(row)
    with _cache_lock:
        version, miner = _cache.pop(service, (None, None))
    if miner is None or version != row.version:
        miner = TemplateMiner(persistence_handler=handler, config=miner_config())
    miner.persistence_handler = None  # no snapshot per new template: one per request below
    clusters = [miner.add_log_message(line) for line in lines]
    # A template may have widened after its line was mined: report the final one.
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    mined = [
        Mined(
            PATTERN_PREFIX + str(c["cluster_id"]),
            templates.get(c["cluster_id"], c["template_mined"]),
        )
        for c in clusters
    ]
    miner.persistence_handler = handler
    miner.save_state("batch")
    saved = row.version

    def keep():
        with _cache_lock:
            _cache[service] = (saved, miner)
            while len(_cache) > MAX_CACHED_MINERS:  # the least recently used services go
                _cache.pop(next(iter(_cache)))

    transaction.on_commit(keep)
    return mined
