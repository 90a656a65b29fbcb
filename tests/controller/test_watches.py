"""The operator's own watches: it resumes from the last version seen, lists again on 410 Gone, backs off on failures."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest

from erpsync.controller import watches
from erpsync.controller.kubeapi import CRONJOBS, SCHEDULES, ApiError, KubeApi

Script = list[list[dict[str, Any]] | Exception]


class ScriptedWatches:
    """Each watch call plays the next entry: its events, or the error it ends with after them."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def watch(
        self, resource: Any, namespace: str | None, version: str, seconds: int, **options: str
    ) -> AsyncIterator[dict[str, Any]]:
        self.calls.append((version, options))
        if not self.script:
            await asyncio.Event().wait()  # the last watch never ends: the test cancels it
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        for event in step:
            yield event


def _event(kind: str, name: str, version: str) -> dict[str, Any]:
    return {"type": kind, "object": {"metadata": {"namespace": "erp-sync", "name": name, "resourceVersion": version}}}


async def _follow(script: Script, relisted_version: str = "50") -> tuple[ScriptedWatches, list[str], int]:
    api = ScriptedWatches(script)
    seen: list[str] = []
    relists = 0

    async def relist() -> str:
        nonlocal relists
        relists += 1
        return relisted_version

    def on_event(kind: str, body: dict[str, Any]) -> None:
        seen.append(f"{kind} {body['metadata']['name']}")

    task = asyncio.create_task(
        watches.follow(
            cast(KubeApi, api),
            CRONJOBS,
            None,
            "10",
            "app.kubernetes.io/managed-by=erp-sync-operator",
            on_event,
            relist,
        )
    )
    while api.script or len(api.calls) == 0:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return api, seen, relists


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watches, "RETRY_DELAYS", (0.0,))


def test_a_watch_resumes_from_the_last_version_and_a_bookmark_moves_it_on() -> None:
    script: Script = [
        [_event("ADDED", "a", "11"), _event("BOOKMARK", "", "15")],  # the server ended the watch
        [_event("MODIFIED", "a", "16")],
    ]
    api, seen, relists = asyncio.run(_follow(script))
    assert seen == ["ADDED a", "MODIFIED a"]  # a bookmark is no event
    assert [version for version, _ in api.calls] == ["10", "15", "16"]
    assert api.calls[0][1] == {
        "allowWatchBookmarks": "true",
        "labelSelector": "app.kubernetes.io/managed-by=erp-sync-operator",
    }
    assert relists == 0


def test_gone_lists_again_and_a_failure_retries_from_the_same_version() -> None:
    script: Script = [
        [_event("ADDED", "a", "11")],
        ApiError(410, "Expired", "too old resource version: 11"),
        aiohttp.ClientConnectionError("dropped"),
        ApiError(500, "InternalError", "etcd"),
        [_event("DELETED", "a", "51")],
    ]
    api, seen, relists = asyncio.run(_follow(script))
    assert relists == 1
    assert [version for version, _ in api.calls] == ["10", "11", "50", "50", "50", "51"]
    assert seen == ["ADDED a", "DELETED a"]


def test_the_schedules_are_watched_without_a_selector() -> None:
    api = ScriptedWatches([])

    async def watch_once() -> None:
        task = asyncio.create_task(
            watches.follow(cast(KubeApi, api), SCHEDULES, "erp-sync", "7", "", lambda *_: None, _never_relisted)
        )
        while not api.calls:
            await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(watch_once())
    assert api.calls == [("7", {"allowWatchBookmarks": "true"})]


async def _never_relisted() -> str:
    raise AssertionError("no list again without 410 Gone")
