from prometheus_client import Counter, Histogram

step_duration_seconds = Histogram(
    "exec_step_duration_seconds",
    "Wall time of one executor step attempt.",
    ["adapter", "status"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900),
)
runs_finished_total = Counter(
    "exec_runs_finished_total", "Executor runs by final status.", ["status"]
)
steps_lost_total = Counter("exec_steps_lost_total", "Step attempts whose lease expired.")
