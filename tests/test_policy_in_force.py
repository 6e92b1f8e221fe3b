"""The parsed policy in force is kept per process by version; a new version applies at once."""

import pytest
from django.db import transaction

from apps.gate import selectors
from apps.gate import services as gate_services

pytestmark = pytest.mark.django_db


def test_a_new_policy_version_applies_to_the_next_read_in_the_same_process():
    assert selectors.autopilot_for("staging") == "low_risk"
    gate_services.autopilot_set(environment="staging", mode="supervised", actor="alice")
    assert selectors.autopilot_for("staging") == "supervised"


def test_a_version_rolled_back_is_not_served_from_the_cache():
    selectors.autopilot_for("staging")
    with pytest.raises(RuntimeError), transaction.atomic():
        gate_services.autopilot_set(environment="staging", mode="supervised", actor="alice")
        assert selectors.autopilot_for("staging") == "supervised"  # read (and cached) inside
        raise RuntimeError("the transaction that added it fails")
    # Another version with the same number, other content, is committed afterwards.
    gate_services.autopilot_set(environment="staging", mode="manual", actor="bob")
    assert selectors.autopilot_for("staging") == "manual"
