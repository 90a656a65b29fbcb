"""The receiver's one read of Procore: an ERP Request's event ("Show ERP Request"), so a request starts one sync.

Procore's delivery names the request, not its event (reference §1.2), and the event decides the sync
(`EVENT_SYNCS`). One credential serves every company: a Developer Managed Service Account app installed in
each, with OAuth client credentials, as the worker uses (`PROCORE_LOGIN_URL`/oauth/token, form-encoded). The
company is the delivery's (`Procore-Company-Id`). The worker's client is another distribution, so this is a
small reader of its own, bounded in time (a deadline over every try), in memory (the answer read is capped)
and in tries (429 and 5xx tried again, Retry-After honoured up to a bound). A read that fails says why in
one line that never holds the secret or the token: the caller falls back to starting every sync on requests.
"""

import asyncio
import json
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

PRODUCTION_API_URL: Final = "https://api.procore.com"
PRODUCTION_LOGIN_URL: Final = "https://login.procore.com"
MAX_ANSWER_BYTES: Final = 1024 * 1024  # a request's request_data lists items; the event is all we need
TOKEN_RENEW_MARGIN: Final = 120.0  # seconds before expiry at which a token is renewed
DEFAULT_TOKEN_LIFETIME: Final = 900.0  # when the token answer has no expires_in


class InvalidProcoreSetting(ValueError):
    """A Procore setting of the receiver's environment is unusable; the message names it and what is allowed."""


class RequestNotRead(Exception):
    """The request's event could not be read; the message is the reason, without any secret."""


@dataclass(frozen=True)
class ProcoreCredential:
    """Where and as whom the receiver reads ERP Requests; the secret and id never show in repr."""

    api_url: str
    login_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    ca_bundle: Path | None = None


@dataclass(frozen=True)
class ReadLimits:
    attempts: int = 4  # tries of one call (the first and three more) on a 429, a 5xx, a timeout or no connection
    call_timeout: float = 10.0  # seconds for one HTTP call, connection included
    deadline: float = 30.0  # seconds for the whole read, every try and wait included: the dispatcher waits for it
    longest_wait: float = 10.0  # the longest Retry-After honoured; a longer one ends the read
    backoff: tuple[float, ...] = (0.5, 1.0, 2.0)  # waits between tries without Retry-After


def _url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip().rstrip("/") or default
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise InvalidProcoreSetting(f"{name}: {shown!r} is not allowed; allowed: an http:// or https:// URL")
    return value


def _secret(environ: Mapping[str, str], key: str, variable: str) -> str:
    """One half of the credential: the file `key` of PROCORE_CREDENTIALS_DIR (a mounted Secret), else `variable`."""
    directory = environ.get("PROCORE_CREDENTIALS_DIR", "").strip()
    if not directory:
        return environ.get(variable, "").strip()
    path = Path(directory) / key
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidProcoreSetting(
            f"PROCORE_CREDENTIALS_DIR: {path} cannot be read ({type(error).__name__}); "
            f"allowed: a folder with files client_id and client_secret"
        ) from None


def credential_from_environment(environ: Mapping[str, str] | None = None) -> ProcoreCredential | None:
    """The receiver's Procore credential, or None when none is configured (neither half given).

    The same variables as the worker: PROCORE_CREDENTIALS_DIR (files client_id, client_secret) or
    PROCORE_CLIENT_ID and PROCORE_CLIENT_SECRET; PROCORE_API_URL and PROCORE_LOGIN_URL (Procore's production
    hosts by default); PROCORE_CA_BUNDLE."""
    env = os.environ if environ is None else environ
    client_id = _secret(env, "client_id", "PROCORE_CLIENT_ID")
    client_secret = _secret(env, "client_secret", "PROCORE_CLIENT_SECRET")
    if not client_id and not client_secret:
        return None
    if not client_id or not client_secret:
        missing = "client_id" if not client_id else "client_secret"
        raise InvalidProcoreSetting(
            f"Procore credential: {missing} is empty; allowed: both client_id and client_secret "
            f"(PROCORE_CREDENTIALS_DIR or PROCORE_CLIENT_ID and PROCORE_CLIENT_SECRET), or neither"
        )
    ca_bundle = env.get("PROCORE_CA_BUNDLE", "").strip()
    if ca_bundle and not Path(ca_bundle).is_file():
        raise InvalidProcoreSetting(f"PROCORE_CA_BUNDLE: {ca_bundle!r} is not allowed; allowed: a readable file")
    return ProcoreCredential(
        api_url=_url(env, "PROCORE_API_URL", PRODUCTION_API_URL),
        login_url=_url(env, "PROCORE_LOGIN_URL", PRODUCTION_LOGIN_URL),
        client_id=client_id,
        client_secret=client_secret,
        ca_bundle=Path(ca_bundle) if ca_bundle else None,
    )


class _Retry(Exception):
    """A try that a later one may pass: its reason, and how long Procore asks to wait (None: not said)."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """How long Procore asks to wait: Retry-After, else (a 429 without it) until X-Rate-Limit-Reset (Unix seconds)."""
    try:
        return max(float(headers["Retry-After"]), 0.0)
    except (KeyError, ValueError):
        pass
    try:
        return max(float(headers["X-Rate-Limit-Reset"]) - time.time(), 0.0)
    except (KeyError, ValueError):
        return None


def _plain_retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After alone: after a 5xx, X-Rate-Limit-Reset tells the rate window, not when to try again."""
    return _retry_after({"Retry-After": headers["Retry-After"]}) if "Retry-After" in headers else None


class ProcoreRequests:
    """Reads ERP Requests' events with one credential; one token, reused until shortly before it expires."""

    def __init__(self, credential: ProcoreCredential, limits: ReadLimits = ReadLimits()) -> None:
        self.credential = credential
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._token_expires = 0.0

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            context = (
                ssl.create_default_context(cafile=str(self.credential.ca_bundle)) if self.credential.ca_bundle else None
            )
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=context if context is not None else True, limit=4),
                headers={"User-Agent": "erp-sync-webhooks"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def event_of(self, company_id: int, request_id: int) -> str:
        """The request's event (`request_name`); RequestNotRead with the reason when it cannot be read."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.deadline
        path = f"/rest/v1.0/companies/{company_id}/erp_requests/{request_id}"
        renewed = False
        for attempt in range(self.limits.attempts):
            try:
                token = await self._valid_token(deadline)
                headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company_id)}
                status, answer_headers, body = await self._call(
                    "GET", f"{self.credential.api_url}{path}", deadline, headers
                )
                if status == 401 and not renewed:  # a token Procore no longer takes: one new one, at once
                    renewed, self._token = True, None
                    continue
                if status == 429:
                    raise _Retry(f"GET {path}: HTTP 429", _retry_after(answer_headers))
                if status >= 500:
                    raise _Retry(f"GET {path}: HTTP {status}", _plain_retry_after(answer_headers))
                if status != 200:
                    raise RequestNotRead(f"GET {path}: HTTP {status}")
                return self._event(path, body, company_id)
            except _Retry as retry:
                reason = str(retry)
                if attempt + 1 == self.limits.attempts:
                    raise RequestNotRead(f"{reason} after {attempt + 1} tries") from None
                await self._pause(retry, attempt, deadline)
        raise RequestNotRead(f"GET {path}: HTTP 401 after {self.limits.attempts} tries")

    @staticmethod
    def _event(path: str, body: bytes, company_id: int) -> str:
        try:
            answer: Any = json.loads(body)
        except (ValueError, RecursionError):
            raise RequestNotRead(f"GET {path}: the answer is not JSON") from None
        name = answer.get("request_name") if isinstance(answer, dict) else None
        if not isinstance(name, str) or not name:
            raise RequestNotRead(f"GET {path}: the answer has no request_name")
        if answer.get("company_id", company_id) != company_id:
            raise RequestNotRead(f"GET {path}: the answer is of another company")
        return name

    async def _pause(self, retry: _Retry, attempt: int, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        if retry.wait is not None and retry.wait > self.limits.longest_wait:
            raise RequestNotRead(
                f"{retry}: Procore asks to wait {retry.wait:.0f} s, longer than {self.limits.longest_wait:.0f} s"
            )
        backoff = self.limits.backoff[min(attempt, len(self.limits.backoff) - 1)]
        delay = retry.wait if retry.wait is not None else backoff
        if loop.time() + delay >= deadline:
            raise RequestNotRead(f"{retry}; no time left to try again within {self.limits.deadline:.0f} s")
        await asyncio.sleep(delay)

    async def _valid_token(self, deadline: float) -> str:
        if self._token is not None and time.monotonic() < self._token_expires - TOKEN_RENEW_MARGIN:
            return self._token
        url = f"{self.credential.login_url}/oauth/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credential.client_id,
            "client_secret": self.credential.client_secret,
        }
        status, headers, body = await self._call("POST", url, deadline, {}, form)
        if status == 429:
            raise _Retry("token request: HTTP 429", _retry_after(headers))
        if status >= 500:
            raise _Retry(f"token request: HTTP {status}", _plain_retry_after(headers))
        if status != 200:
            raise RequestNotRead(f"token request refused: HTTP {status} (check the receiver's Procore credential)")
        try:
            answer = json.loads(body)
            token = str(answer["access_token"])
            lifetime = float(answer.get("expires_in", DEFAULT_TOKEN_LIFETIME))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise RequestNotRead("token request: the answer has no access_token") from None
        self._token, self._token_expires = token, time.monotonic() + lifetime
        return token

    async def _call(
        self, method: str, url: str, deadline: float, headers: dict[str, str], form: dict[str, str] | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP call within the call timeout and what is left of the deadline; its answer, capped."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise RequestNotRead(f"no answer within {self.limits.deadline:.0f} s")
        timeout = aiohttp.ClientTimeout(total=min(self.limits.call_timeout, remaining))
        where = urlsplit(url).path
        try:
            async with self._client().request(
                method,
                url,
                data=form,
                headers={"Accept": "application/json", **headers},
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise RequestNotRead(f"{method} {where}: the answer is over {MAX_ANSWER_BYTES} bytes")
                return response.status, response.headers, bytes(body)
        except TimeoutError:
            raise _Retry(f"{method} {where}: no answer within {timeout.total:.1f} s") from None
        except aiohttp.ClientError as error:
            raise _Retry(f"{method} {where}: {type(error).__name__}") from None
