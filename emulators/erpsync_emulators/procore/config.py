"""Knobs of the emulator. Defaults follow the reference; tests shrink windows and limits."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_CLIENT_ID = "erp-sync-client"
DEFAULT_CLIENT_SECRET = "erp-sync-secret"


@dataclass
class EmulatorConfig:
    # OAuth client credentials the token endpoint accepts: client_id -> client_secret.
    clients: dict[str, str] = field(default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET})
    # Procore currently answers 5400 s (90 min); older pages said 15 min. Workers must read it.
    token_expires_in: int = 5400

    # Two windows, as Procore documents: an hourly one and a 10-second spike one.
    hourly_limit: int = 3600
    hourly_window_seconds: int = 3600
    spike_limit: int = 100
    spike_window_seconds: int = 10
    # /rate-limiting ties Retry-After to 503 only; /error-reference says 429 carries it too.
    # Off by default so a client has to honour X-Rate-Limit-Reset.
    retry_after_on_429: bool = False

    default_per_page: int = 100
    max_per_page: int = 1000
    max_sync_updates: int = 1000

    # Procore lists `filters[origin_id]` for commitments, but the worker must not trust it:
    # when True the emulator returns every commitment of the project whatever the filter says.
    ignore_commitment_origin_id_filter: bool = False

    # Webhook deliveries (procore-erp-integration.md 1.2): a receiver has this long to answer 2xx;
    # failures are retried with exponential backoff on the emulator's clock, and a hook failing
    # for 12 h has its queue discarded.
    webhook_timeout_seconds: float = 5.0
    webhook_retry_initial_seconds: float = 1.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_discard_after_seconds: float = 43200.0

    # How many recent requests the log keeps (counts are kept for all of them).
    request_log_size: int = 1000

    def update(self, changes: dict[str, Any]) -> None:
        """Apply knob changes sent to the admin endpoint, refusing unknown names and wrong types."""
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known or name == "clients":
                raise ValueError(f"unknown or read-only setting: {name}")
            current = getattr(self, name)
            if type(value) is not type(current):
                raise ValueError(f"{name} must be of type {type(current).__name__}")
        for name, value in changes.items():
            setattr(self, name, value)
