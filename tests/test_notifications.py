"""Outgoing webhooks: a plan waiting for a person, a parked case and a closed case are posted
to every receiver (Slack-compatible and generic JSON), once per event, with retries from
the database when a receiver is down — never blocking or parking the case."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from apps.cases import workflow as wf
from apps.cases.services import case_park
from apps.notify.models import Notification
from apps.notify.services import send_due
from tests import factories
from tests.conftest import sample_plan

pytestmark = pytest.mark.django_db


class Receiver:
    """A real HTTP server that records what is posted; `status` is what it answers."""

    def __init__(self):
        self.bodies, self.status = [], 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.NOTIFY_WEBHOOKS = [
        ("slack", f"{server.url}/slack"),
        ("generic", f"{server.url}/generic"),
    ]
    settings.NOTIFY_BACKOFF_S = 10
    yield server
    server.stop()


def test_a_parked_case_is_posted_to_slack_and_as_generic_json(operator, receiver):
    case = factories.new_case(operator, title="checkout p95 up")
    case_park(case_id=case.pk, actor="olga", reason="waiting for the vendor")
    factories.deliver_outbox()
    assert send_due() == {"sent": 2, "failed": 0}
    bodies = dict(receiver.bodies)
    assert (
        "checkout p95 up" in bodies["/slack"]["text"] and "was parked" in bodies["/slack"]["text"]
    )
    assert "waiting for the vendor" in bodies["/slack"]["text"]
    generic = bodies["/generic"]
    assert generic["type"] == "aiops.case.parked"
    assert generic["case"]["id"] == str(case.pk) and generic["reason"] == "waiting for the vendor"
    assert generic["url"].endswith(f"/admin/cases/opscase/{case.pk}/change/")


def test_a_plan_waiting_for_a_person_is_posted(operator, receiver):
    factories.set_autopilot(
        "prod",
        wf.AUTOPILOT_SUPERVISED,
        auto_approve_max=20,
        reject_min=101,
        four_eyes=True,
        targets=factories.TEMPLATE_TARGETS,
    )
    case = factories.new_case(operator, environment="prod")
    factories.drive_to_gate_decision(case, operator, sample_plan())
    send_due()
    kinds = [body["type"] for path, body in receiver.bodies if path == "/generic"]
    assert kinds == ["aiops.case.needs_human"]


def test_a_redelivered_event_sends_nothing_more(operator, receiver):
    from apps.cases import relay
    from apps.cases.models import Outbox

    case = factories.new_case(operator)
    case_park(case_id=case.pk, actor="olga", reason="x")
    factories.deliver_outbox()
    row = Outbox.objects.get(subject=str(case.pk), data__to_state=wf.PARKED)
    relay.apply_event("notify.case", str(row.event_id))  # the inbox drops it
    send_due()
    send_due()
    assert len(receiver.bodies) == 2


def test_a_receiver_that_is_down_delays_the_message_and_nothing_else(operator, receiver):
    receiver.status = 503
    case = factories.new_case(operator)
    case_park(case_id=case.pk, actor="olga", reason="x")
    factories.deliver_outbox()
    assert send_due() == {"sent": 0, "failed": 2}
    row = Notification.objects.get(kind="slack")
    assert row.attempts == 1 and "HTTP 503" in row.last_error
    assert row.next_at > timezone.now() + timedelta(seconds=5)  # backoff from the database
    assert send_due() == {"sent": 0, "failed": 0}  # not due yet
    receiver.status = 200
    Notification.objects.update(next_at=timezone.now())
    assert send_due() == {"sent": 2, "failed": 0}
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2
    assert len(receiver.bodies) == 4  # two refused, then each delivered once


def test_nothing_is_written_without_receivers(operator, settings):
    settings.NOTIFY_WEBHOOKS = []
    case = factories.new_case(operator)
    case_park(case_id=case.pk, actor="olga", reason="x")
    factories.deliver_outbox()
    assert not Notification.objects.exists()
