"""Pure validation of an Alertmanager webhook (payload version 4) into alerts.

The body is exactly what Alertmanager POSTs to a `webhook_config` receiver: a group of
alerts with the group's labels and annotations. Each alert is judged on its own and every
problem is reported with its index, so the sender's log says which alert was wrong; any
problem rejects the whole body (nothing is half-written).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from apps.sensor.points import NAME

GROUP_FIELDS = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERT_FIELDS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL"}
ALERT_OPTIONAL = {"fingerprint"}
STATUSES = ("firing", "resolved")
MAX_TEXT = 4000
MAX_LABELS = 40


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str
    name: str
    service: str
    environment: str
    severity: str
    labels: dict
    annotations: dict
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name


@dataclass(frozen=True)
class AlertError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Mapping:
    """How labels name the service and environment (settings AIOPS_ALERT_*)."""

    service_labels: tuple[str, ...] = ("service", "app", "job")
    environment_labels: tuple[str, ...] = ("environment", "env")
    default_environment: str = "prod"
    known_services: frozenset[str] = frozenset()  # empty: any service


def parse_webhook(
    raw, *, mapping: Mapping, max_alerts: int
) -> tuple[list[Alert], list[AlertError]]:
    """Validate a decoded body. Returns (alerts, errors); index -1 is the group itself."""
    if not isinstance(raw, dict):
        return [], [AlertError(-1, "", "The body must be an Alertmanager webhook object.")]
    errors = [AlertError(-1, k, "Unknown field.") for k in sorted(set(raw) - GROUP_FIELDS)]
    if raw.get("version") != "4":
        errors.append(
            AlertError(-1, "version", f"Payload version {raw.get('version')!r}; only '4' is read.")
        )
    for name in ("groupKey", "receiver", "externalURL"):
        if name in raw and not isinstance(raw[name], str):
            errors.append(AlertError(-1, name, "Must be a string."))
    if "status" in raw and raw["status"] not in STATUSES:
        errors.append(AlertError(-1, "status", "Must be 'firing' or 'resolved'."))
    if "truncatedAlerts" in raw and (
        not isinstance(raw["truncatedAlerts"], int) or isinstance(raw["truncatedAlerts"], bool)
    ):
        errors.append(AlertError(-1, "truncatedAlerts", "Must be an integer."))
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        if name in raw:
            _strings(
                raw[name],
                name,
                lambda field, message: errors.append(AlertError(-1, field, message)),
            )
    alerts = raw.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        errors.append(AlertError(-1, "alerts", "Must be a non-empty array of alerts."))
        return [], errors
    if len(alerts) > max_alerts:
        errors.append(AlertError(-1, "alerts", f"At most {max_alerts} alerts per request."))
        return [], errors
    parsed: dict[tuple, Alert] = {}
    for index, item in enumerate(alerts):
        alert = _alert(index, item, mapping, errors)
        if alert is not None:
            parsed[(alert.fingerprint, alert.starts_at)] = alert
    return ([] if errors else list(parsed.values())), errors


def _alert(index: int, item, mapping: Mapping, errors: list[AlertError]) -> Alert | None:
    before = len(errors)

    def fail(field: str, message: str) -> None:
        errors.append(AlertError(index, field, message))

    if not isinstance(item, dict):
        fail("", "An alert must be a JSON object.")
        return None
    for name in sorted(set(item) - ALERT_FIELDS - ALERT_OPTIONAL):
        fail(name, "Unknown field.")
    for name in sorted(ALERT_FIELDS - {"endsAt", "generatorURL", "annotations"} - set(item)):
        fail(name, "This field is required.")
    status = item.get("status")
    if status is not None and status not in STATUSES:
        fail("status", "Must be 'firing' or 'resolved'.")
    labels = _strings(item.get("labels", {}), "labels", fail)
    annotations = _strings(item.get("annotations", {}) or {}, "annotations", fail)
    starts_at = _time(item.get("startsAt"), "startsAt", fail)
    ends_at = _time(item.get("endsAt"), "endsAt", fail, optional=True)
    generator = item.get("generatorURL", "") or ""
    if not isinstance(generator, str) or len(generator) > MAX_TEXT:
        fail("generatorURL", f"Must be a string of at most {MAX_TEXT} characters.")
    name = labels.get("alertname", "")
    if "labels" in item and not name:
        fail("labels.alertname", "Every alert has an alertname label.")
    service = next((labels[k] for k in mapping.service_labels if labels.get(k)), "")
    if "labels" in item and not service:
        fail("labels", f"No service label (looked for {', '.join(mapping.service_labels)}).")
    elif service and not NAME.match(service):
        fail("labels.service", "Letters, digits, '_', ':', '.', '-' only.")
    elif service and mapping.known_services and service not in mapping.known_services:
        fail("labels.service", f"Unknown service '{service}'.")
    environment = next(
        (labels[k] for k in mapping.environment_labels if labels.get(k)),
        mapping.default_environment,
    )
    fingerprint = item.get("fingerprint") or _fingerprint(labels)
    if not isinstance(fingerprint, str) or not 1 <= len(fingerprint) <= 64:
        fail("fingerprint", "Must be a string of 1 to 64 characters.")
    if "startsAt" in item and starts_at is None and len(errors) == before:
        fail("startsAt", "A real start time is required.")
    if len(errors) > before:
        return None
    return Alert(
        fingerprint=fingerprint,
        status=status,
        name=name[:50],
        service=service,
        environment=environment[:50],
        severity=_severity(labels.get("severity", "")),
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        generator_url=generator,
    )


def _strings(value, field: str, fail) -> dict:
    if not isinstance(value, dict):
        fail(field, "Must be an object of string values.")
        return {}
    if len(value) > MAX_LABELS:
        fail(field, f"At most {MAX_LABELS} entries.")
        return {}
    for key, text in value.items():
        if not isinstance(text, str) or len(text) > MAX_TEXT or len(key) > 200:
            fail(f"{field}.{key}", f"Must be a string of at most {MAX_TEXT} characters.")
    return value


def _time(value, field: str, fail, *, optional: bool = False) -> datetime | None:
    if value in (None, "") and optional:
        return None
    if not isinstance(value, str):
        fail(field, "Must be an RFC 3339 timestamp.")
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(field, "Must be an RFC 3339 timestamp.")
        return None
    if moment.tzinfo is None:
        fail(field, "Must carry a UTC offset.")
        return None
    # Alertmanager sends the zero time ("0001-01-01T00:00:00Z") for an alert still firing.
    return None if moment.year <= 1 else moment


def _fingerprint(labels: dict) -> str:
    """Alertmanager always sends one; other senders may not: the hash of the label set."""
    return hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]


def _severity(label: str) -> str:
    return {
        "critical": "sev1",
        "page": "sev1",
        "error": "sev2",
        "major": "sev2",
        "warning": "sev3",
        "minor": "sev3",
        "info": "sev4",
    }.get(
        label.lower(),
        label.lower() if label.lower() in ("sev1", "sev2", "sev3", "sev4") else "sev3",
    )
