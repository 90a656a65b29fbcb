"""`KubeEmulator`: KMock's `KubernetesEmulator` with the API server semantics the operator relies on.

What is kept from KMock: the HTTP handler and its reaction DSL (a test can still script a response with
`emulator[kmock.action.LIST, kmock.resource("batch/v1/cronjobs")] << 500`), the resource declarations
(`resources.load_bundled()`), the discovery routes, `objects` for assertions, the Status error rendering.

What is replaced: request intake (path parsing, bounded accounting, faults, media types), and the serving
of every resource request (one dispatcher, `_serve_resource`, registered ahead of KMock's own fallbacks),
on top of `Store` + `Registry` + `GarbageCollector`. Everything runs on one event loop; the runner
(`runner.py`) serves it from its own thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import json
import logging
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml

# Not exported by KMock 0.8: the response type its reactions return, and the wrapper of errors raised
# after a stream's headers were sent.
from kmock._internal.rendering import Response, StreamingError

from erpsync_emulators.kube import errors, patches
from erpsync_emulators.kube.discovery import ResourceCatalog, ResourceMeta
from erpsync_emulators.kube.faults import Fault, Faults
from erpsync_emulators.kube.gc import GarbageCollector
from erpsync_emulators.kube.paths import ParsedPath, guess_action, parse_path
from erpsync_emulators.kube.registry import CRDS, NAMESPACES, GcTarget, Registry
from erpsync_emulators.kube.selectors import FieldSelector, LabelSelector, SelectorError
from erpsync_emulators.kube.stats import LoggedRequest, RequestStats, k8s_verb
from erpsync_emulators.kube.store import Obj, Store
from erpsync_emulators.kube.watching import WatchFilter, WatchOptions, watch_stream

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CONTROL_PREFIX = "/_emulator/"
# Every resource response sets exactly these headers: KMock merges a reaction's headers into the reaction
# itself from one request to the next, so a header set once would otherwise stick to later responses.
_JSON_HEADERS = {"Content-Type": "application/json"}
_PROTOBUF = "application/vnd.kubernetes.protobuf"
_PROTOBUF_MESSAGE = (
    "the Kubernetes API emulator accepts JSON bodies only, not application/vnd.kubernetes.protobuf; "
    "kubectl sends protobuf from its typed generators (`kubectl create namespace|secret|configmap ...`): "
    "use `kubectl create ... --dry-run=client -o yaml | kubectl apply --validate=false -f -` instead"
)
# Declared even without the bundled built-ins: namespaces are checked on every create, CRDs extend the API.
_MINIMAL_RESOURCES = {
    NAMESPACES: kmock.ResourceInfo(
        kind="Namespace",
        singular="namespace",
        namespaced=False,
        verbs={"create", "delete", "get", "list", "patch", "update", "watch"},
        shortnames={"ns"},
        subresources={"status", "finalize"},
    ),
    CRDS: kmock.ResourceInfo(
        kind="CustomResourceDefinition",
        singular="customresourcedefinition",
        namespaced=False,
        verbs={"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
        shortnames={"crd", "crds"},
        categories={"api-extensions"},
        subresources={"status"},
    ),
}


def _dry_run(values: Sequence[str]) -> bool:
    values = [v for v in values if v]
    if not values:
        return False
    if values != ["All"]:
        raise errors.bad_request(f"Invalid dryRun value: {values!r}: only 'All' is supported")
    return True


def _encode_continue(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        namespace, name = json.loads(base64.urlsafe_b64decode(token.encode()))
        return (str(namespace), str(name))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise errors.bad_request(f"invalid continue token: {token!r}") from exc


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """A KMock Kubernetes emulator that answers as a real API server would (see docs/kube-emulator.md)."""

    builtins: bool = True  # serve the bundled built-in kinds (KMock's K3s snapshot)
    crds: Sequence[Mapping[str, Any]] = ()
    seed_namespaces: Sequence[str] = DEFAULT_NAMESPACES
    bookmark_interval: float = 30.0  # seconds between periodic BOOKMARK events
    journal_size: int = 10_000  # events kept per resource for watches resuming from a resourceVersion
    request_log_size: int = 1_000
    server_version: tuple[int, int, int] = (1, 32, 4)

    catalog: ResourceCatalog = attrs.field(init=False)
    store: Store = attrs.field(init=False)
    registry: Registry = attrs.field(init=False)
    collector: GarbageCollector = attrs.field(init=False)
    stats: RequestStats = attrs.field(init=False)
    faults: Faults = attrs.field(init=False)
    unexpected_errors: collections.deque[str] = attrs.field(init=False)
    _gc_scheduled: bool = attrs.field(init=False, default=False)
    _gc_targets: set[GcTarget] = attrs.field(init=False, factory=set)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        if self.builtins:
            with warnings.catch_warnings():  # KMock 0.8 reads its bundle with a deprecated importlib call
                warnings.simplefilter("ignore", DeprecationWarning)
                self.resources.load_bundled()
        for resource, info in _MINIMAL_RESOURCES.items():
            if resource not in self.resources:
                self.resources[resource] = info
        self.catalog = ResourceCatalog(self.resources)
        self.store = Store(self.objects, journal_size=self.journal_size)
        self.registry = Registry(self.store, self.catalog, self._schedule_gc, self._crd_changed)
        self.collector = GarbageCollector(self.registry)
        self.stats = RequestStats(log_size=self.request_log_size)
        self.faults = Faults()
        self.unexpected_errors = collections.deque(maxlen=100)
        for namespace in self.seed_namespaces:
            self.create_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for crd in self.crds:
            self.register_crd(crd)
        # Ahead of KMock's own resource fallbacks, behind any reaction a test adds.
        (self.fallback**1)[self._is_resource_request] << self._serve_resource

    # Python API (call on the emulator's loop; EmulatorServer wraps these for other threads) ----------

    def meta_for(self, api_version: str, kind: str) -> ResourceMeta:
        group, _, version = api_version.rpartition("/")
        for meta in self.catalog.by_kind(group, kind):
            if meta.version == version:
                return meta
        raise KeyError(f"{kind} in {api_version} is not served")

    def create_object(self, obj: Mapping[str, Any]) -> Obj:
        """Create an object as a client would (seeding): all create rules apply."""
        meta = self.meta_for(str(obj.get("apiVersion")), str(obj.get("kind")))
        namespace = (obj.get("metadata") or {}).get("namespace") or ("default" if meta.namespaced else None)
        return self.registry.create(meta, namespace, dict(obj))

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        meta = self.meta_for(api_version, kind)
        return self.store.get(meta.resource, (namespace if meta.namespaced else None, name))

    def register_crd(self, crd: Mapping[str, Any]) -> list[ResourceMeta]:
        """Serve a CustomResourceDefinition (and store it, as a cluster would list it)."""
        name = crd["metadata"]["name"]
        meta = self.catalog.get(CRDS)
        assert meta is not None
        if self.store.get(CRDS, (None, name)) is None:
            self.registry.create(meta, None, dict(crd))
        else:
            body = {key: value for key, value in crd.items() if key != "metadata"}
            self.registry.update(meta, None, name, lambda current: {**current, **body})
        return [m for m in self.catalog.all() if m.custom and m.group == crd["spec"]["group"]]

    def inject_fault(
        self,
        verb: str,
        resource: str,
        status: int,
        count: int = 1,
        *,
        namespace: str | None = None,
        name: str | None = None,
        retry_after: int | None = None,
        message: str = "",
    ) -> Fault:
        """The next `count` requests with this verb on this resource answer `status` (and change nothing)."""
        message = message or f"injected fault: {status} for {verb} {resource}"
        return self.faults.add(Fault(verb, resource, status, count, namespace, name, retry_after, message))

    def drop_watches(self, resource: str | None = None, *, abrupt: bool = False) -> int:
        """End the active watch streams (of one resource, "group/version/plural"); returns how many."""
        target = kmock.resource(resource) if resource else None
        return self.store.drop_watches(target, abrupt=abrupt)

    @property
    def request_log(self) -> list[LoggedRequest]:
        return list(self.stats.log)

    def request_counts(self) -> dict[str, Any]:
        return self.stats.snapshot()

    # Garbage collection and CRDs ----------------------------------------------------------------------

    def _schedule_gc(self, targets: list[GcTarget]) -> None:
        self._gc_targets.update(targets)
        if self._gc_scheduled or not self._gc_targets:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._run_gc()  # not serving yet (seeding): collect right away
            return
        self._gc_scheduled = True
        loop.call_soon(self._run_gc)  # after the response, as the real collector runs apart from the API

    def _run_gc(self) -> None:
        targets, self._gc_targets = self._gc_targets, set()
        self._gc_scheduled = False
        try:
            self.collector.run(targets)
        except Exception:
            self.unexpected_errors.append(traceback.format_exc())
            logger.exception("Garbage collection failed")

    def _crd_changed(self, crd: Obj, served: bool) -> None:
        if not served:
            for resource in self.catalog.unregister_crd(crd):
                for obj in self.store.objects_of(resource):
                    self.store.remove(resource, (obj["metadata"].get("namespace"), obj["metadata"]["name"]))
                self.store.drop_resource(resource)
            return
        self.catalog.register_crd(crd)
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        status = {
            "conditions": [
                {
                    "type": condition,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": crd["metadata"]["creationTimestamp"],
                }
                for condition, reason, message in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
            "acceptedNames": {
                key: names[key]
                for key in ("kind", "listKind", "plural", "singular", "shortNames", "categories")
                if key in names
            },
            "storedVersions": [v["name"] for v in spec.get("versions") or () if v.get("storage")],
        }
        meta = self.catalog.get(CRDS)
        assert meta is not None
        # What apiextensions-apiserver's controllers do right after a CRD is created: a second write.
        self.registry.update(
            meta, None, crd["metadata"]["name"], lambda current: {**current, "status": status}, subresource="status"
        )

    # Request intake -----------------------------------------------------------------------------------

    def _is_resource_request(self, request: kmock.Request) -> bool:
        return request.resource is not None and request.resource.plural is not None

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        started = time.monotonic()
        seq = self.stats.next_seq()
        body = await raw.read()
        parsed = parse_path(raw.path)
        watch = raw.query.get("watch") in ("true", "1")
        verb = k8s_verb(raw.method, parsed.name is not None, watch) if parsed.plural else "nonresource"
        names = self._resource_names(parsed)
        request: kmock.Request | None = None
        response: aiohttp.web.StreamResponse | None = None
        try:
            if raw.path.startswith(CONTROL_PREFIX):
                response = self._serve_control(raw, body)
            else:
                fault = self.faults.take(verb, names, parsed.namespace, parsed.name) if parsed.plural else None
                if fault is not None:
                    raise errors.injected(fault.status, fault.message, fault.retry_after)
                request = self._make_request(raw, parsed, body, seq, watch)
                # KMock's list of requests is scanned on every request: keep only those in flight there.
                self._requests.append(request)
                response = await self._handle(request)
        except StreamingError as exc:
            response = exc.args[0]
            assert isinstance(response, aiohttp.web.StreamResponse)
            self._note_unexpected(exc.__cause__ or exc)
            if response.prepared:
                with_error = {"type": "ERROR", "object": errors.internal(repr(exc.__cause__)).status_body()}
                await response.write(json.dumps(with_error).encode() + b"\n")
                await response.write_eof()
        except Exception as exc:
            response = await self._render_error(exc)
        finally:
            if request is not None:
                self._requests.remove(request)
            self.stats.record(
                LoggedRequest(
                    seq=seq,
                    time=time.time(),
                    method=raw.method,
                    path=raw.path_qs,
                    verb=verb,
                    resource=names[1] if names else "",
                    namespace=parsed.namespace,
                    name=parsed.name,
                    status=response.status if response is not None else 499,  # 499: client went away
                    duration=time.monotonic() - started,
                )
            )
        return response

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        # Skip KubernetesEmulator._handle: it writes every create/patch/delete into `objects` by plain
        # JSON merging before any reaction runs. The store does that here, with the API's rules.
        return await super(kmock.KubernetesEmulator, self)._handle(request)

    def _resource_names(self, parsed: ParsedPath) -> tuple[str, ...]:
        if not parsed.plural:
            return ()
        qualified = f"{parsed.plural}.{parsed.group}" if parsed.group else parsed.plural
        suffix = f"/{parsed.subresource}" if parsed.subresource else ""
        return (f"{parsed.plural}{suffix}", f"{qualified}{suffix}")

    def _make_request(
        self, raw: aiohttp.web.BaseRequest, parsed: ParsedPath, body: bytes, seq: int, watch: bool
    ) -> kmock.Request:
        content_type = raw.headers.get("Content-Type", "").split(";")[0].strip().lower()
        data: Any = None
        if body:
            if content_type.startswith(_PROTOBUF):
                raise errors.unsupported_media_type(_PROTOBUF_MESSAGE)
            if raw.method == "PATCH" and content_type not in patches.SUPPORTED:
                raise errors.unsupported_media_type(
                    f"the body of the request was in an unknown format - accepted media types include: "
                    f"{', '.join(patches.SUPPORTED)}"
                )
            try:
                if content_type == patches.APPLY or content_type.endswith("yaml"):
                    data = yaml.safe_load(body)
                elif content_type in ("", "application/json") or content_type.endswith("+json"):
                    data = json.loads(body)
                else:
                    raise errors.unsupported_media_type(f"unsupported media type {content_type!r}: send JSON")
            except (ValueError, yaml.YAMLError) as exc:
                raise errors.bad_request(f"the request body is not valid: {exc}") from exc
        resource = None
        if parsed.group is not None:
            resource = kmock.resource(group=parsed.group, version=parsed.version, plural=parsed.plural)
        return kmock.Request(
            id=seq,
            raw_request=raw,
            url=raw.url,
            method=raw.method,
            params=dict(raw.query),
            headers=dict(raw.headers),
            cookies=dict(raw.cookies),
            body=body,
            text=body.decode("utf-8", "replace"),
            data=data,
            action=guess_action(parsed, raw.method, watch),
            resource=resource,
            namespace=parsed.namespace,
            name=parsed.name,
            subresource=parsed.subresource,
        )

    def _note_unexpected(self, exc: BaseException) -> None:
        self.unexpected_errors.append("".join(traceback.format_exception(exc)))
        logger.error("Unexpected error in the Kubernetes API emulator", exc_info=exc)

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, errors.ApiError):
            return aiohttp.web.json_response(exc.status_body(), status=exc.status, headers=exc.headers)
        if isinstance(exc, kmock.KubernetesError):  # KMock's own (unknown endpoint, ...)
            error = errors.ApiError(status=exc.status, reason=exc.reason, message=exc.message)
            return aiohttp.web.json_response(error.status_body(), status=exc.status)
        self._note_unexpected(exc)
        body = errors.internal(f"emulator error: {exc!r}").status_body()
        return aiohttp.web.json_response(body, status=500)

    # Discovery (KMock's routes, these documents) --------------------------------------------------------

    async def _serve_root(self, request: kmock.Request) -> kmock.Payload:
        return self.catalog.root_paths()

    async def _serve_server_version(self, request: kmock.Request) -> kmock.Payload:
        major, minor, patch = self.server_version
        return {
            "major": str(major),
            "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.{patch}+erpsync-emulator",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": "go1.23.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    async def _serve_api(self, request: kmock.Request) -> kmock.Payload:
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}

    async def _serve_apis(self, request: kmock.Request) -> kmock.Payload:
        return self.catalog.group_list()

    async def _serve_group(self, request: kmock.Request) -> kmock.Payload:
        doc = self.catalog.group_doc(request.resource.group or "") if request.resource else None
        if doc is None:
            raise errors.resource_not_found()
        return doc

    async def _serve_version(self, request: kmock.Request) -> kmock.Payload:
        res = request.resource
        doc = self.catalog.resource_list(res.group or "", res.version or "") if res else None
        if doc is None:
            raise errors.resource_not_found()
        return doc

    # Resources ----------------------------------------------------------------------------------------

    async def _serve_resource(self, request: kmock.Request) -> Response:
        meta = self.catalog.get(request.resource)
        if meta is None or (request.namespace is not None and not meta.namespaced):
            raise errors.resource_not_found()
        raw = request._raw_request
        assert raw is not None
        params = raw.query
        namespace = request.namespace if meta.namespaced else None
        name, sub = request.name, request.subresource
        method = str(request.method.value)

        if method == "GET":
            if params.get("watch") in ("true", "1"):
                return self._watch(meta, namespace, name, params, raw)
            if name is None:
                return Response(status=200, headers=_JSON_HEADERS, payload=self._list(meta, namespace, params))
            obj = self.registry._require(meta, namespace, name)
            if sub is not None and not (sub == "status" and meta.has_status):
                raise errors.resource_not_found()
            return Response(status=200, headers=_JSON_HEADERS, payload=obj)

        dry_run = _dry_run(params.getall("dryRun", []))
        if method == "POST":
            if name is not None:
                raise errors.method_not_allowed()
            created = self.registry.create(meta, namespace, request.data, dry_run=dry_run)
            return Response(status=201, headers=_JSON_HEADERS, payload=created)
        if method == "PUT" and name is not None:
            body = request.data
            updated = self.registry.update(
                meta, namespace, name, lambda _: body, subresource=sub, dry_run=dry_run, put=True
            )
            return Response(status=200, headers=_JSON_HEADERS, payload=updated)
        if method == "PATCH" and name is not None:
            return self._patch(meta, namespace, name, sub, request, dry_run)
        if method == "DELETE":
            return self._delete(meta, namespace, name, request, dry_run)
        raise errors.method_not_allowed()

    def _patch(
        self,
        meta: ResourceMeta,
        namespace: str | None,
        name: str,
        sub: str | None,
        request: kmock.Request,
        dry_run: bool,
    ) -> Response:
        content_type = request.headers.get("Content-Type", patches.MERGE).split(";")[0].strip().lower()
        patch = request.data

        def mutate(current: Obj) -> Any:
            try:
                return patches.apply_patch(content_type, current, patch)
            except patches.PatchError as exc:
                raise errors.ApiError(status=422, reason="Invalid", message=str(exc)) from exc

        if content_type == patches.APPLY:
            if not request.params.get("fieldManager"):
                raise errors.invalid(
                    "PatchOptions", "meta.k8s.io", "", [("fieldManager", "Required value: is required for apply patch")]
                )
            key = (namespace if meta.namespaced else None, name)
            if self.store.get(meta.resource, key) is None and sub is None:
                created = self.registry.create(
                    meta,
                    namespace,
                    {**(patch or {}), "metadata": {**((patch or {}).get("metadata") or {}), "name": name}},
                    dry_run=dry_run,
                )
                return Response(status=201, headers=_JSON_HEADERS, payload=created)
        updated = self.registry.update(meta, namespace, name, mutate, subresource=sub, dry_run=dry_run)
        return Response(status=200, headers=_JSON_HEADERS, payload=updated)

    def _delete_options(self, request: kmock.Request) -> dict[str, Any]:
        options = dict(request.data) if isinstance(request.data, dict) else {}
        params = request.params
        if "propagationPolicy" in params:
            options["propagationPolicy"] = params["propagationPolicy"]
        if params.get("orphanDependents") in ("true", "false"):
            options["orphanDependents"] = params["orphanDependents"] == "true"
        if options.get("orphanDependents") is True and not options.get("propagationPolicy"):
            options["propagationPolicy"] = "Orphan"
        return options

    def _delete(
        self, meta: ResourceMeta, namespace: str | None, name: str | None, request: kmock.Request, dry_run: bool
    ) -> Response:
        options = self._delete_options(request)
        dry_run = dry_run or _dry_run(options.get("dryRun") or [])
        policy = options.get("propagationPolicy")
        if name is not None:
            if request.subresource is not None:
                raise errors.method_not_allowed()
            obj, gone = self.registry.delete(
                meta, namespace, name, policy=policy, preconditions=options.get("preconditions"), dry_run=dry_run
            )
            return Response(status=200 if gone else 202, headers=_JSON_HEADERS, payload=obj)
        # deletecollection: the selected objects, one by one.
        listed = self._list(meta, namespace, request.params)
        items = []
        for obj in listed["items"]:
            deleted, _ = self.registry.delete(
                meta, obj["metadata"].get("namespace"), obj["metadata"]["name"], policy=policy, dry_run=dry_run
            )
            items.append(deleted)
        payload = {**listed, "items": items, "metadata": {"resourceVersion": str(self.store.rv)}}
        return Response(status=200, headers=_JSON_HEADERS, payload=payload)

    def _selectors(self, meta: ResourceMeta, params: Mapping[str, str]) -> tuple[LabelSelector, FieldSelector]:
        try:
            labels = LabelSelector.parse(params.get("labelSelector"))
            fields = FieldSelector.parse(params.get("fieldSelector"), meta.group, meta.plural)
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        return labels, fields

    def _list(self, meta: ResourceMeta, namespace: str | None, params: Mapping[str, str]) -> dict[str, Any]:
        labels, fields = self._selectors(meta, params)
        flt = WatchFilter(namespace, None, labels, fields)
        candidates = self.store.objects_of(meta.resource, namespace, labels.indexable())
        items = [obj for obj in candidates if flt.matches(obj)]
        list_meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if token := params.get("continue"):
            after = _decode_continue(token)
            items = [obj for obj in items if (obj["metadata"].get("namespace") or "", obj["metadata"]["name"]) > after]
        try:
            limit = int(params.get("limit") or 0)
        except ValueError as exc:
            raise errors.bad_request(f"invalid limit: {params.get('limit')!r}") from exc
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            last = items[-1]["metadata"]
            list_meta.update(
                {"continue": _encode_continue((last.get("namespace") or "", last["name"])), "remainingItemCount": rest}
            )
        return {"apiVersion": meta.api_version, "kind": meta.list_kind, "metadata": list_meta, "items": items}

    def _watch(
        self,
        meta: ResourceMeta,
        namespace: str | None,
        name: str | None,
        params: Mapping[str, str],
        raw: aiohttp.web.BaseRequest,
    ) -> Response:
        labels, fields = self._selectors(meta, params)
        flt = WatchFilter(namespace, name, labels, fields)
        rv = params.get("resourceVersion") or "0"
        send_initial = params.get("sendInitialEvents") == "true"
        try:
            since = None if rv == "0" or send_initial else int(rv)
            timeout = float(params["timeoutSeconds"]) if params.get("timeoutSeconds") else None
        except ValueError as exc:
            raise errors.bad_request(f"invalid resourceVersion or timeoutSeconds: {exc}") from exc
        if since is not None and since > self.store.rv:
            since = self.store.rv  # a version from the future: nothing to replay yet
        options = WatchOptions(
            since=since,
            bookmarks=params.get("allowWatchBookmarks") == "true",
            send_initial_events=send_initial,
            timeout=timeout,
            bookmark_interval=self.bookmark_interval,
        )

        def connected() -> bool:
            transport = raw.transport
            return transport is not None and not transport.is_closing()

        def abort() -> None:
            if raw.transport is not None:
                raw.transport.close()

        stream = watch_stream(self.store, meta, flt, options, connected, abort)
        return Response(status=200, headers=_JSON_HEADERS, payload=stream)

    # Control endpoints for other processes (demo, benchmarks) ---------------------------------------

    def _serve_control(self, raw: aiohttp.web.BaseRequest, body: bytes) -> aiohttp.web.StreamResponse:
        what = raw.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            data: dict[str, Any] = json.loads(body) if body else {}
        except ValueError as exc:
            raise errors.bad_request(f"the body is not JSON: {exc}") from exc
        result: Any
        if what == "stats" and raw.method == "GET":
            result = {**self.request_counts(), "resourceVersion": self.store.rv, "watches": self.store.watch_count()}
        elif what == "stats" and raw.method == "DELETE":
            self.stats.reset()
            result = {}
        elif what == "faults" and raw.method == "POST":
            if not {"verb", "resource", "status"} <= set(data):
                raise errors.bad_request("a fault needs verb, resource and status")
            fault = self.inject_fault(
                data["verb"],
                data["resource"],
                int(data["status"]),
                int(data.get("count", 1)),
                namespace=data.get("namespace"),
                name=data.get("name"),
                retry_after=data.get("retryAfter"),
            )
            result = attrs.asdict(fault)
        elif what == "faults" and raw.method == "DELETE":
            self.faults.clear()
            result = {}
        elif what == "watches" and raw.method == "DELETE":
            result = {"dropped": self.drop_watches(data.get("resource"), abrupt=bool(data.get("abrupt")))}
        else:
            raise errors.resource_not_found()
        return aiohttp.web.json_response(result)
