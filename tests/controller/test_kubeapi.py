"""The one Kubernetes client (controller/kubeapi.py) against a small aiohttp server: paths, selectors,
the server's error message, a second login on 401, and the annotation a SyncNowRefused Event carries."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import kopf
from aiohttp import web
from aiohttp.test_utils import TestServer

from erpsync.controller.events import Event, build_event
from erpsync.controller.kubeapi import EVENTS, JOBS, SCHEDULES, ApiError, KubeApi

Call = Callable[[KubeApi], Awaitable[Any]]


def _call(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], call: Call, tokens: list[str]) -> Any:
    """`call` on a KubeApi whose every login hands out the next of `tokens`."""

    async def run() -> Any:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        async with TestServer(app) as server:
            given = iter(tokens)

            async def login() -> kopf.ConnectionInfo:
                return kopf.ConnectionInfo(server=str(server.make_url("/")), token=next(given))

            api = KubeApi(login, user_agent="test-agent/1")
            try:
                return await call(api)
            finally:
                await api.close()

    return asyncio.run(run())


def test_lists_with_selectors_in_a_namespace_or_everywhere() -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(f"{request.path}?{request.query_string} {request.headers['User-Agent']}")
        return web.json_response({"items": [{"metadata": {"name": "x"}}]})

    async def call(api: KubeApi) -> Any:
        return [await api.list(JOBS, "ns", labelSelector="a=b"), await api.list(SCHEDULES, None)]

    assert _call(handler, call, ["t"]) == [[{"metadata": {"name": "x"}}]] * 2
    assert seen == [
        "/apis/batch/v1/namespaces/ns/jobs?labelSelector=a%3Db test-agent/1",
        "/apis/erpsync.io/v1alpha1/erpsyncschedules? test-agent/1",
    ]


def test_an_error_carries_the_servers_status_reason_and_message() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path.endswith("/gone"):
            return web.json_response(
                {"kind": "Status", "reason": "NotFound", "message": 'jobs "gone" not found'}, status=404
            )
        return web.Response(status=502, text="<html>bad gateway</html>")

    async def call(api: KubeApi) -> list[tuple[int, str, str]]:
        errors = []
        for name in ("gone", "proxied"):
            try:
                await api.get(JOBS, "ns", name)
            except ApiError as error:
                errors.append((error.status, error.reason, error.message))
        return errors

    assert _call(handler, call, ["t"]) == [
        (404, "NotFound", 'jobs "gone" not found'),
        (502, "Bad Gateway", "the API server answered 502: <html>bad gateway</html>"),
    ]


def test_a_401_logs_in_again_once() -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer fresh":
            return web.json_response({"reason": "Unauthorized", "message": "expired"}, status=401)
        return web.json_response({"metadata": {"name": "x"}})

    async def call(api: KubeApi) -> Any:
        return await api.get(JOBS, "ns", "x")

    assert _call(handler, call, ["expired", "fresh"]) == {"metadata": {"name": "x"}}


def test_a_watch_refused_401_logs_in_again_for_the_next_watch_and_concurrent_401s_log_in_once() -> None:
    """The watches (watches.follow) and requests share the client: a 401 to any of them logs in again once."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != "Bearer fresh":
            await asyncio.sleep(0.05)  # the concurrent calls all hold the expired token before any answer
            return web.json_response({"reason": "Unauthorized", "message": "expired"}, status=401)
        if request.query.get("watch") != "true":
            return web.json_response({"metadata": {"name": "x"}})
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b'{"type": "ADDED", "object": {"metadata": {"name": "j"}}}\n')
        return response

    async def call(api: KubeApi) -> list[Any]:
        async def watched() -> list[Any]:
            return [event["object"]["metadata"]["name"] async for event in api.watch(JOBS, "ns", "1", 5)]

        first = await asyncio.gather(watched(), watched(), return_exceptions=True)
        return [str(outcome) for outcome in first] + [await watched(), await api.get(JOBS, "ns", "x")]

    outcomes = _call(handler, call, ["expired", "fresh", "never asked for"])
    assert outcomes == [
        "401 Unauthorized: expired",  # both watches end; watches.follow starts the next ones
        "401 Unauthorized: expired",
        ["j"],  # the next watch, with the one new login (a second one would hand out a token refused)
        {"metadata": {"name": "x"}},
    ]


def test_a_refusal_event_carries_its_token_as_an_annotation() -> None:
    involved = {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": "s", "namespace": "n"},
    }
    now = datetime(2026, 1, 1, tzinfo=UTC)
    refusal = build_event(
        Event(involved, "Warning", "SyncNowRefused", "sync now t1: ...", {"erpsync.io/sync-now": "t1"}), now
    )
    assert refusal["metadata"]["annotations"] == {"erpsync.io/sync-now": "t1"}
    assert "annotations" not in build_event(Event(involved, "Normal", "SyncNowStarted", "started"), now)["metadata"]
    assert EVENTS.path("n") == "/api/v1/namespaces/n/events"
