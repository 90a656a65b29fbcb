"""Parsing request paths into resource, namespace, name and subresource.

KMock 0.8's own parser fails on the Namespace resource itself: `/api/v1/namespaces` raises (HTTP 500) and
`/api/v1/namespaces/NAME` is read as "namespace NAME, no resource". kopf started with `-n NS` waits forever
for that Namespace, so the emulator parses paths itself and builds the `kmock.Request` from the result.
"""

from __future__ import annotations

import attrs
import kmock

# Subresources of a Namespace; any other third segment after /namespaces/NAME/ is a namespaced collection.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@attrs.frozen
class ParsedPath:
    group: str | None = None  # None: not a resource path (discovery, /version, ...)
    version: str | None = None
    plural: str | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_path(path: str) -> ParsedPath:
    parts = [part for part in path.strip("/").split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    elif len(parts) == 2 and parts[0] == "apis":
        return ParsedPath(group=parts[1])
    else:
        return ParsedPath()

    namespace: str | None = None
    # /api/v1/namespaces[/NAME[/status|finalize]] addresses Namespaces themselves.
    is_namespace = len(rest) <= 2 or (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    if rest and rest[0] == "namespaces" and group == "" and is_namespace:
        name = rest[1] if len(rest) > 1 else None
        return ParsedPath(group, version, "namespaces", None, name, rest[2] if len(rest) > 2 else None)
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    plural = rest[0] if rest else None
    name = rest[1] if len(rest) > 1 else None
    subresource = "/".join(rest[2:]) or None
    return ParsedPath(group, version, plural, namespace, name, subresource)


def guess_action(parsed: ParsedPath, method: str, watch: bool) -> kmock.action | None:
    """The KMock action, so that KMock-style reactions (`emulator[kmock.action.LIST] << ...`) still match."""
    if parsed.plural is None:
        return None  # discovery: served by KMock's discovery routes
    if method == "GET":
        return kmock.action.WATCH if watch else kmock.action.FETCH if parsed.name else kmock.action.LIST
    if parsed.name is None:
        return kmock.action.CREATE if method == "POST" else None
    return {"PATCH": kmock.action.UPDATE, "DELETE": kmock.action.DELETE}.get(method)
