"""application/yaml request bodies (the Plan DSL is written in YAML by people)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from aiops.parsers import check_storable
from apps.planner import dsl


class YAMLParser(BaseParser):
    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = dsl.parse_text(stream.read())
        except dsl.PlanSyntaxError as exc:
            raise ParseError(str(exc)) from None
        check_storable(data)
        return data


class LegacyYAMLParser(YAMLParser):
    media_type = "application/x-yaml"


class TextYAMLParser(YAMLParser):
    media_type = "text/yaml"
