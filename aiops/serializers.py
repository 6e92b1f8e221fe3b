"""DRF's ModelSerializer, with its fields worked out once per class.

DRF builds a ModelSerializer's fields from the model's metadata on every instance: for a
case that was 80 % of serializing it, on every answer of every case endpoint (0.47 of
0.58 ms). What it builds depends on the class alone (its Meta and declared fields), so the
first instance's fields are kept, never bound, and each later instance gets copies, which
DRF binds to it. A plain field is copied shallow: binding sets attributes on the copy
alone, and what copies share (validators, choices, a queryset) DRF's own deep copy shares
too. A nested serializer is copied deep: its child and fields are bound to their parent.
"""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    _fields_of: dict = {}  # serializer class -> its fields, as DRF first built them

    def get_fields(self):
        cls = type(self)
        built = ModelSerializer._fields_of.get(cls)
        if built is None:
            built = ModelSerializer._fields_of[cls] = super().get_fields()
        return {
            name: copy.deepcopy(field)
            if isinstance(field, serializers.BaseSerializer)
            else copy.copy(field)
            for name, field in built.items()
        }
