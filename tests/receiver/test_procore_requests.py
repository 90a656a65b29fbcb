"""The receiver's read of an ERP Request's event, against the Procore emulator over loopback (and a small aiohttp
server for what the emulator does not do on cue): a read, retries of 429 and 5xx within bounds, the reasons
a read fails, and a credential from the environment that never shows its secret."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from erpsync.receiver.procore_requests import (
    MAX_ANSWER_BYTES,
    InvalidProcoreSetting,
    ProcoreCredential,
    ProcoreRequests,
    ReadLimits,
    RequestNotRead,
    credential_from_environment,
)
from erpsync_emulators.procore import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig, ProcoreEmulator

COMPANY = 4_500_000_001
REQUEST_PATH = "/rest/v1.0/companies/{company_id}/erp_requests/{id}"
FAST = ReadLimits(attempts=4, call_timeout=2.0, deadline=10.0, longest_wait=3.0, backoff=(0.01,))


@pytest.fixture
def procore() -> Iterator[ProcoreEmulator]:
    with ProcoreEmulator(EmulatorConfig(retry_after_on_429=True)) as emulator:
        emulator.seed.company("Acme Construction", id=COMPANY)
        yield emulator


def _credential(url: str, secret: str = DEFAULT_CLIENT_SECRET) -> ProcoreCredential:
    return ProcoreCredential(api_url=url, login_url=url, client_id=DEFAULT_CLIENT_ID, client_secret=secret)


def _read(credential: ProcoreCredential, *request_ids: int, limits: ReadLimits = FAST) -> list[str]:
    async def main() -> list[str]:
        reader = ProcoreRequests(credential, limits)
        try:
            return [await reader.event_of(COMPANY, request_id) for request_id in request_ids]
        finally:
            await reader.close()

    return asyncio.run(main())


def _refused(credential: ProcoreCredential, request_id: int, limits: ReadLimits = FAST) -> str:
    with pytest.raises(RequestNotRead) as refused:
        _read(credential, request_id, limits=limits)
    reason = str(refused.value)
    assert "\n" not in reason and credential.client_secret not in reason
    return reason


def test_reads_each_request_s_event_with_one_token(procore: ProcoreEmulator) -> None:
    vendors = procore.erp.raise_request(COMPANY, "sync_vendors")
    jobs = procore.erp.raise_request(COMPANY, "sync_jobs")
    assert _read(_credential(procore.url), vendors.id, jobs.id) == ["sync_vendors", "sync_jobs"]
    assert procore.requests.count("POST", "/oauth/token") == 1
    assert procore.requests.count("GET", REQUEST_PATH) == 2


def test_a_429_is_tried_again_after_retry_after(procore: ProcoreEmulator) -> None:
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    procore.inject_fault("GET", "/rest/v1.0/companies/*/erp_requests/*", "429", retry_after_seconds=1)
    started = time.monotonic()
    assert _read(_credential(procore.url), request.id) == ["sync_vendors"]
    assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured
    assert procore.requests.count("GET", REQUEST_PATH) == 2


def test_a_5xx_is_tried_a_bounded_number_of_times(procore: ProcoreEmulator) -> None:
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    procore.inject_fault("GET", "/rest/v1.0/companies/*/erp_requests/*", "500", times=10)
    reason = _refused(_credential(procore.url), request.id)
    assert reason.endswith("HTTP 500 after 4 tries"), reason
    assert procore.requests.count("GET", REQUEST_PATH) == 4


def test_a_retry_after_beyond_the_bound_ends_the_read_at_once(procore: ProcoreEmulator) -> None:
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    procore.inject_fault("GET", "/rest/v1.0/companies/*/erp_requests/*", "503", retry_after_seconds=60)
    started = time.monotonic()
    reason = _refused(_credential(procore.url), request.id)
    assert "asks to wait 60 s, longer than 3 s" in reason and time.monotonic() - started < 2.0
    assert procore.requests.count("GET", REQUEST_PATH) == 1


def test_an_unknown_request_is_not_read_and_not_tried_again(procore: ProcoreEmulator) -> None:
    reason = _refused(_credential(procore.url), 987654321)
    assert reason == f"GET /rest/v1.0/companies/{COMPANY}/erp_requests/987654321: HTTP 404"
    assert procore.requests.count("GET", REQUEST_PATH) == 1


def test_a_refused_credential_says_so_without_the_secret(procore: ProcoreEmulator) -> None:
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    reason = _refused(_credential(procore.url, secret="not-the-secret-0123456789"), request.id)
    assert reason.startswith("token request refused: HTTP 401"), reason
    assert procore.requests.count("GET", REQUEST_PATH) == 0


def test_a_hung_procore_ends_the_read_within_the_deadline(procore: ProcoreEmulator) -> None:
    request = procore.erp.raise_request(COMPANY, "sync_vendors")
    procore.inject_fault("GET", "/rest/v1.0/companies/*/erp_requests/*", "hang", times=10, hang_seconds=5)
    limits = ReadLimits(attempts=4, call_timeout=0.4, deadline=1.0, longest_wait=3.0, backoff=(0.05,))
    started = time.monotonic()
    reason = _refused(_credential(procore.url), request.id, limits)
    took = time.monotonic() - started
    assert "no answer within" in reason and took < 1.8, (reason, took)


def test_procore_down_is_a_reason_not_an_exception() -> None:
    with ProcoreEmulator() as emulator:
        url = emulator.url  # a port nothing listens on once the emulator has stopped
    reason = _refused(_credential(url), 1)
    assert reason.startswith("POST /oauth/token: ClientConnectorError after 4 tries"), reason


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            b'{"request_name": "sync_vendors", "request_data": "' + b"x" * MAX_ANSWER_BYTES + b'"}',
            "the answer is over 1048576 bytes",
        ),
        (b"[" * 100_000, "the answer is not JSON"),
        (b'{"request_data": {}}', "the answer has no request_name"),
        (b'{"request_name": "sync_vendors", "company_id": 8}', "the answer is of another company"),
    ],
)
def test_an_answer_that_is_not_a_request_is_a_reason(answer: bytes, reason: str) -> None:
    """What the emulator never answers, from a small server: too big, too deep, or not the request asked for."""

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "t0ken-never-logged", "expires_in": 3600})

    async def request(_: web.Request) -> web.Response:
        return web.Response(body=answer, content_type="application/json")

    async def main() -> str:
        app = web.Application()
        app.router.add_post("/oauth/token", token)
        app.router.add_get("/rest/v1.0/companies/{company}/erp_requests/{id}", request)
        async with TestServer(app) as server:
            reader = ProcoreRequests(_credential(str(server.make_url("")).rstrip("/")), FAST)
            try:
                await reader.event_of(COMPANY, 5)
            except RequestNotRead as error:
                return str(error)
            finally:
                await reader.close()
        raise AssertionError("an answer that is not a request was read")

    assert asyncio.run(main()) == f"GET /rest/v1.0/companies/{COMPANY}/erp_requests/5: {reason}"


def test_the_credential_from_the_environment(tmp_path: Path) -> None:
    assert credential_from_environment({}) is None
    given = credential_from_environment({"PROCORE_CLIENT_ID": "id-1", "PROCORE_CLIENT_SECRET": "s3cret-value"})
    assert given is not None and (given.api_url, given.login_url) == (
        "https://api.procore.com",
        "https://login.procore.com",
    )
    assert "s3cret-value" not in repr(given) and "id-1" not in repr(given)
    (tmp_path / "client_id").write_text("id-2\n")
    (tmp_path / "client_secret").write_text("s3cret-file\n")
    from_files = credential_from_environment(
        {"PROCORE_CREDENTIALS_DIR": str(tmp_path), "PROCORE_API_URL": "http://127.0.0.1:9/", "PROCORE_CLIENT_ID": "x"}
    )
    assert from_files is not None
    assert (from_files.client_id, from_files.client_secret, from_files.api_url) == (
        "id-2",
        "s3cret-file",
        "http://127.0.0.1:9",
    )


@pytest.mark.parametrize(
    ("environment", "words"),
    [
        ({"PROCORE_CLIENT_ID": "id-1"}, "client_secret is empty; allowed: both client_id and client_secret"),
        ({"PROCORE_CLIENT_SECRET": "s3cret-value"}, "client_id is empty"),
        (
            {"PROCORE_CLIENT_ID": "i", "PROCORE_CLIENT_SECRET": "s3cret-value", "PROCORE_API_URL": "api.procore.com"},
            "PROCORE_API_URL: 'api.procore.com' is not allowed; allowed: an http:// or https:// URL",
        ),
        ({"PROCORE_CREDENTIALS_DIR": "/nonexistent"}, "PROCORE_CREDENTIALS_DIR: /nonexistent/client_id cannot be"),
        (
            {"PROCORE_CLIENT_ID": "i", "PROCORE_CLIENT_SECRET": "s3cret-value", "PROCORE_CA_BUNDLE": "/nonexistent"},
            "PROCORE_CA_BUNDLE: '/nonexistent' is not allowed",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(environment: dict[str, str], words: str) -> None:
    with pytest.raises(InvalidProcoreSetting) as refused:
        credential_from_environment(environment)
    message = str(refused.value)
    assert words in message and "\n" not in message and "s3cret-value" not in message, message
