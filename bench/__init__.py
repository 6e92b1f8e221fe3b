"""The benches (`make bench`; docs/BENCHMARKS.md).

A bench process that writes events itself (bench.outbox's producers, the in-process
benches) wakes the relay as `make run`'s processes do: the platform it starts runs the relay
process unless AIOPS_OUTBOX_RELAY_PROCESS=0 (aiops.launcher.relay_process_wanted).
"""

import os

os.environ.setdefault("AIOPS_OUTBOX_RELAY_PROCESS", "1")
