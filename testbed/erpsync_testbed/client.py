"""A small JSON client for the control plane's API, for tests and tools: exact content types, no magic.

One keep-alive HTTPS connection, reopened when the server closes it. Objects are plain dicts, so a
test sees exactly what the API server answered.
"""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from dataclasses import dataclass
from typing import Any, Final

from erpsync.controller.server_clock import ServerClock

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any

    @property
    def reason(self) -> str | None:
        return self.data.get("reason") if isinstance(self.data, dict) else None


class ApiError(AssertionError):
    """An answer of 400 or more where the caller wanted success (an AssertionError: tests show it as a failure)."""

    def __init__(self, method: str, path: str, reply: Reply) -> None:
        message = reply.data.get("message") if isinstance(reply.data, dict) else reply.data
        super().__init__(f"{method} {path}: HTTP {reply.status} {reply.reason or ''}: {message}")
        self.status = reply.status
        self.reply = reply


class ApiClient:
    def __init__(self, server: str, context: ssl.SSLContext, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(server)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 443
        self.context = context
        self.timeout = timeout
        self.clock = ServerClock()  # the API server's now, for tests that compare with times it wrote
        self._connection: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        if self._connection is None:
            self._connection = http.client.HTTPSConnection(
                self.host, self.port, context=self.context, timeout=self.timeout
            )
        return self._connection

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Reply:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                text = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
                # The server closed an idle keep-alive connection (seen as an EOF by TLS when the request is
                # written after the server's close): one fresh connection, then give up.
                self.close()
                if attempt == 2:
                    raise
                continue
            self.clock.observe(response.headers.get("Date"))
            return Reply(response.status, json.loads(text) if text else None)
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> dict[str, Any]:
        """The answer of a request that must succeed."""
        reply = self.request(method, path, body, content_type)
        if reply.status >= 400:
            raise ApiError(method, path, reply)
        data: dict[str, Any] = reply.data or {}
        return data

    def get(self, path: str) -> dict[str, Any]:
        return self.call("GET", path)

    def create(self, path: str, body: Any) -> dict[str, Any]:
        return self.call("POST", path, body)

    def merge_patch(self, path: str, body: Any) -> dict[str, Any]:
        return self.call("PATCH", path, body, MERGE_PATCH)

    def delete(self, path: str, propagation: str = "Background") -> dict[str, Any]:
        # Without a propagation policy a batch/v1 Job delete orphans its Pods on a real server.
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        return self.call("DELETE", path, options)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
