"""The receiver's endpoint and workers against a stand-in API (the real one: tests/operator/test_webhooks.py):
authentication, answers before any API call, redeliveries, one request at a time per schedule, and the one
sync of a request's event read from the Procore emulator."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from erpsync.controller.kubeapi import KubeApi, Resource
from erpsync.receiver.procore_requests import ProcoreCredential, ProcoreRequests, ReadLimits
from erpsync.receiver.service import REGISTRY, Receiver, ReceiverConfig
from erpsync_emulators.procore import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, ProcoreEmulator
from tests.receiver.test_deliveries import BODY, _schedule

SECRET = "Bearer 0123456789abcdef-hook"
COMPANY = 562949953421312


class StandInApi(KubeApi):
    """One schedule in memory; its calls recorded; `gate` holds every call while cleared (a hung API server)."""

    def __init__(self, schedule: dict[str, Any]) -> None:
        super().__init__(self._no_login)
        self.schedule = schedule
        self.schedule["metadata"]["resourceVersion"] = "1"
        self.calls: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    @staticmethod
    async def _no_login() -> None:
        raise AssertionError("the stand-in never logs in")

    async def list(self, resource: Resource, namespace: str | None, **_: str) -> list[dict[str, Any]]:
        self.calls.append("list")
        await self.gate.wait()
        return [json.loads(json.dumps(self.schedule))]

    async def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any]:
        self.calls.append("get")
        await self.gate.wait()
        copied: dict[str, Any] = json.loads(json.dumps(self.schedule))
        return copied

    async def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: Any, subresource: str | None = None
    ) -> dict[str, Any]:
        self.calls.append("patch")
        meta = self.schedule["metadata"]
        assert patch["metadata"].pop("resourceVersion") == meta["resourceVersion"]
        meta.setdefault("annotations", {}).update(patch["metadata"]["annotations"])
        meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)
        return self.schedule

    def handle(self) -> None:
        """What the operator does with a pending token: echo it."""
        token = self.schedule["metadata"]["annotations"]["erpsync.io/sync-now"]
        self.schedule.setdefault("status", {})["lastHandledSyncNow"] = token


def _count(outcome: str, metric: str = "erpsync_webhook_deliveries_total") -> float:
    return REGISTRY.get_sample_value(metric, {"outcome": outcome}) or 0.0


def _run(
    api: StandInApi, test: Callable[[TestClient[Any, Any]], Awaitable[None]], procore_url: str | None = None
) -> None:
    async def main() -> None:
        requests = None
        if procore_url is not None:
            credential = ProcoreCredential(procore_url, procore_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            requests = ProcoreRequests(credential, ReadLimits(call_timeout=1.0, deadline=2.0, backoff=(0.01,)))
        config = ReceiverConfig(SECRET, (), pending_timeout=5, poll_interval=0.01)
        receiver = Receiver(config, api, requests)
        async with TestClient(TestServer(receiver.app("/procore/events"))) as client:
            await test(client)

    asyncio.run(main())


def _delivery(request_id: int) -> dict[str, Any]:
    return {**BODY, "company_id": COMPANY, "resource_id": request_id}


async def _until(check: Callable[[], bool]) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached in 5 s")


def test_a_forged_or_missing_authorization_is_401_counted_and_calls_nothing() -> None:
    api = StandInApi(_schedule())
    before = _count("unauthorized")

    async def test(client: TestClient[Any, Any]) -> None:
        for headers in ({}, {"Authorization": SECRET[:-1]}, {"Authorization": SECRET + "x"}, {"Authorization": ""}):
            answer = await client.post("/procore/events", json=_delivery(1), headers=headers)
            assert answer.status == 401 and SECRET not in await answer.text()
        await asyncio.sleep(0.1)

    _run(api, test)
    assert api.calls == [] and _count("unauthorized") == before + 4


def test_answers_before_any_api_call_and_five_deliveries_start_one_run() -> None:
    api = StandInApi(_schedule())
    api.gate.clear()  # the API server hangs
    before = _count("duplicate")

    async def test(client: TestClient[Any, Any]) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(5):
            started = loop.time()
            answer = await client.post("/procore/events", json=_delivery(77), headers={"Authorization": SECRET})
            assert answer.status in (200, 202) and loop.time() - started < 0.5
        assert "patch" not in api.calls
        api.gate.set()
        await _until(lambda: "patch" in api.calls)
        await asyncio.sleep(0.1)

    _run(api, test)
    assert api.calls.count("patch") == 1 and _count("duplicate") == before + 4
    assert api.schedule["metadata"]["annotations"] == {
        "erpsync.io/sync-now": "erp-request-77",
        "erpsync.io/sync-now-syncs": "vendors,jobCosts,invoicePayments",
    }


def test_a_request_waits_for_the_operator_to_handle_the_one_before_it() -> None:
    api = StandInApi(_schedule())

    def annotations() -> str | None:
        token: str | None = api.schedule["metadata"].get("annotations", {}).get("erpsync.io/sync-now")
        return token

    async def test(client: TestClient[Any, Any]) -> None:
        for request_id in (1, 2):
            await client.post("/procore/events", json=_delivery(request_id), headers={"Authorization": SECRET})
        await _until(lambda: annotations() == "erp-request-1")
        await asyncio.sleep(0.2)
        assert annotations() == "erp-request-1"  # request 2 waits: the operator has not handled request 1
        api.handle()
        await _until(lambda: annotations() == "erp-request-2")
        api.handle()
        # A late redelivery of request 1: recognised by this process without a call (after a restart, the
        # schedule no longer shows it, and the operator's Job names, from the token, make a second start a 409).
        calls = len(api.calls)
        await client.post("/procore/events", json=_delivery(1), headers={"Authorization": SECRET})
        await asyncio.sleep(0.1)
        assert len(api.calls) == calls

    _run(api, test)


def test_a_schedule_that_already_shows_the_request_is_not_written_again() -> None:
    schedule = _schedule()
    schedule["metadata"]["annotations"] = {"erpsync.io/sync-now": "erp-request-9"}
    schedule["status"] = {"lastHandledSyncNow": "erp-request-9"}
    api = StandInApi(schedule)  # as another replica, or this one before a restart, left it
    before = _count("duplicate", "erpsync_webhook_runs_total")

    async def test(client: TestClient[Any, Any]) -> None:
        await client.post("/procore/events", json=_delivery(9), headers={"Authorization": SECRET})
        await _until(lambda: _count("duplicate", "erpsync_webhook_runs_total") == before + 1)

    _run(api, test)
    assert "patch" not in api.calls


def test_a_bad_body_is_400_and_an_oversized_one_413() -> None:
    api = StandInApi(_schedule())
    before = _count("invalid")

    async def test(client: TestClient[Any, Any]) -> None:
        headers = {"Authorization": SECRET}
        assert (await client.post("/procore/events", data=b"{", headers=headers)).status == 400
        assert (await client.post("/procore/events", data=b" " * 70_000, headers=headers)).status == 413
        other = {**_delivery(3), "resource_name": "Projects"}
        assert (await client.post("/procore/events", json=other, headers=headers)).status == 200

    _run(api, test)
    assert _count("invalid") == before + 2 and api.calls == []


@pytest.fixture
def procore() -> Iterator[ProcoreEmulator]:
    with ProcoreEmulator() as emulator:
        emulator.seed.company("Acme Construction", id=COMPANY)
        yield emulator


def _started(api: StandInApi) -> str | None:
    syncs: str | None = api.schedule["metadata"].get("annotations", {}).get("erpsync.io/sync-now-syncs")
    return syncs


@pytest.mark.parametrize(("event", "sync"), [("sync_vendors", "vendors"), ("sync_jobs", "jobs")])
def test_a_request_read_from_procore_starts_its_one_sync(procore: ProcoreEmulator, event: str, sync: str) -> None:
    api = StandInApi(_schedule(syncs__jobs__runOn="ErpRequests", syncs__jobs__frequency=None))  # all four on requests
    request = procore.erp.raise_request(COMPANY, event)
    before = _count("read", "erpsync_webhook_request_reads_total")

    async def test(client: TestClient[Any, Any]) -> None:
        for _ in range(5):
            await client.post("/procore/events", json=_delivery(request.id), headers={"Authorization": SECRET})
        await _until(lambda: _started(api) is not None)
        await asyncio.sleep(0.1)

    _run(api, test, procore.url)
    assert _started(api) == sync and api.calls.count("patch") == 1
    assert procore.requests.count("GET", "/rest/v1.0/companies/{company_id}/erp_requests/{id}") == 1
    assert _count("read", "erpsync_webhook_request_reads_total") == before + 1


def test_a_request_of_no_sync_s_event_starts_nothing(procore: ProcoreEmulator) -> None:
    api = StandInApi(_schedule())
    request = procore.erp.raise_request(COMPANY, "create_budget")
    before = _count("ignored", "erpsync_webhook_runs_total")

    async def test(client: TestClient[Any, Any]) -> None:
        await client.post("/procore/events", json=_delivery(request.id), headers={"Authorization": SECRET})
        await _until(lambda: _count("ignored", "erpsync_webhook_runs_total") == before + 1)

    _run(api, test, procore.url)
    assert "patch" not in api.calls


def test_a_request_that_cannot_be_read_starts_every_sync_on_requests(
    procore: ProcoreEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    api = StandInApi(_schedule())
    before = _count("unresolved", "erpsync_webhook_request_reads_total")

    async def test(client: TestClient[Any, Any]) -> None:
        await client.post("/procore/events", json=_delivery(404404), headers={"Authorization": SECRET})
        await _until(lambda: _started(api) is not None)

    _run(api, test, procore.url)
    assert _started(api) == "vendors,jobCosts,invoicePayments"  # as without a credential
    assert _count("unresolved", "erpsync_webhook_request_reads_total") == before + 1
    (line,) = [r.getMessage() for r in caplog.records if "not read from Procore" in r.getMessage()]
    assert "ERP Request 404404 of company" in line and "HTTP 404" in line, line
    assert DEFAULT_CLIENT_SECRET not in caplog.text


def test_a_hung_procore_delays_no_answer(procore: ProcoreEmulator) -> None:
    api = StandInApi(_schedule())
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    procore.inject_fault("GET", "/rest/v1.0/companies/*/erp_requests/*", "hang", times=5, hang_seconds=3)

    async def test(client: TestClient[Any, Any]) -> None:
        loop = asyncio.get_running_loop()
        for request_id in (request.id, request.id + 1000):
            started = loop.time()
            answer = await client.post("/procore/events", json=_delivery(request_id), headers={"Authorization": SECRET})
            assert answer.status == 202 and loop.time() - started < 0.5
        await _until(lambda: _started(api) is not None)

    _run(api, test, procore.url)
