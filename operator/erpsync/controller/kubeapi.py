"""The one Kubernetes API client of the project: the operator's reads and writes, and `kubectl erpsync`'s.

kopf watches the schedules; this client lists and watches the children and writes (CronJobs, Jobs,
status, Events) with the credentials kopf logged in with (in-cluster service account or kubeconfig), over
the aiohttp that kopf already uses, so the operator needs no thread pool and no second heavy client. The
kubectl plugin reads the user's kubeconfig into the same kopf.ConnectionInfo and calls this client too
(kubectl_plugin/client.py).
"""

import asyncio
import ssl
import tempfile
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import aiohttp
import kopf
import orjson

from erpsync.api.vocabulary import API_GROUP, API_VERSION, PLURAL
from erpsync.controller.rate_limit import TokenBucket
from erpsync.controller.server_clock import ServerClock

MERGE_PATCH: Final = "application/merge-patch+json"
JSON_PATCH: Final = "application/json-patch+json"
# The longest a request may take unless the caller says otherwise (kubectl erpsync --request-timeout).
DEFAULT_REQUEST_TIMEOUT: Final = 30.0
# The longest line of a watch read before giving up on it: etcd refuses objects over 1.5 MiB by default.
MAX_WATCH_EVENT_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str

    def path(self, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
        """The path of the collection in `namespace` (None: of every namespace), or of one object in it."""
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        path = f"{base}/{self.plural}" if namespace is None else f"{base}/namespaces/{quote(namespace)}/{self.plural}"
        if name is not None:
            path += f"/{quote(name)}"
        if subresource is not None:
            path += f"/{subresource}"
        return path


SCHEDULES: Final = Resource(API_GROUP, API_VERSION, PLURAL)
CRONJOBS: Final = Resource("batch", "v1", "cronjobs")
JOBS: Final = Resource("batch", "v1", "jobs")
EVENTS: Final = Resource("", "v1", "events")


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


class ApiError(Exception):
    """The API server answered with an error status: its code, its reason (NotFound...) and its message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def _read_answer(status: int, http_reason: str, raw: bytes) -> dict[str, Any]:
    """An answer's JSON object; an error status raises ApiError with the server's message, or its text
    when it sent no Status object (a proxy's error page, say)."""
    try:
        data = orjson.loads(raw) if raw else {}
    except ValueError:
        data = None
    body = data if isinstance(data, dict) else {}
    if status < 400:
        return body
    message = str(body.get("message") or "")
    if not message:
        text = raw.decode(errors="replace").strip()
        message = f"the API server answered {status}" + (f": {text[:200]}" if text else "")
    raise ApiError(status, str(body.get("reason") or http_reason), message)


class KubeApi:
    """Calls to the Kubernetes API with kopf's connection info; re-logs in once on 401."""

    def __init__(
        self,
        login: Callable[[], Awaitable[kopf.ConnectionInfo | None]],
        user_agent: str | None = None,
        request_timeout: float | None = DEFAULT_REQUEST_TIMEOUT,
        extra_headers: Sequence[tuple[str, str]] = (),
        rate_limit: TokenBucket | None = None,  # the operator's --qps and --burst; None: no client-side limit
    ) -> None:
        """`request_timeout`: seconds a request may take in all, None for no limit (connecting still gives up
        after 5 s)."""
        self.clock = ServerClock()
        self._login = login
        self._user_agent = user_agent
        self._request_timeout = request_timeout
        # Sent on every request; a name may repeat (kubectl erpsync --as-group: one Impersonate-Group per group).
        self._extra_headers = tuple(extra_headers)
        self._rate_limit = rate_limit
        self._info: kopf.ConnectionInfo | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = asyncio.Lock()

    def use(self, info: kopf.ConnectionInfo) -> None:
        """Adopt the credentials kopf logged in with (called from the login handler)."""
        self._info = info

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    async def _open(self) -> tuple[aiohttp.ClientSession, kopf.ConnectionInfo]:
        async with self._lock:
            if self._info is None:
                self._info = await self._login()
                if self._info is None:
                    raise kopf.LoginError("no Kubernetes credentials: neither a service account nor a kubeconfig")
            if self._session is None:
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=self._ssl_context(self._info), limit=64),
                    headers=self._headers(self._info),
                    auth=(
                        aiohttp.BasicAuth(self._info.username, self._info.password or "")
                        if self._info.username
                        else None
                    ),
                    timeout=aiohttp.ClientTimeout(total=self._request_timeout, connect=5),
                )
            return self._session, self._info

    def _ssl_context(self, info: kopf.ConnectionInfo) -> ssl.SSLContext | bool:
        if not info.server.startswith("https"):
            return False
        if info.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        context = ssl.create_default_context(
            cafile=info.ca_path, cadata=_as_bytes(info.ca_data).decode() if info.ca_data else None
        )
        certificate, key = info.certificate_path, info.private_key_path
        if info.certificate_data or info.private_key_data:
            # ssl wants files for client certificates; keep them in a private temporary folder.
            self._tempdir = tempfile.TemporaryDirectory(prefix="erpsync-")
            folder = Path(self._tempdir.name)
            if info.certificate_data:
                certificate = str(folder / "client.crt")
                Path(certificate).write_bytes(_as_bytes(info.certificate_data))
            if info.private_key_data:
                key = str(folder / "client.key")
                Path(key).write_bytes(_as_bytes(info.private_key_data))
        if certificate:
            context.load_cert_chain(certificate, key)
        return context

    def _headers(self, info: kopf.ConnectionInfo) -> list[tuple[str, str]]:
        headers = [("Accept", "application/json")]
        if self._user_agent:
            headers.append(("User-Agent", self._user_agent))
        if info.token:
            headers.append(("Authorization", f"{info.scheme or 'Bearer'} {info.token}"))
        return [*headers, *self._extra_headers]

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        status, reason, raw = await self._exchange(method, path, body, content_type, params)
        return _read_answer(status, reason, raw)

    async def text(self, path: str, params: dict[str, str] | None = None) -> str:
        """A GET whose answer is text, not JSON (a pod's log); an error status raises ApiError as `request` does."""
        status, reason, raw = await self._exchange("GET", path, None, "application/json", params)
        if status >= 400:
            _read_answer(status, reason, raw)
        return raw.decode(errors="replace")

    async def _exchange(
        self, method: str, path: str, body: object, content_type: str, params: dict[str, str] | None
    ) -> tuple[int, str, bytes]:
        """One request (a second one after a new login on 401): the answer's status, reason and body."""
        for attempt in (1, 2):
            if self._rate_limit is not None:
                await self._rate_limit.wait()
            session, info = await self._open()
            data = None if body is None else orjson.dumps(body)
            async with session.request(
                method, info.server.rstrip("/") + path, data=data, params=params, headers={"Content-Type": content_type}
            ) as response:
                self.clock.observe(response.headers.get("Date"))
                if response.status == 401 and attempt == 1:
                    await self._relogin(info)
                    continue
                return response.status, response.reason or "", await response.read()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _relogin(self, refused: kopf.ConnectionInfo) -> None:
        """Log in again after `refused` got a 401, unless another call already did (its session is in use)."""
        async with self._lock:
            if self._info is not refused:
                return
            if self._session is not None:
                await self._session.close()
            self._session = None
            self._info = await self._login()

    async def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        return await self.request("GET", resource.path(namespace, name))

    async def list(self, resource: Resource, namespace: str | None, **selectors: str) -> list[dict[str, Any]]:
        """The objects of `namespace` (None: of every namespace), filtered by labelSelector, fieldSelector."""
        items = (await self.request("GET", resource.path(namespace), params=selectors or None)).get("items")
        return items if isinstance(items, list) else []

    async def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", resource.path(namespace), body=body)

    async def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: object, subresource: str | None = None
    ) -> dict[str, Any]:
        return await self.request(
            "PATCH", resource.path(namespace, name, subresource), body=patch, content_type=MERGE_PATCH
        )

    async def delete(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        return await self.request(
            "DELETE",
            resource.path(namespace, name),
            body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        )

    async def watch(
        self, resource: Resource, namespace: str | None, resource_version: str, seconds: int, **selectors: str
    ) -> AsyncGenerator[dict[str, Any]]:
        """The watch events ({type, object}) of `namespace` (None: every namespace) after `resource_version`, until
        the server ends the watch after `seconds`. An ERROR event (410 Gone: the version is too old) raises ApiError;
        so does an error status, after a new login on 401 (expired credentials), for the next watch."""
        session, info = await self._open()
        params = {"watch": "true", "resourceVersion": resource_version, "timeoutSeconds": str(seconds), **selectors}
        # The session's timeout bounds a whole request; a watch is bounded by the server's timeoutSeconds instead.
        timeout = aiohttp.ClientTimeout(total=None, connect=5, sock_read=seconds + 30)
        url = info.server.rstrip("/") + resource.path(namespace)
        async with session.get(url, params=params, timeout=timeout) as response:
            self.clock.observe(response.headers.get("Date"))
            if response.status < 400:
                pending = b""
                async for chunk in response.content.iter_any():  # one JSON object per line, however long
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    if len(pending) > MAX_WATCH_EVENT_BYTES:
                        raise ValueError(f"a watch event over {MAX_WATCH_EVENT_BYTES} bytes")
                    for line in lines:
                        if line.strip():
                            yield _watch_event(line)
                return
            refused = response.status, response.reason or "", await response.read()
        if refused[0] == 401:  # expired credentials: the next watch (watches.follow retries) has new ones
            await self._relogin(info)  # once the response is closed: the new login replaces the session
        _read_answer(*refused)


def _watch_event(line: bytes) -> dict[str, Any]:
    event = orjson.loads(line)
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        raise ApiError(500, "InternalError", f"the API server sent a watch event that is not one: {line[:200]!r}")
    if event.get("type") == "ERROR":
        status = event["object"]
        code, reason, message = status.get("code") or 500, status.get("reason") or "", status.get("message") or ""
        raise ApiError(int(code), str(reason), str(message))
    return event
