"""Knowledge base documents for the tests of apps.kb."""

RUNBOOK = {
    "title": "Checkout latency",
    "kind": "runbook",
    "services": ["checkout"],
    "source_url": "https://wiki.example.com/runbooks/checkout-latency",
    "body": (
        "# Checkout latency\n"
        "## Symptoms\np95 latency of checkout above 300 ms; the place order button spins.\n"
        "## Mitigation\n### Roll back\n"
        "Undo the last deploy: kubectl rollout undo deploy/checkout.\n"
        "### Scale out\nRaise the replicas of checkout to twelve.\n"
    ),
}

POSTMORTEM = {
    "title": "Postmortem: Kafka consumers stuck in a rebalance loop",
    "kind": "postmortem",
    "services": ["kafka", "orders"],
    "body": (
        "## Summary\nOrders were not processed for 70 minutes: consumers kept rebalancing.\n"
        "## Root cause\nA poll loop took longer than max.poll.interval.ms.\n"
    ),
}

DISK = {
    "title": "Disk full",
    "kind": "runbook",
    "services": ["linux"],
    "body": (
        "## Symptoms\nNo space left on device.\n## Mitigation\nVacuum the journal, rotate logs."
    ),
}
