"""What goes in and out of the pipeline, apart from the HTTP server that carries it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .routing import ApiResponse


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str  # path and query string, as on the request line
    headers: dict[str, str]  # names in lower case
    body: bytes = b""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hang:
    """Say nothing for this long, then close the connection."""

    seconds: float


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


Outcome = Reply | Hang | Drop


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money leaves as a string, the way Procore serialises amounts; never through a float.
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode_json(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode("utf-8")


def to_reply(response: ApiResponse) -> Reply:
    headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
    return Reply(response.status, encode_json(response.body), headers)
