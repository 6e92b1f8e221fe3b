from prometheus_client import Counter, Histogram

plans_proposed_total = Counter("plans_proposed_total", "Plans proposed, by template", ["template"])
plan_risk_score = Histogram(
    "plan_risk_score", "Risk score of proposed plans", buckets=(10, 20, 30, 40, 50, 60, 80, 100)
)
