"""Doubling waits for the sweeps that hand work to the broker again.

A sweep cannot tell a lost message from one still waiting its turn in a long queue. Sending
it again at a fixed age floods a backlog with duplicates (each one a claim to refuse), and
the backlog grows faster than the workers drain it. Doubling the wait after each resend
keeps the duplicates per item logarithmic in its wait, while a truly lost message is still
sent again within one base interval.
"""

from datetime import timedelta

from django.db.models import DateTimeField, DurationField, ExpressionWrapper, F, Value
from django.db.models.functions import Least, Power

CAP = 6  # the seventh and later resends wait 64 base intervals


def next_resend(since: str, count: str, base_s: float) -> ExpressionWrapper:
    """When an item last sent at field `since`, resent `count` times, is due again."""
    wait = ExpressionWrapper(
        Value(timedelta(seconds=base_s)) * Power(2, Least(F(count), CAP)),
        output_field=DurationField(),
    )
    return ExpressionWrapper(F(since) + wait, output_field=DateTimeField())
