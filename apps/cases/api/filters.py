import django_filters

from apps.cases import workflow as wf
from apps.cases.models import OpsCase


class CaseFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=[(s, s) for s in wf.STATES])
    service = django_filters.CharFilter()
    environment = django_filters.CharFilter()
    severity = django_filters.CharFilter()

    class Meta:
        model = OpsCase
        fields = ["state", "service", "environment", "severity"]
