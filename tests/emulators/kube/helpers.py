"""Small clients for the emulator tests: raw HTTP (exact content types, streaming watches), kubectl, polling."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs

T = TypeVar("T")
KUBECTL = "/usr/bin/kubectl"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


def wait_for(check: Callable[[], T | None], timeout: float = 5.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


@attrs.frozen
class Reply:
    status: int
    headers: Mapping[str, str]
    data: Any

    @property
    def reason(self) -> str | None:
        return self.data.get("reason") if isinstance(self.data, dict) else None


class Http:
    """Plain HTTP/1.1 to the emulator, one keep-alive connection."""

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        raw_body: bytes | None = None,
    ) -> Reply:
        payload = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": content_type} if payload is not None else {}
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        data = json.loads(text) if text else None
        return Reply(response.status, dict(response.getheaders()), data)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Reply:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Reply:
        return self.request("PUT", path, body)

    def patch(self, path: str, body: Any, content_type: str = MERGE) -> Reply:
        return self.request("PATCH", path, body, content_type)

    def delete(self, path: str, body: Any = None) -> Reply:
        return self.request("DELETE", path, body)

    def close(self) -> None:
        self.conn.close()


class Watch:
    """A streaming watch read line by line, with a deadline per event."""

    def __init__(self, url: str, path: str, **params: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port or 80, timeout=5)
        query = urllib.parse.urlencode({"watch": "true", **params})
        self.conn.request("GET", f"{path}?{query}")
        self.response = self.conn.getresponse()
        self.headers = dict(self.response.getheaders())

    def next(self, timeout: float = 3.0) -> dict[str, Any] | None:
        """The next event, or None when the server ended the stream."""
        sock = self.conn.sock
        if sock is not None:
            sock.settimeout(timeout)
        line = self.response.readline()
        return json.loads(line) if line.strip() else None

    def events(self, count: int, timeout: float = 3.0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for _ in range(count):
            event = self.next(timeout)
            assert event is not None, f"stream ended after {found}"
            found.append(event)
        return found

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@attrs.define
class Kubectl:
    """The real kubectl, with its own KUBECONFIG and discovery cache (the cache is keyed by host:port)."""

    kubeconfig: Path
    cache: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.cache)}

    def __call__(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, *args], input=stdin, capture_output=True, text=True, env=self.env(), timeout=30, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)


def schedule(name: str, namespace: str = "erp", labels: Mapping[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A minimal ErpSyncSchedule (the emulator does not validate schemas)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    return {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": metadata,
        "spec": {"erp": "Generic", "timeZone": "UTC", **spec},
    }


def owner_ref(owner: Mapping[str, Any], controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def cronjob(name: str, namespace: str = "erp", owners: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"app": "erp-sync"}}
    if owners:
        metadata["ownerReferences"] = [owner_ref(owner, controller=i == 0) for i, owner in enumerate(owners)]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata,
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {"restartPolicy": "Never", "containers": [{"name": "sync", "image": "worker:1"}]}
                    }
                }
            },
        },
    }


def configmap(name: str, namespace: str = "erp", labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
        "data": {"k": "v"},
    }


def iter_lines(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if line.strip())
