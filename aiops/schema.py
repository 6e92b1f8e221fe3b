"""drf-spectacular postprocessing of the published OpenAPI schema (SPECTACULAR_SETTINGS)."""

# At least one character that is not whitespace.
NON_BLANK = r"\S"


def non_blank_text(result, generator, request, public):
    """A required text field of a request (minLength 1: DRF's allow_blank=False) also may not
    be whitespace only: DRF trims it first and refuses what is left blank. The schema says so
    with a pattern, on properties and on a dict's values (e.g. case labels)."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        properties = component.get("properties", {}).values()
        for schema in (*properties, *(p.get("additionalProperties") for p in properties)):
            if (
                isinstance(schema, dict)
                and schema.get("type") == "string"
                and schema.get("minLength") == 1
                and not {"pattern", "format", "enum"} & set(schema)
            ):
                schema["pattern"] = NON_BLANK
    return result
