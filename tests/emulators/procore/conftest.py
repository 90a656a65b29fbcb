"""Fixtures for the Procore emulator tests: an emulator per test on a manual clock, and a tiny client."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from erpsync_emulators.procore import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    EmulatorConfig,
    ManualClock,
    ProcoreEmulator,
)

COMPANY_ID = 4_500_000_001
Query = list[tuple[str, str]] | dict[str, Any] | None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON (decimals as Decimal), or None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ProcoreClient:
    """Plain HTTP over http.client, so each test sees exactly what goes on the wire."""

    def __init__(self, base_url: str, token: str | None, company_id: int | None, timeout: float = 5.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.token = token
        self.company_id = company_id
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        query: Query = None,
        body: Any = None,
        *,
        raw_body: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        target = path + ("?" + urlencode(query) if query else "")
        sent_headers: dict[str, str] = {}
        if self.token is not None:
            sent_headers["Authorization"] = f"Bearer {self.token}"
        if self.company_id is not None:
            sent_headers["Procore-Company-Id"] = str(self.company_id)
        payload = raw_body if raw_body is not None else (None if body is None else json.dumps(body).encode())
        if payload is not None:
            sent_headers["Content-Type"] = content_type
        sent_headers.update(headers or {})
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, target, body=payload, headers=sent_headers)
            response = connection.getresponse()
            data = response.read()
            answer_headers = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        parsed = json.loads(data, parse_float=Decimal) if data else None
        return Answer(response.status, answer_headers, parsed)

    def get(self, path: str, query: Query = None) -> Answer:
        return self.call("GET", path, query)

    def patch(self, path: str, body: Any, query: Query = None) -> Answer:
        return self.call("PATCH", path, query, body)

    def post(self, path: str, body: Any, query: Query = None) -> Answer:
        return self.call("POST", path, query, body)


def request_token(emulator: ProcoreEmulator, **form: str) -> Answer:
    fields = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    fields.update(form)
    client = ProcoreClient(emulator.url, token=None, company_id=None)
    return client.call(
        "POST", "/oauth/token", raw_body=urlencode(fields).encode(), content_type="application/x-www-form-urlencoded"
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


EmulatorFactory = Callable[..., ProcoreEmulator]


@pytest.fixture
def make_emulator(clock: ManualClock) -> Iterator[EmulatorFactory]:
    """Start an emulator with config overrides and one company (COMPANY_ID); stopped after the test."""
    started: list[ProcoreEmulator] = []

    def make(**overrides: Any) -> ProcoreEmulator:
        emulator = ProcoreEmulator(EmulatorConfig(**overrides), clock=clock).start()
        started.append(emulator)
        emulator.seed.company("Acme Construction", id=COMPANY_ID)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: EmulatorFactory) -> ProcoreEmulator:
    return make_emulator()


@pytest.fixture
def client(emulator: ProcoreEmulator) -> ProcoreClient:
    return ProcoreClient(emulator.url, token=emulator.issue_token(), company_id=COMPANY_ID)
