"""Request fields that take only the JSON type the schema publishes for them.

DRF's CharField takes a number and makes it text, its UUIDField an integer (`uuid.UUID(int=…)`)
and its BooleanField "yes", 1 or "on": a client sending the wrong type would be served as if it
had sent the right one, and the schema (string, uuid string, boolean) would not be the contract
the server keeps. These refuse any other type with the field's usual 400 message."""

import uuid

from rest_framework import serializers


class Text(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UUID(serializers.UUIDField):
    def to_internal_value(self, data):
        if not isinstance(data, str | uuid.UUID):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
