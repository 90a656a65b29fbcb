"""Create, update and delete with the API server's rules (what KMock's plain JSON merging leaves out).

* create: uid, creationTimestamp, resourceVersion, generation (CRs and the built-ins that track it),
  namespace from the URL, apiVersion/kind; 409 AlreadyExists; 404 for a missing namespace; status dropped
  for kinds with a status subresource (their status is written by controllers, through /status).
* update: a stale metadata.resourceVersion in the result is a 409 Conflict; system fields cannot be
  changed; the status subresource is kept apart both ways; generation moves only on a real spec change;
  a write that changes nothing is not a write (no resourceVersion, no event).
* delete: finalizers hold the object (deletionTimestamp, MODIFIED); removing the last one completes the
  deletion; propagation policies leave the dependents to the garbage collector (`gc.py`).
"""

from __future__ import annotations

import copy
import datetime
import random
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import kmock

from erpsync_emulators.kube import defaults, errors, schemas, validation
from erpsync_emulators.kube.discovery import ResourceCatalog, ResourceMeta
from erpsync_emulators.kube.store import Key, Obj, Store

GcTarget = tuple[kmock.resource, Key]
NAMESPACES = kmock.resource("", "v1", "namespaces")
CRDS = kmock.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")

# Fields of metadata only the server sets; a client's value is ignored on update.
_SYSTEM_FIELDS = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what apiserver's generateName suffix uses
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
POLICIES = ("Orphan", "Background", "Foreground")


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _drop_empty_metadata(obj: Obj) -> None:
    """Empty maps and lists in metadata are omitted by a real server (Go `omitempty`): so here too."""
    md = obj["metadata"]
    for field in ("labels", "annotations", "finalizers", "ownerReferences", "managedFields"):
        if field in md and not md[field]:
            del md[field]


def _initial_status(meta: ResourceMeta) -> dict[str, Any] | None:
    """Status a new object starts with: none for CRs, the kind's zero value for built-ins."""
    if meta.custom:
        return None
    if (meta.group, meta.plural) == ("", "pods"):
        return {"phase": "Pending"}
    if (meta.group, meta.plural) == ("", "namespaces"):
        return {"phase": "Active"}
    return {}


def _spec_view(meta: ResourceMeta, obj: Obj) -> Any:
    """The part of an object whose change bumps metadata.generation."""
    if meta.custom:
        skipped = {"metadata", "status"} if meta.has_status else {"metadata"}
        return {key: value for key, value in obj.items() if key not in skipped}
    if (meta.group, meta.plural) == ("apps", "deployments"):
        # Deployments also bump on annotation changes (they are copied to ReplicaSets).
        return (obj.get("spec"), (obj.get("metadata") or {}).get("annotations"))
    return obj.get("spec")


@attrs.define
class Registry:
    store: Store
    catalog: ResourceCatalog
    # Called after a committed change that may leave garbage: an object removed or a deletion waiting on
    # its dependents (target None: look at everything), or one object's owner references set (that object).
    on_garbage: Callable[[list[GcTarget]], None] = lambda targets: None
    on_crd_change: Callable[[Obj, bool], None] = lambda crd, served: None

    # Helpers ----------------------------------------------------------------------------------------

    def _require(self, meta: ResourceMeta, namespace: str | None, name: str) -> Obj:
        obj = self.store.get(meta.resource, (namespace if meta.namespaced else None, name))
        if obj is None:
            raise errors.not_found(meta.plural, meta.group, name)
        return obj

    def _check_kind(self, meta: ResourceMeta, obj: Obj) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != meta.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({meta.api_version})"
            )
        if kind and kind != meta.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({meta.kind})")

    def _validate(self, meta: ResourceMeta, obj: Obj, old: Obj | None = None) -> None:
        causes = validation.metadata_problems(meta.group, meta.plural, obj)
        causes += validation.workload_problems(meta.group, meta.plural, obj)
        if old is not None:
            causes += validation.immutable_problems(meta.group, meta.plural, old, obj)
        if meta.resource == CRDS and (problem := validation.crd_name_problem(obj)):
            causes.append(("metadata.name", problem))
        if causes:
            raise errors.invalid(meta.kind, meta.group, obj.get("metadata", {}).get("name") or "", causes)

    def dependents_of(self, uid: str) -> list[tuple[kmock.resource, Obj]]:
        found = [(resource, self.store.get(resource, key)) for resource, key in self.store.dependents(uid)]
        return [(resource, obj) for resource, obj in found if obj is not None]

    # Create -----------------------------------------------------------------------------------------

    def create(self, meta: ResourceMeta, namespace: str | None, body: Any, *, dry_run: bool = False) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("the body of the request must be a JSON object with an object `metadata`")
        if meta.namespaced and namespace is None:
            raise errors.method_not_allowed(f"{meta.qualified} are namespaced: create them under /namespaces/NAME/")
        self._check_kind(meta, body)
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = meta.api_version, meta.kind
        md = obj.setdefault("metadata", {})
        if meta.namespaced:
            if md.get("namespace") not in (None, "", namespace):
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
        if md.get("resourceVersion"):
            raise errors.internal("resourceVersion should not be set on objects to be created")
        if not md.get("name") and md.get("generateName"):
            md["name"] = self._generated_name(meta, namespace, str(md["generateName"]))
        _drop_empty_metadata(obj)
        defaults.apply(meta.group, meta.plural, obj)
        causes = validation.metadata_problems(meta.group, meta.plural, obj)
        if causes:  # names first: the checks below need one
            raise errors.invalid(meta.kind, meta.group, md.get("name") or "", causes)
        name = md["name"]
        if meta.namespaced:
            self._check_namespace_open(meta, str(namespace), name)
        if self.store.get(meta.resource, (md.get("namespace"), name)) is not None:
            raise errors.already_exists(meta.plural, meta.group, name)

        for field in _SYSTEM_FIELDS:
            md.pop(field, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_rfc3339()
        if (meta.group, meta.plural) == ("batch", "jobs"):
            defaults.job_selector(obj)
        self._validate(meta, obj)
        if meta.tracks_generation:
            md["generation"] = 1
        if meta.has_status:
            initial = _initial_status(meta)
            if initial is None:
                obj.pop("status", None)
            else:
                obj["status"] = initial
        if meta.resource == NAMESPACES:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        obj = schemas.normalise(obj, self.catalog.schema(meta.resource))
        if dry_run:
            return obj
        stored = self.store.insert(meta.resource, obj)
        if meta.resource == CRDS:
            self.on_crd_change(stored, True)
        if md.get("ownerReferences"):
            self.on_garbage([(meta.resource, (md.get("namespace"), name))])  # its owners may already be gone
        return stored

    def _generated_name(self, meta: ResourceMeta, namespace: str | None, prefix: str) -> str:
        for _ in range(8):
            name = prefix[:58] + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            if self.store.get(meta.resource, (namespace if meta.namespaced else None, name)) is None:
                return name
        raise errors.internal("could not generate a unique name")

    def _check_namespace_open(self, meta: ResourceMeta, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES, (None, namespace))
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                f'{meta.plural} "{name}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated"
            )

    # Update -----------------------------------------------------------------------------------------

    def update(
        self,
        meta: ResourceMeta,
        namespace: str | None,
        name: str,
        mutate: Callable[[Obj], Any],
        *,
        subresource: str | None = None,
        dry_run: bool = False,
        put: bool = False,
    ) -> Obj:
        """Apply `mutate` (a patch or a replacement) to the current object; returns the resulting object."""
        if subresource not in (None, "status") or (subresource == "status" and not meta.has_status):
            raise errors.resource_not_found()
        current = self._require(meta, namespace, name)
        candidate = mutate(copy.deepcopy(current))
        if not isinstance(candidate, dict) or not isinstance(candidate.get("metadata"), dict):
            raise errors.bad_request("the resulting object must be a JSON object with an object `metadata`")
        cand_md: dict[str, Any] = candidate["metadata"]
        cur_md: dict[str, Any] = current["metadata"]

        # Preconditions: the resourceVersion (and uid) the client sent must still be the current ones.
        sent_rv = cand_md.get("resourceVersion")
        if sent_rv and str(sent_rv) != cur_md["resourceVersion"]:
            raise errors.conflict(meta.plural, meta.group, name)
        if put and not sent_rv and meta.custom:
            # CRs do not allow unconditional updates: a PUT must say which version it replaces.
            raise errors.invalid(
                meta.kind,
                meta.group,
                name,
                [("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")],
            )
        if cand_md.get("uid") and cand_md["uid"] != cur_md["uid"]:
            raise errors.conflict(
                meta.plural,
                meta.group,
                name,
                f"Precondition failed: UID in precondition: {cand_md['uid']}, UID in object meta: {cur_md['uid']}",
            )
        if cand_md.get("name", name) != name:
            raise errors.bad_request(
                f"the name of the object ({cand_md.get('name')}) does not match the name on the URL ({name})"
            )
        if meta.namespaced and cand_md.get("namespace") not in (None, "", namespace):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        self._check_kind(meta, candidate)

        if subresource == "status":
            # Writes to /status change only status.
            new = copy.deepcopy(current)
            if "status" in candidate:
                new["status"] = candidate["status"]
            else:
                new.pop("status", None)
        else:
            new = candidate
            new["apiVersion"], new["kind"] = current["apiVersion"], current["kind"]
            if meta.has_status:
                # Writes to the main resource ignore status.
                if "status" in current:
                    new["status"] = current["status"]
                else:
                    new.pop("status", None)
            for field in ("name", "namespace", "resourceVersion", *_SYSTEM_FIELDS):
                if field in cur_md:
                    cand_md[field] = cur_md[field]
                else:
                    cand_md.pop(field, None)
            if cur_md.get("deletionTimestamp"):
                added = set(cand_md.get("finalizers") or ()) - set(cur_md.get("finalizers") or ())
                if added:
                    raise errors.invalid(
                        meta.kind,
                        meta.group,
                        name,
                        [
                            (
                                "metadata.finalizers",
                                "Forbidden: no new finalizers can be added if the object is being deleted, "
                                f"found new finalizers {sorted(added)}",
                            )
                        ],
                    )
            _drop_empty_metadata(new)
            defaults.apply(meta.group, meta.plural, new)
            self._validate(meta, new, current)

        new = schemas.normalise(new, self.catalog.schema(meta.resource))
        if meta.tracks_generation and _spec_view(meta, new) != _spec_view(meta, current):
            new["metadata"]["generation"] = int(cur_md.get("generation") or 0) + 1
        if new == current:
            return current  # a no-op: no new resourceVersion, no event
        if dry_run:
            return new

        new_md = new["metadata"]
        if new_md.get("deletionTimestamp") and not new_md.get("finalizers") and meta.resource != NAMESPACES:
            # The write that removes the last finalizer deletes the object: one DELETED event, no MODIFIED.
            final = self.store.remove(meta.resource, (new_md.get("namespace"), name), final=new)
            self._after_removal(meta, final)
            return final
        stored = self.store.replace(meta.resource, new)
        if meta.resource == CRDS and subresource is None:
            self.on_crd_change(stored, True)
        if stored["metadata"].get("ownerReferences") != cur_md.get("ownerReferences"):
            self.on_garbage([(meta.resource, (cur_md.get("namespace"), name))])
        return stored

    # Delete -----------------------------------------------------------------------------------------

    def delete(
        self,
        meta: ResourceMeta,
        namespace: str | None,
        name: str,
        *,
        policy: str | None = None,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete (or mark for deletion); returns the object and whether it is gone already."""
        current = self._require(meta, namespace, name)
        md = current["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != md["uid"]:
            why = f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {md['uid']}"
            raise errors.conflict(meta.plural, meta.group, name, why)
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != md["resourceVersion"]:
            why = (
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: {md['resourceVersion']}"
            )
            raise errors.conflict(meta.plural, meta.group, name, why)
        if policy is None:
            # batch/v1 Jobs still orphan their Pods unless asked otherwise (kubectl asks for Background).
            policy = "Orphan" if (meta.group, meta.plural) == ("batch", "jobs") else "Background"
        if policy not in POLICIES:
            raise errors.bad_request(f"Unsupported propagationPolicy: {policy!r}, expected one of {POLICIES}")
        if md.get("deletionTimestamp"):
            return current, False  # already being deleted: nothing more to do

        finalizers = list(md.get("finalizers") or ())
        if policy != "Background" and self.dependents_of(md["uid"]):
            finalizers.append(ORPHAN if policy == "Orphan" else FOREGROUND)
        is_namespace = meta.resource == NAMESPACES
        if finalizers or is_namespace:
            marked = copy.deepcopy(current)
            marked["metadata"].update(deletionTimestamp=now_rfc3339(), deletionGracePeriodSeconds=0)
            if finalizers:
                marked["metadata"]["finalizers"] = finalizers
            if is_namespace:
                marked["status"] = {**(marked.get("status") or {}), "phase": "Terminating"}
            if dry_run:
                return marked, False
            stored = self.store.replace(meta.resource, marked)
            self.on_garbage([(meta.resource, (md.get("namespace"), name))])  # orphan, foreground, namespace
            return stored, False
        if dry_run:
            return current, True
        final = self.store.remove(meta.resource, (md.get("namespace"), name))
        self._after_removal(meta, final)
        return final, True

    def _after_removal(self, meta: ResourceMeta, final: Obj) -> None:
        """What may be garbage now: the dependents, owners waiting for their dependents (foreground), and
        the namespace if it is being emptied."""
        if meta.resource == CRDS:
            self.on_crd_change(final, False)
        md = final["metadata"]
        targets = self.store.dependents(md["uid"])
        for ref in md.get("ownerReferences") or ():
            if (owner := self.store.by_uid(str(ref.get("uid")))) is not None:
                owner_md = owner[1]["metadata"]
                targets.append((owner[0], (owner_md.get("namespace"), owner_md["name"])))
        if md.get("namespace"):
            targets.append((NAMESPACES, (None, md["namespace"])))
        self.on_garbage(targets)
