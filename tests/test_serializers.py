"""aiops.serializers.ModelSerializer builds a class's fields once and gives each instance
its own copies: the same output as DRF's, and nothing bound to one instance leaks into
another."""

import pytest
from rest_framework import serializers

from aiops.serializers import ModelSerializer
from apps.cases.api.serializers import CaseSerializer, TimelineSerializer
from apps.cases.models import CaseTimeline, OpsCase


class DrfCaseSerializer(serializers.ModelSerializer):
    """CaseSerializer as DRF builds it, fields worked out on every instance."""

    allowed_events = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = OpsCase
        fields = CaseSerializer.Meta.fields

    get_allowed_events = CaseSerializer.get_allowed_events


class CaseWithTimeline(ModelSerializer):
    timeline = serializers.SerializerMethodField()
    entries = TimelineSerializer(many=True, read_only=True, source="timeline_entries")
    seen_by = serializers.SerializerMethodField()

    class Meta:
        model = OpsCase
        fields = ["id", "entries", "seen_by", "timeline"]

    def get_timeline(self, case):
        return len(case.timeline_entries)

    def get_seen_by(self, case):
        return self.context["who"]


@pytest.mark.django_db
def test_a_case_serializes_as_drfs_own_model_serializer_gives_it(new_case):
    case = new_case(labels={"finding": "latency"}, params={"replicas": 3})
    for _ in range(3):  # the second and later instances use the kept fields
        assert CaseSerializer(case).data == DrfCaseSerializer(case).data


@pytest.mark.django_db
def test_each_instance_binds_its_own_fields(new_case):
    case = new_case()
    first, second = CaseSerializer(case), CaseSerializer(case)

    assert first.fields["state"] is not second.fields["state"]
    assert first.fields["state"].parent is first
    assert second.fields["state"].parent is second


@pytest.mark.django_db
def test_a_nested_serializer_reads_its_own_instances_context(new_case):
    case = new_case()
    case.timeline_entries = list(CaseTimeline.objects.filter(case=case))

    alice = CaseWithTimeline(case, context={"who": "alice"}).data
    bob = CaseWithTimeline(case, context={"who": "bob"}).data

    assert (alice["seen_by"], bob["seen_by"]) == ("alice", "bob")
    assert alice["entries"] == bob["entries"] and len(alice["entries"]) == alice["timeline"]
    nested = CaseWithTimeline(case, context={"who": "carol"}).fields["entries"]
    assert nested.child.context == {"who": "carol"}
