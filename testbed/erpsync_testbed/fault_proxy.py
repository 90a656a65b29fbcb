"""A fault-injecting proxy in front of the real API server: what a healthy control plane will not do on cue.

The operator under test talks plain HTTP to the proxy on loopback; the proxy forwards every request
unchanged over TLS, authenticating upstream with a client certificate of its own (so the operator's
calls carry one identity in the API server's audit log). On cue it answers the next N matching requests
with an error before they reach the server (nothing is changed by them), and it ends open watch
streams, cleanly or by resetting the connection, as an API server restart or a load balancer would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, Self

import aiohttp
import aiohttp.web

_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length", "authorization"}
)
_VERBS: Final = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class Fault:
    """The next `count` requests with this verb on this resource ("cronjobs", "erpsyncschedules/status")."""

    verb: str
    resource: str
    status: int
    count: int
    stall_seconds: float = 0.0  # answer only after this long, as a hung server (the request is not forwarded)


def request_verb_and_resource(method: str, path: str, query: dict[str, str]) -> tuple[str, str]:
    """The Kubernetes verb and resource ("plural" or "plural/subresource") of a request path."""
    parts = [part for part in path.split("/") if part]
    # /api/v1/... or /apis/group/version/...
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    plural = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    resource = f"{plural}/{subresource}" if subresource else plural
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else ("get" if name else "list")
    else:
        verb = _VERBS.get(method, method.lower())
    return verb, resource


class FaultProxy:
    """`with FaultProxy(upstream, ssl_context) as proxy:` serves on `proxy.url` until the block ends."""

    def __init__(self, upstream: str, context: ssl.SSLContext) -> None:
        self.upstream = upstream.rstrip("/")
        self.context = context
        self.port = 0
        self._faults: list[Fault] = []
        self._watches: dict[aiohttp.web.StreamResponse, aiohttp.web.BaseRequest] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._main, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def __exit__(self, *_: object) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        connector = aiohttp.TCPConnector(ssl=self.context, limit=0)
        async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
            self._session = session
            server = aiohttp.web.Server(self._handle, handler_cancellation=True, access_log=None)
            runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
            await runner.setup()
            site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            try:
                await self._stopping.wait()
            finally:
                self._end_watches(abrupt=True)
                await runner.cleanup()

    # Cues from the test thread ---------------------------------------------------------------

    def inject_fault(self, verb: str, resource: str, status: int, count: int = 1) -> None:
        """Answer the next `count` matching requests with `status`."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._faults.append, Fault(verb, resource, status, count))

    def inject_stall(self, verb: str, resource: str, seconds: float, count: int = 1) -> None:
        """Hold the next `count` matching requests for `seconds`, then answer 504 without forwarding them."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._faults.append, Fault(verb, resource, 504, count, seconds))

    def pending_faults(self) -> int:
        """How many injected answers have not been given yet."""
        assert self._loop is not None
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(lambda: future.set_result(sum(f.count for f in self._faults)))
        return future.result(10)

    def drop_watches(self, *, abrupt: bool = False) -> int:
        """End every open watch stream now; how many there were."""
        assert self._loop is not None
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(lambda: future.set_result(self._end_watches(abrupt=abrupt)))
        return future.result(10)

    def _end_watches(self, *, abrupt: bool) -> int:
        dropped = len(self._watches)
        for request in self._watches.values():
            transport = request.transport
            if transport is None:
                continue
            if abrupt:
                transport.abort()  # a reset connection, mid-stream
            else:
                transport.close()  # the end of a chunked stream, as when the server's timeout ends it
        self._watches.clear()
        return dropped

    # Serving ---------------------------------------------------------------------------------

    def _take_fault(self, verb: str, resource: str) -> Fault | None:
        for fault in self._faults:
            if fault.verb == verb and fault.resource == resource and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _handle(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        verb, resource = request_verb_and_resource(request.method, request.path, dict(request.query))
        fault = self._take_fault(verb, resource)
        if fault is not None:
            if fault.stall_seconds:
                await asyncio.sleep(fault.stall_seconds)
            reason = HTTPStatus(fault.status).phrase.replace(" ", "")
            return aiohttp.web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "message": f"injected by the test's fault proxy: {fault.status} on {verb} {resource}",
                    "reason": "Conflict" if fault.status == 409 else reason,
                    "code": fault.status,
                },
                status=fault.status,
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = await request.read()
        upstream = await self._session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=body or None,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
        )
        async with upstream:
            response = aiohttp.web.StreamResponse(status=upstream.status)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:  # content-encoding kept: bytes pass as they came
                    response.headers[key] = value
            await response.prepare(request)
            if verb == "watch":
                self._watches[response] = request
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionResetError, aiohttp.ClientError):
                pass  # the watch was dropped on cue, or the client went away
            finally:
                self._watches.pop(response, None)
            return response
