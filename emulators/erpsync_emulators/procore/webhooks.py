"""Webhook hooks and their deliveries: events POSTed to a hook's destination URL, retried on failure.

As Procore documents (procore-erp-integration.md 1.2): a delivery succeeds on a 2xx answer within
`webhook_timeout_seconds` (5 s); otherwise the hook's queue pauses and its oldest pending delivery is
retried with exponential backoff from `webhook_retry_initial_seconds` (1 s) up to
`webhook_retry_max_seconds` (1 h); once a hook has failed for `webhook_discard_after_seconds` (12 h)
its queue is flushed and those deliveries become `discarded`. Backoff is measured on the emulator's
clock, so a test on a ManualClock triggers each retry by advancing it, without sleeping.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from .clock import Clock
from .config import EmulatorConfig
from .state import JsonObject, ProcoreState, Record, Table, iso_timestamp
from .wire import encode_json

log = logging.getLogger(__name__)

ERP_REQUESTS_RESOURCE = "ERP Requests"
PENDING, FAILING, SUCCESSFUL, DISCARDED = "pending", "failing", "successful", "discarded"
OPEN_STATUSES = (PENDING, FAILING)
# How often the delivery thread looks for due deliveries when nothing wakes it.
POLL_SECONDS = 0.02
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Deliveries go straight to the destination, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def new_ulid(unix_seconds: float) -> str:
    """A ULID: 48 bits of milliseconds then 80 random bits, in Crockford base 32 (26 characters)."""
    value = (int(unix_seconds * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def event_timestamp(unix_seconds: float) -> str:
    return datetime.fromtimestamp(unix_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _shown(record: Record, names: tuple[str, ...]) -> JsonObject:
    return {
        "id": record.id,
        **{name: record.fields.get(name) for name in names},
        "created_at": iso_timestamp(record.created_at),
        "updated_at": iso_timestamp(record.updated_at),
    }


def present_hook(record: Record) -> JsonObject:
    shown = _shown(
        record, ("api_version", "namespace", "destination_url", "owned_by_company_id", "owned_by_project_id")
    )
    headers = dict(record.fields.get("destination_headers") or {})
    if "Authorization" in headers:
        # Procore shows only the last five characters of the secret it keeps.
        headers["Authorization"] = "..." + str(headers["Authorization"])[-5:]
    return {**shown, "destination_headers": headers}


def present_trigger(hook: Record, trigger: JsonObject) -> JsonObject:
    return {**trigger, "webhooks_hook_id": hook.id, "api_version": hook.fields.get("api_version")}


def present_delivery(record: Record) -> JsonObject:
    return _shown(record, ("hook_id", "status", "outcome", "response_status", "response_error", "attempts", "event"))


class WebhookDispatcher:
    """Queues events per hook and delivers them from one background thread."""

    def __init__(self, state: ProcoreState, config: EmulatorConfig, clock: Clock, lock: threading.RLock) -> None:
        self._state = state
        self._config = config
        self._clock = clock
        self._lock = lock
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def _deliveries(self) -> Table:
        return self._state.webhook_deliveries

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="procore-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self._config.webhook_timeout_seconds + 1)
            self._thread = None

    def publish(
        self, company_id: int, resource_name: str, resource_id: int, user_id: int, project_id: int | None
    ) -> list[Record]:
        """Queue a `create` event for every hook of the company with a matching trigger (caller holds the lock)."""
        now = self._clock.now()
        queued = []
        for hook in self._state.webhook_hooks.where(lambda record: record.company_id == company_id):
            triggers = hook.fields.get("triggers", [])
            if not any(t["resource_name"] == resource_name and t["event_type"] == "create" for t in triggers):
                continue
            event_id = self._state.new_id()
            event = {
                "id": event_id,
                "ulid": new_ulid(now),
                "timestamp": event_timestamp(now),
                "metadata": {
                    "source_user_id": user_id,
                    "source_company_id": company_id,
                    "source_project_id": project_id,
                    "source_operation_id": None,
                    "source_application_id": None,
                },
                "user_id": user_id,
                "company_id": company_id,
                "project_id": project_id,
                "api_version": "v2.0",
                "event_type": "create",
                "resource_name": resource_name,
                "resource_id": resource_id,
            }
            fields = {
                "hook_id": hook.id,
                "event": event,
                "status": PENDING,
                "attempts": 0,
                "failures": 0,
                "next_attempt_at": now,
            }
            queued.append(self._state.add_record(self._deliveries, company_id, fields, now))
        self._wake.set()
        return queued

    def redeliver(self, delivery_id: int) -> Record:
        """Send a delivery again, with the same event (same id and ulid), whatever its status."""
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None:
                raise ValueError(f"no webhook delivery {delivery_id}")
            now = self._clock.now()
            self._deliveries.update(delivery, {"status": PENDING, "failures": 0, "next_attempt_at": now}, now)
        self._wake.set()
        return delivery

    def _run(self) -> None:
        while not self._stopping.is_set():
            due, waiting = self._due()
            for delivery_id, url, headers, body in due:
                self._attempt(delivery_id, url, headers, body)
            # With retries pending, poll the clock (a test's ManualClock moves without telling anyone);
            # otherwise sleep until an event is published, a delivery forced again, or the emulator stops.
            # A sleep, not a timed Event.wait: under libfaketime (make test-year-ahead) a timed wait is
            # computed on the shifted clock and checked on the real one, so it would not end for a year.
            if waiting:
                time.sleep(POLL_SECONDS)
            else:
                self._wake.wait()
            self._wake.clear()

    def _due(self) -> tuple[list[tuple[int, str, dict[str, str], bytes]], bool]:
        """The oldest open delivery of each hook, when its next attempt is due (a failing hook's queue
        waits), and whether any open delivery remains."""
        with self._lock:
            now = self._clock.now()
            heads: dict[int, Record] = {}
            for delivery in self._deliveries.where(lambda record: record.fields["status"] in OPEN_STATUSES):
                heads.setdefault(delivery.fields["hook_id"], delivery)
            due = []
            for hook_id, delivery in heads.items():
                hook = self._state.webhook_hooks.get(hook_id)
                if hook is None or delivery.fields["next_attempt_at"] > now:
                    continue
                headers = {"Content-Type": "application/json", **(hook.fields.get("destination_headers") or {})}
                body = encode_json(delivery.fields["event"])
                due.append((delivery.id, hook.fields["destination_url"], headers, body))
            return due, bool(heads)

    def _attempt(self, delivery_id: int, url: str, headers: dict[str, str], body: bytes) -> None:
        status: int | None = None
        error: str | None = None
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with _DIRECT.open(request, timeout=self._config.webhook_timeout_seconds) as answer:
                status = answer.status
        except urllib.error.HTTPError as refused:
            status = refused.code
            refused.close()
        except (OSError, ValueError) as problem:  # timeouts, refused connections, bad URLs
            error = str(problem) or type(problem).__name__
        succeeded = status is not None and 200 <= status < 300
        if not succeeded and error is None:
            error = f"HTTP {status}"
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is not None:
                self._record_outcome(delivery, succeeded, status, error)

    def _record_outcome(self, delivery: Record, succeeded: bool, status: int | None, error: str | None) -> None:
        now = self._clock.now()
        attempts = int(delivery.fields["attempts"]) + 1
        changes: dict[str, Any] = {"attempts": attempts, "response_status": status, "response_error": error}
        if succeeded:
            changes |= {"status": SUCCESSFUL, "outcome": "ok", "failures": 0, "failing_since": None}
            self._deliveries.update(delivery, changes, now)
            return
        failing_since = delivery.fields.get("failing_since") or now
        if now - failing_since >= self._config.webhook_discard_after_seconds:
            self._discard_queue(delivery.fields["hook_id"], now)
            self._deliveries.update(delivery, changes | {"outcome": "discarded"}, now)
            return
        failures = int(delivery.fields["failures"]) + 1
        backoff = min(
            self._config.webhook_retry_initial_seconds * 2 ** (failures - 1), self._config.webhook_retry_max_seconds
        )
        log.debug("webhook delivery %s failed (%s); retry in %ss", delivery.id, error, backoff)
        changes |= {"status": FAILING, "outcome": "retried", "failures": failures, "failing_since": failing_since}
        self._deliveries.update(delivery, changes | {"next_attempt_at": now + backoff}, now)

    def _discard_queue(self, hook_id: int, now: float) -> None:
        for delivery in self._deliveries.where(
            lambda record: record.fields["hook_id"] == hook_id and record.fields["status"] in OPEN_STATUSES
        ):
            self._deliveries.update(delivery, {"status": DISCARDED, "outcome": "discarded"}, now)
