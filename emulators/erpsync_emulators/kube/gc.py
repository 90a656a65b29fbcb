"""The garbage collector, run shortly after any change that may leave garbage (as kube-controller-manager's is).

Like the real one it works from the live objects, not from the delete request, so it also collects:
dependents whose owner's last finalizer was just removed, dependents created with an owner that no longer
exists, and whole chains (schedule -> CronJob -> Job -> Pod), pass after pass until nothing changes.

* Background: a dependent whose owners are all absent is deleted (its own finalizers still apply); a
  dependent that keeps some owners loses only the references to the absent ones.
* Orphan (`orphan` finalizer): the owner's references are removed from its dependents, then the finalizer.
* Foreground (`foregroundDeletion`): dependents are deleted first; the owner goes when none is left.
* Namespaces being deleted: their objects are deleted, then the Namespace.

An owner is absent when no live object has its uid, or it is namespaced in another namespace than the
dependent. A reference to a kind the server does not serve is left alone (the real collector cannot
resolve it either).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import kmock

from erpsync_emulators.kube import errors
from erpsync_emulators.kube.discovery import ResourceMeta
from erpsync_emulators.kube.registry import FOREGROUND, NAMESPACES, ORPHAN, GcTarget, Registry
from erpsync_emulators.kube.store import Obj

_MAX_PASSES = 100  # a chain deeper than this would be a bug in the emulator, not a real hierarchy


def _group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@attrs.define
class GarbageCollector:
    registry: Registry
    passes: int = 0  # how many passes ran (for tests and benchmarks)

    def _meta(self, resource: kmock.resource) -> ResourceMeta | None:
        return self.registry.catalog.get(resource)

    def run(self, targets: Iterable[GcTarget] | None = None) -> None:
        """Look at `targets` (what a change may have left as garbage), or sweep everything until nothing
        changes. Changes made here report their own targets, which the emulator collects next."""
        if targets is not None:
            self.passes += 1
            self._pass([(res, obj) for res, key in targets if (obj := self.registry.store.get(res, key)) is not None])
            return
        for _ in range(_MAX_PASSES):
            self.passes += 1
            if not self._pass(list(self.registry.store.all_objects())):
                return

    def _pass(self, objects: list[tuple[kmock.resource, Obj]]) -> bool:
        progress = False
        for resource, obj in objects:
            meta = self._meta(resource)
            if meta is None:
                continue
            # Re-read: an earlier step of this pass may have changed or removed it.
            current = self.registry.store.get(resource, (obj["metadata"].get("namespace"), obj["metadata"]["name"]))
            if current is None:
                continue
            try:
                progress |= self._collect(meta, current)
            except errors.ApiError:
                continue  # e.g. a conflict with a concurrent change: the next pass sees the new state
        return progress

    def _collect(self, meta: ResourceMeta, obj: Obj) -> bool:
        md = obj["metadata"]
        finalizers = md.get("finalizers") or []
        if md.get("deletionTimestamp"):
            if ORPHAN in finalizers:
                for dep_resource, dep in self.registry.dependents_of(md["uid"]):
                    self._drop_refs(dep_resource, dep, {md["uid"]})
                self._remove_finalizer(meta, obj, ORPHAN)
                return True
            if FOREGROUND in finalizers:
                dependents = self.registry.dependents_of(md["uid"])
                if not dependents:
                    self._remove_finalizer(meta, obj, FOREGROUND)
                    return True
                return self._delete_all(dependents, "Foreground")
            if meta.resource == NAMESPACES:
                return self._empty_namespace(obj)
        refs = md.get("ownerReferences") or []
        if not refs or md.get("deletionTimestamp"):
            return False
        absent = {ref["uid"] for ref in refs if self._owner_absent(ref, obj)}
        if not absent:
            return False
        if len(absent) == len({ref.get("uid") for ref in refs}):
            self.registry.delete(meta, md.get("namespace"), md["name"], policy="Background")
        else:
            self._drop_refs(meta.resource, obj, absent)
        return True

    def _owner_absent(self, ref: dict[str, Any], dependent: Obj) -> bool:
        group = _group_of(str(ref.get("apiVersion", "")))
        if not self.registry.catalog.by_kind(group, str(ref.get("kind"))):
            return False  # unresolvable kind: left alone
        found = self.registry.store.by_uid(str(ref.get("uid")))
        if found is None:
            return True
        owner_resource, owner = found
        owner_meta = self._meta(owner_resource)
        if owner_meta is None or owner_meta.kind != ref.get("kind"):
            return True
        dep_ns = dependent["metadata"].get("namespace")
        return owner_meta.namespaced and owner["metadata"].get("namespace") != dep_ns

    def _drop_refs(self, resource: kmock.resource, obj: Obj, uids: set[str]) -> None:
        meta = self._meta(resource)
        if meta is None:
            return

        def without(current: Obj) -> Obj:
            refs = [ref for ref in current["metadata"].get("ownerReferences") or () if ref.get("uid") not in uids]
            if refs:
                current["metadata"]["ownerReferences"] = refs
            else:
                current["metadata"].pop("ownerReferences", None)
            return current

        md = obj["metadata"]
        self.registry.update(meta, md.get("namespace"), md["name"], without)

    def _remove_finalizer(self, meta: ResourceMeta, obj: Obj, finalizer: str) -> None:
        def without(current: Obj) -> Obj:
            current["metadata"]["finalizers"] = [
                f for f in current["metadata"].get("finalizers") or () if f != finalizer
            ]
            return current

        md = obj["metadata"]
        self.registry.update(meta, md.get("namespace"), md["name"], without)

    def _delete_all(self, objects: list[tuple[kmock.resource, Obj]], policy: str) -> bool:
        progress = False
        for resource, obj in objects:
            meta = self._meta(resource)
            md = obj["metadata"]
            if meta is None or md.get("deletionTimestamp"):
                continue
            self.registry.delete(meta, md.get("namespace"), md["name"], policy=policy)
            progress = True
        return progress

    def _empty_namespace(self, namespace: Obj) -> bool:
        name = namespace["metadata"]["name"]
        contents = [
            (resource, obj)
            for resource, obj in self.registry.store.all_objects()
            if obj["metadata"].get("namespace") == name
        ]
        if contents:
            return self._delete_all(contents, "Background")
        if namespace["metadata"].get("finalizers"):
            return False  # other finalizers still hold it
        self.registry.store.remove(NAMESPACES, (None, name))
        return True
