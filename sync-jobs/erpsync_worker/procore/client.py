"""One client for all of Procore: OAuth, company header, throttling, retries, pagination, /sync.

- OAuth 2 client credentials (form-encoded, as OAuth 2 specifies); the token is reused until
  shortly before `expires_in` and renewed once on a 401.
- `Procore-Company-Id` on every call; the token is only ever sent to the API host.
- Throttling by `X-Rate-Limit-*`; on 429 wait for the reset (or Retry-After), on 503 for
  Retry-After; 5xx and timeouts are retried with bounded exponential backoff and jitter, but only
  for requests that are safe to repeat (GETs and /sync upserts keyed by origin_id). A POST is
  never repeated here: its caller looks for the record first.
- Pagination follows `Link: rel="next"` by its path and query on the configured API host, as
  Procore's Ruby SDK does (the host in the header is never trusted with the token); a page answered
  408 (too slow to build) is asked again at half the size, down to MIN_PER_PAGE. /sync calls go in
  batches and their per-item errors (in an HTTP 200) are returned to the caller.
"""

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from erpsync_worker.config import WorkerConfig
from erpsync_worker.procore.throttle import Throttle

logger = logging.getLogger("erpsync_worker.procore")

TOKEN_RENEW_MARGIN: Final = 120.0  # seconds before expiry at which a token is renewed
MAX_ATTEMPTS: Final = 6
BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 30.0
PER_PAGE: Final = 1000
MIN_PER_PAGE: Final = 50  # a 408 halves the page size down to this, then fails the read
_LINK: Final = re.compile(r'<([^>]+)>\s*;\s*rel="?([a-z]+)"?')


class ProcoreError(Exception):
    """A request Procore refused or that could not be completed."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AmbiguousWrite(ProcoreError):
    """A write whose outcome is unknown (timeout or 5xx): look before writing again."""


@dataclass
class SyncAnswer:
    entities: list[dict[str, Any]]
    errors: list[dict[str, Any]]


@dataclass
class ProcoreClient:
    config: WorkerConfig
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random  # in [0, 1); tests inject a fixed one
    timeout: float = 30.0
    attempts: int = MAX_ATTEMPTS
    patience: float | None = None  # the longest single wait accepted (check); None: any
    http: httpx.Client | None = None
    requests: int = 0
    _token: str | None = field(default=None, repr=False)
    _token_expires: float = 0.0
    throttle: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.clock, self._pause, self.jitter)
        if self.http is None:
            verify: str | bool = str(self.config.ca_bundle) if self.config.ca_bundle else True
            self.http = httpx.Client(timeout=self.timeout, verify=verify, follow_redirects=False)
        self._api_host = urlsplit(self.config.api_url).netloc

    def close(self) -> None:
        assert self.http is not None
        self.http.close()

    def _pause(self, seconds: float) -> None:
        if self.patience is not None and seconds > self.patience:
            raise ProcoreError(
                f"Procore asks to wait {seconds:.0f} s (rate limit or retry), longer than {self.patience:.0f} s"
            )
        self.sleep(seconds)

    # --- authentication -----------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None or self.clock() >= self._token_expires - TOKEN_RENEW_MARGIN:
            self._fetch_token()
        assert self._token is not None
        return self._token

    def _fetch_token(self) -> None:
        """Client credentials, retried like an API read (asking for a token is safe to repeat): a
        timeout, a 429 or a 5xx is retried with backoff (or after Retry-After); a 4xx is final."""
        assert self.http is not None
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            try:
                response = self.http.post(
                    f"{self.config.login_url}/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.config.client_id.value,
                        "client_secret": self.config.client_secret.value,
                    },
                )
            except (httpx.TimeoutException, httpx.TransportError) as error:
                if attempt == self.attempts:
                    raise ProcoreError(
                        f"token request to {self.config.login_url} failed: {type(error).__name__} after {attempt} tries"
                    ) from error
                self._backoff(attempt)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt == self.attempts:
                    raise ProcoreError(f"token request refused: HTTP {status} after {attempt} tries", status)
                retry_after = _retry_after(response)
                if retry_after is not None:
                    self.throttle.slept += min(retry_after, BACKOFF_CAP)
                    self._pause(min(retry_after, BACKOFF_CAP))
                else:
                    self._backoff(attempt)
                continue
            if status != 200:
                raise ProcoreError(f"token request refused: HTTP {status} {_short(response)}", status)
            try:
                answer = response.json()
                self._token = str(answer["access_token"])
                self._token_expires = self.clock() + float(answer.get("expires_in", 900))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise ProcoreError("token request: the answer has no access_token") from error
            return
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    # --- requests ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json: object = None,
        repeatable: bool,
    ) -> httpx.Response:
        """One API call with throttling and retries; `repeatable` says whether it is safe to resend."""
        assert self.http is not None
        url = path_or_url if path_or_url.startswith("http") else f"{self.config.api_url}{path_or_url}"
        if urlsplit(url).netloc != self._api_host:
            raise ProcoreError(f"refusing to send the token to another host: {urlsplit(url).netloc}")
        renewed = False
        for attempt in range(1, self.attempts + 1):
            self.throttle.before_request()
            headers = {"Authorization": f"Bearer {self.token()}", "Procore-Company-Id": str(self.config.company_id)}
            self.requests += 1
            try:
                response = self.http.request(method, url, params=params, json=json, headers=headers)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                if not repeatable:
                    raise AmbiguousWrite(f"{method} {_path(url)}: {type(error).__name__}; outcome unknown") from error
                if attempt == self.attempts:
                    raise ProcoreError(
                        f"{method} {_path(url)}: {type(error).__name__} after {attempt} tries"
                    ) from error
                self._backoff(attempt)
                continue
            self.throttle.observe(response.headers)
            status = response.status_code
            if status == 401 and not renewed:
                renewed = True
                self._token = None
                continue
            if status == 429:
                self.throttle.wait_until_reset(_retry_after(response))
                continue
            if status == 503 or status >= 500:
                if not repeatable:
                    raise AmbiguousWrite(f"{method} {_path(url)}: HTTP {status}; outcome unknown", status)
                if attempt == self.attempts:
                    raise ProcoreError(f"{method} {_path(url)}: HTTP {status} after {attempt} tries", status)
                retry_after = _retry_after(response)
                if status == 503 and retry_after is not None:
                    self._pause(retry_after)
                else:
                    self._backoff(attempt)
                continue
            if status >= 400:
                raise ProcoreError(f"{method} {_path(url)}: HTTP {status} {_short(response)}", status)
            return response
        raise ProcoreError(f"{method} {_path(url)}: gave up after {self.attempts} tries")

    def _backoff(self, attempt: int) -> None:
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        self._pause(delay / 2 + self.jitter() * delay / 2)  # jitter spreads retries

    def get_all(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paginated list, page after page, following `Link: rel="next"`.

        A 408 asks the page again at half the size, from the first item not yet read: the pages
        read so far were full (a short page has no next), so that item's position is known."""
        url = path
        per_page = PER_PAGE
        query: dict[str, Any] | None = {**(params or {}), "per_page": per_page}
        read = 0
        skip = 0  # items of this page already read before the page size changed
        while True:
            try:
                response = self.request("GET", url, params=query, repeatable=True)
            except ProcoreError as error:
                if error.status != 408 or per_page <= MIN_PER_PAGE:
                    raise
                per_page = max(MIN_PER_PAGE, per_page // 2)
                logger.info("GET %s: 408 at %d items read; asking pages of %d", path, read, per_page)
                url, query, skip = (
                    path,
                    {**(params or {}), "per_page": per_page, "page": read // per_page + 1},
                    read % per_page,
                )
                continue
            items = response.json()
            if not isinstance(items, list):
                raise ProcoreError(f"GET {_path(url)}: expected a list, got {type(items).__name__}")
            read += len(items) - skip
            yield from items[skip:]
            skip = 0
            served = response.headers.get("Per-Page", "")
            per_page = int(served) if served.isdigit() and int(served) > 0 else per_page
            link = _next_link(response.headers.get("Link", ""))
            if link is None:
                return
            url, query = self._on_api_host(link), None  # the next link carries the query

    def _on_api_host(self, link: str) -> str:
        """A `Link` URL's path and query on the configured API host, as Procore's Ruby SDK does: the
        header's host may be any (a proxy, a region) and is never sent the token."""
        parts = urlsplit(link)
        start = parts.path.find("/rest/")
        path = parts.path[start:] if start >= 0 else parts.path
        return f"{self.config.api_url}{path}" + (f"?{parts.query}" if parts.query else "")

    def sync(
        self,
        path: str,
        items: Sequence[dict[str, Any]],
        batch_size: int,
        envelope: Callable[[list[dict[str, Any]]], dict[str, Any]],
        params: dict[str, Any] | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], SyncAnswer]]:
        """PATCH a /sync endpoint in batches; yields each batch with Procore's answer."""
        for start in range(0, len(items), batch_size):
            batch = list(items[start : start + batch_size])
            response = self.request("PATCH", path, params=params, json=envelope(batch), repeatable=True)
            answer = response.json()
            if not isinstance(answer, dict):
                raise ProcoreError(f"PATCH {path}: expected an object with entities and errors")
            yield batch, SyncAnswer(list(answer.get("entities") or []), list(answer.get("errors") or []))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A create; never repeated here (AmbiguousWrite tells the caller to look first)."""
        answer = self.request("POST", path, json=body, repeatable=False).json()
        return answer if isinstance(answer, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _next_link(header: str) -> str | None:
    for match in _LINK.finditer(header):
        if match.group(2) == "next":
            return match.group(1)
    return None


def _path(url: str) -> str:
    return urlsplit(url).path


def _short(response: httpx.Response) -> str:
    return response.text[:200].replace("\n", " ")
