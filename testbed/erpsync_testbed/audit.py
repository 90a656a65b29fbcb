"""The API server's audit log (JSON, one event per answered request), read as the server appends to it.

Readers keep a byte offset: each read parses only what came since, and stops at the last complete
line, since the server may be writing the next one.
"""

import json
import os
from pathlib import Path
from typing import Any


def end_offset(log: Path) -> int:
    """Where the next event will start: after the last complete line."""
    if not log.exists():
        return 0
    with log.open("rb") as file:
        size = file.seek(0, os.SEEK_END)
        window = 1 << 20
        while True:
            start = max(0, size - window)
            file.seek(start)
            data = file.read(size - start)
            end = data.rfind(b"\n")
            if end >= 0 or start == 0:
                return start + end + 1
            window *= 2


def events_since(log: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The events written after byte `offset`, and the offset after them."""
    if not log.exists():
        return [], offset
    with log.open("rb") as file:
        file.seek(offset)
        data = file.read()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()], offset + len(complete)


def call_name(event: dict[str, Any]) -> str:
    """`verb resource.group[/subresource]` of an event ("create cronjobs.batch", "patch
    erpsyncschedules.erpsync.io/status"); a non-resource request by its URL ("get /version")."""
    ref = event.get("objectRef") or {}
    resource = ref.get("resource") or event.get("requestURI", "")
    if ref.get("apiGroup"):
        resource += f".{ref['apiGroup']}"
    if ref.get("subresource"):
        resource += f"/{ref['subresource']}"
    return f"{event['verb']} {resource}"
