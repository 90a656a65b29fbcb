"""Webhooks: hooks and triggers through the API, "ERP Requests" events POSTed to the destination URL with
the hook's Authorization header, retried with backoff on the emulator's clock, and redelivered on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from erpsync_emulators.procore import ManualClock, ProcoreEmulator

from .conftest import COMPANY_ID, EmulatorFactory, ProcoreClient

SECRET = "Bearer per-company-secret-12345"


@dataclass
class Receiver:
    """An HTTP endpoint that records each delivery and answers with the next scripted status (204 after)."""

    statuses: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers["Content-Length"]))
        self.received.append(({name.lower(): value for name, value in handler.headers.items()}, body))
        time.sleep(self.delay_seconds)
        handler.send_response(self.statuses.pop(0) if self.statuses else 204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.handle(self)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/procore/events"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def hooked(emulator: ProcoreEmulator, receiver: Receiver) -> int:
    return emulator.seed.webhook_hook(COMPANY_ID, receiver.url, authorization=SECRET).id


def test_hook_and_trigger_through_the_api_deliver_erp_request_events(
    emulator: ProcoreEmulator, client: ProcoreClient, receiver: Receiver, clock: ManualClock
) -> None:
    hook_body = {"api_version": "v2", "namespace": "acme-erp-sync", "destination_url": receiver.url}
    created = client.post(
        "/rest/v1.0/webhooks/hooks",
        {"company_id": COMPANY_ID, "hook": {**hook_body, "destination_headers": {"Authorization": SECRET}}},
    )
    assert created.status == 201
    assert created.body["destination_headers"] == {"Authorization": "...12345"}
    trigger = {"resource_name": "ERP Requests", "event_type": "create"}
    path = f"/rest/v1.0/webhooks/hooks/{created.body['id']}/triggers"
    assert client.post(path, {"company_id": COMPANY_ID, "api_version": "v2", "trigger": trigger}).status == 201

    request = emulator.erp.raise_request(COMPANY_ID, "sync_vendors")
    eventually(lambda: len(receiver.received) == 1)
    headers, body = receiver.received[0]
    assert (headers["authorization"], headers["content-type"]) == (SECRET, "application/json")
    event = json.loads(body)
    assert len(event.pop("ulid")) == 26
    assert isinstance(event.pop("id"), int)
    assert event == {
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(clock.now())),
        "metadata": {
            "source_user_id": 4_500_000_055,
            "source_company_id": COMPANY_ID,
            "source_project_id": None,
            "source_operation_id": None,
            "source_application_id": None,
        },
        "user_id": 4_500_000_055,
        "company_id": COMPANY_ID,
        "project_id": None,
        "api_version": "v2.0",
        "event_type": "create",
        "resource_name": "ERP Requests",
        "resource_id": request.id,
    }


def statuses(emulator: ProcoreEmulator) -> list[str]:
    with emulator.lock:
        return [delivery.fields["status"] for delivery in emulator.state.webhook_deliveries]


def first_delivery(emulator: ProcoreEmulator) -> tuple[str, int]:
    with emulator.lock:
        delivery = next(iter(emulator.state.webhook_deliveries))
        return delivery.fields["status"], delivery.fields["attempts"]


@pytest.mark.parametrize("failure", ["status", "timeout"])
def test_a_failed_delivery_is_retried_with_backoff_and_holds_the_queue(
    make_emulator: EmulatorFactory, receiver: Receiver, clock: ManualClock, failure: str
) -> None:
    emulator = make_emulator(webhook_timeout_seconds=0.3)
    if failure == "status":
        receiver.statuses = [500, 503]
    else:
        receiver.delay_seconds = 0.6
    hook_id = hooked(emulator, receiver)
    first = emulator.erp.raise_request(COMPANY_ID, "sync_vendors")
    emulator.erp.raise_request(COMPANY_ID, "sync_jobs")
    eventually(lambda: first_delivery(emulator) == ("failing", 1))
    receiver.delay_seconds = 0.0
    time.sleep(0.1)  # the held queue sends nothing until the backoff (1 s on the emulator's clock) has passed
    assert len(receiver.received) == 1
    clock.advance(1)
    if failure == "status":  # the second failure doubles the backoff to 2 s
        eventually(lambda: first_delivery(emulator) == ("failing", 2))
        clock.advance(1)
        time.sleep(0.1)
        assert len(receiver.received) == 2
        clock.advance(1)
    expected = 4 if failure == "status" else 3
    eventually(lambda: statuses(emulator) == ["successful", "successful"])
    assert len(receiver.received) == expected
    resource_ids = [json.loads(body)["resource_id"] for _, body in receiver.received]
    assert resource_ids[:-1] == [first.id] * (expected - 1) and resource_ids[-1] != first.id
    log = ProcoreClient(emulator.url, emulator.issue_token(), COMPANY_ID).get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries", {"company_id": COMPANY_ID, "filter[status]": "successful"}
    )
    assert [(entry["outcome"], entry["attempts"]) for entry in log.body] == [("ok", expected - 1), ("ok", 1)]


def test_a_forced_redelivery_sends_the_identical_event(emulator: ProcoreEmulator, receiver: Receiver) -> None:
    hooked(emulator, receiver)
    emulator.erp.raise_request(COMPANY_ID, "sync_contract_payments")
    eventually(lambda: statuses(emulator) == ["successful"])
    with emulator.lock:
        delivery_id = next(iter(emulator.state.webhook_deliveries)).id
    answer = ProcoreClient(emulator.url, None, None).post(f"/_emulator/webhooks/deliveries/{delivery_id}/redeliver", {})
    assert answer.status == 200
    eventually(lambda: len(receiver.received) == 2)
    assert receiver.received[0] == receiver.received[1]


def test_a_hook_failing_for_12_hours_has_its_queue_discarded(
    emulator: ProcoreEmulator, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.statuses = [500] * 100
    hooked(emulator, receiver)
    for name in ("sync_vendors", "sync_jobs"):
        emulator.erp.raise_request(COMPANY_ID, name)
    eventually(lambda: first_delivery(emulator) == ("failing", 1))
    clock.advance(12 * 3600)
    eventually(lambda: len(receiver.received) == 2)
    eventually(lambda: statuses(emulator) == ["discarded", "discarded"])
    assert len(receiver.received) == 2


@pytest.mark.parametrize(
    "hook",
    [
        {"namespace": "Acme ERP", "destination_url": "https://x.example"},
        {"namespace": "acme", "destination_url": "ftp://x.example"},
        {"namespace": "acme", "destination_url": "https://x.example", "destination_headers": {"X-Secret": "1"}},
    ],
)
def test_hook_bodies_must_match_the_schema(client: ProcoreClient, hook: dict[str, Any]) -> None:
    assert client.post("/rest/v1.0/webhooks/hooks", {"company_id": COMPANY_ID, "hook": hook}).status == 400


def test_only_hooks_with_an_erp_requests_trigger_get_erp_events(emulator: ProcoreEmulator, receiver: Receiver) -> None:
    emulator.seed.webhook_hook(COMPANY_ID, receiver.url, resource_name="Projects")
    emulator.erp.raise_request(COMPANY_ID, "sync_jobs")
    with emulator.lock:
        assert len(emulator.state.webhook_deliveries) == 0
