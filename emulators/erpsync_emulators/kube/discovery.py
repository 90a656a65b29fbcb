"""What the emulator serves: resources, their kinds and scopes, CRDs, and the discovery documents.

Built on KMock's `ResourcesArray` (`load_bundled()` gives the built-in kinds of a K3s cluster). Fixed here:
`/api/v1` reported `groupVersion: "/v1"` (kubectl then knew no core kind), subresource entries copied the
parent's shortNames (`kubectl get erpsync` warned about `erpsyncschedules/status`), the preferred version
of a group was picked from a set at random, and a CRD created at runtime was stored but never served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import kmock

# Built-in kinds that keep metadata.generation (their registry strategies set it to 1 on create and bump
# it on spec changes). Others (ConfigMap, Secret, Namespace, Pod in 1.32, Event, ...) have no generation.
_BUILTIN_GENERATION = frozenset(
    {
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("", "replicationcontrollers"),
        ("policy", "poddisruptionbudgets"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "networkpolicies"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    }
)
_STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA before beta before alpha, higher numbers first (sort descending)."""
    match = _VERSION_RE.match(version)
    if not match:
        return (-1, 0, 0)
    major, stage, minor = match.groups()
    rank = {"alpha": 0, "beta": 1, None: 2}[stage]
    return (rank, int(major), int(minor or 0))


@attrs.frozen
class ResourceMeta:
    """Everything the request handling needs to know about one served group/version/plural."""

    group: str
    version: str
    plural: str
    kind: str
    list_kind: str
    singular: str
    namespaced: bool
    subresources: frozenset[str]
    verbs: frozenset[str]
    custom: bool  # served from a CRD

    @property
    def resource(self) -> kmock.resource:
        return kmock.resource(self.group, self.version, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def tracks_generation(self) -> bool:
        return self.custom or (self.group, self.plural) in _BUILTIN_GENERATION


def crd_resources(crd: Mapping[str, Any]) -> dict[kmock.resource, kmock.ResourceInfo]:
    """The resources a CustomResourceDefinition serves: one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec["group"]
    result: dict[kmock.resource, kmock.ResourceInfo] = {}
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = set((version.get("subresources") or {}).keys())
        result[kmock.resource(group, version["name"], names["plural"])] = kmock.ResourceInfo(
            kind=names["kind"],
            singular=names.get("singular") or names["kind"].lower(),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            verbs=set(_STANDARD_VERBS),
            shortnames=set(names.get("shortNames") or ()),
            categories=set(names.get("categories") or ()),
            subresources=subresources,
        )
    return result


@attrs.define
class ResourceCatalog:
    """The served resources: KMock's declarations plus the CRDs registered at runtime."""

    resources: kmock.ResourcesArray
    _custom: dict[kmock.resource, str] = attrs.field(factory=dict)  # resource -> listKind
    _schemas: dict[kmock.resource, Mapping[str, Any]] = attrs.field(factory=dict)  # openAPIV3Schema per version
    _cache: dict[tuple[str, str, str], ResourceMeta] = attrs.field(factory=dict)
    _all: list[ResourceMeta] | None = None  # cached: the garbage collector asks by kind for every reference

    def register_crd(self, crd: Mapping[str, Any]) -> list[ResourceMeta]:
        served = crd_resources(crd)
        list_kind = ((crd.get("spec") or {}).get("names") or {}).get("listKind")
        schemas = {
            version["name"]: (version.get("schema") or {}).get("openAPIV3Schema")
            for version in (crd.get("spec") or {}).get("versions") or ()
        }
        for resource, info in served.items():
            self.resources[resource] = info
            self._custom[resource] = list_kind or f"{info.kind}List"
            if schema := schemas.get(resource.version):
                self._schemas[resource] = schema
            else:
                self._schemas.pop(resource, None)
        self.invalidate()
        return [meta for resource in served if (meta := self.get(resource)) is not None]

    def unregister_crd(self, crd: Mapping[str, Any]) -> list[kmock.resource]:
        spec = crd.get("spec") or {}
        plural = (spec.get("names") or {}).get("plural")
        gone = [res for res in list(self._custom) if res.group == spec.get("group") and res.plural == plural]
        for resource in gone:
            del self._custom[resource]
            self._schemas.pop(resource, None)
            if resource in self.resources:
                del self.resources[resource]
        self.invalidate()
        return gone

    def invalidate(self) -> None:
        """Forget cached answers (call after changing `resources` directly)."""
        self._cache.clear()
        self._all = None

    def get(self, resource: kmock.resource | None) -> ResourceMeta | None:
        if resource is None or resource.group is None or resource.version is None or resource.plural is None:
            return None
        key = (resource.group, resource.version, resource.plural)
        if key not in self._cache:
            meta = self._build(resource)
            if meta is None:
                return None  # not cached: the resource may be declared later
            self._cache[key] = meta
        return self._cache[key]

    def _build(self, resource: kmock.resource) -> ResourceMeta | None:
        if resource not in self.resources:
            return None
        info = self.resources[resource]
        assert resource.group is not None and resource.version is not None and resource.plural is not None
        kind = info.kind or resource.plural.capitalize()
        custom = resource in self._custom
        return ResourceMeta(
            group=resource.group,
            version=resource.version,
            plural=resource.plural,
            kind=kind,
            list_kind=self._custom.get(resource, f"{kind}List"),
            singular=info.singular or kind.lower(),
            namespaced=bool(info.namespaced),
            subresources=frozenset(info.subresources),
            verbs=frozenset(info.verbs),
            custom=custom,
        )

    def schema(self, resource: kmock.resource) -> Mapping[str, Any] | None:
        """The structural schema of a custom resource (None for built-ins and schemaless CRDs)."""
        return self._schemas.get(resource)

    def all(self) -> list[ResourceMeta]:
        if self._all is None or len(self._all) != len(self.resources):
            self._all = [meta for key in list(self.resources) if (meta := self.get(kmock.resource(key))) is not None]
        return self._all

    def by_kind(self, group: str, kind: str) -> list[ResourceMeta]:
        return [meta for meta in self.all() if meta.group == group and meta.kind == kind]

    # Discovery documents ---------------------------------------------------------------------------

    def _versions(self, group: str) -> list[str]:
        versions = {meta.version for meta in self.all() if meta.group == group}
        return sorted(versions, key=version_priority, reverse=True)

    def group_doc(self, group: str) -> dict[str, Any] | None:
        versions = self._versions(group)
        if not versions or not group:
            return None
        entries = [{"groupVersion": f"{group}/{version}", "version": version} for version in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def group_list(self) -> dict[str, Any]:
        groups = sorted({meta.group for meta in self.all() if meta.group})
        docs = [doc for group in groups if (doc := self.group_doc(group)) is not None]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": docs}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        metas = sorted((m for m in self.all() if m.group == group and m.version == version), key=lambda m: m.plural)
        if not metas:
            return None
        entries: list[dict[str, Any]] = []
        for meta in metas:
            info = self.resources[meta.resource]
            entries.append(
                {
                    "name": meta.plural,
                    "singularName": meta.singular,
                    "namespaced": meta.namespaced,
                    "kind": meta.kind,
                    "verbs": sorted(info.verbs) or list(_STANDARD_VERBS),
                    **({"shortNames": sorted(info.shortnames)} if info.shortnames else {}),
                    **({"categories": sorted(info.categories)} if info.categories else {}),
                }
            )
            # Subresources carry no shortNames or categories: kubectl would otherwise see two matches.
            entries.extend(
                {
                    "name": f"{meta.plural}/{sub}",
                    "singularName": "",
                    "namespaced": meta.namespaced,
                    "kind": meta.kind if sub == "status" else _subresource_kind(sub, meta.kind),
                    "verbs": ["get", "patch", "update"] if sub in ("status", "scale") else ["create", "get"],
                }
                for sub in sorted(meta.subresources)
            )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": entries,
        }

    def root_paths(self, extra: Iterable[str] = ()) -> dict[str, Any]:
        paths = {"/api", "/apis", "/version", *extra}
        for meta in self.all():
            if meta.group:
                paths |= {f"/apis/{meta.group}", f"/apis/{meta.group}/{meta.version}"}
            else:
                paths.add(f"/api/{meta.version}")
        return {"paths": sorted(paths)}


def _subresource_kind(sub: str, kind: str) -> str:
    return {"scale": "Scale", "eviction": "Eviction", "binding": "Binding", "token": "TokenRequest"}.get(sub, kind)
