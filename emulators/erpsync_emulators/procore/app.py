"""The request pipeline, independent of the HTTP plumbing.

Order for an API request: count it against the rate limit (every request counts), answer 429 when
over; fire an armed fault; check the bearer token (401), the Procore-Company-Id header (400) and
its company (403); find the route (404); refuse an ERP-only route for a company without an ERP
connection (403); check parameters and body against the operation schema
(400); run the handler. With an "after applying" fault the handler runs and its answer is replaced.
"""

from __future__ import annotations

import json
import logging
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .admin import ADMIN_PREFIX, handle_admin
from .auth import TOKEN_PATH, TokenStore, token_request, unauthorized
from .clock import Clock
from .config import EmulatorConfig
from .erp_actions import ErpActions
from .faults import Fault, FaultInjector, FaultResponse
from .handlers import ROUTES
from .rate_limit import RateLimiter, RateLimitStatus
from .request_log import UNMATCHED_ROUTE, LoggedRequest, RequestLog
from .routing import ApiError, ApiResponse, RequestContext, Router
from .schema import SchemaViolation, load_operation
from .seed import Seeder
from .state import ProcoreState
from .webhooks import WebhookDispatcher
from .wire import Drop, Hang, Outcome, RawRequest, Reply, to_reply

log = logging.getLogger(__name__)

COMPANY_HEADER = "procore-company-id"
MISSING_COMPANY_HEADER = "Missing Procore-Company-Id header!"
# Procore does not document how it refuses an ERP call for a company without ERP Integrations;
# the emulator's choice (docs/procore-emulator.md): 403 with this message.
ERP_NOT_ENABLED = "ERP Integrations is not enabled for this company"


class ProcoreApp:
    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.state = ProcoreState()
        self.tokens = TokenStore(config, clock)
        self.rate_limiter = RateLimiter(config)
        self.faults = FaultInjector()
        self.request_log = RequestLog(config.request_log_size)
        self.router = Router(ROUTES)
        # One lock serialises every request's work on the state: simple, and fast enough for tests.
        self.lock = threading.RLock()
        self.seed = Seeder(self.state, config, clock.now, self.lock)
        self.webhooks = WebhookDispatcher(self.state, config, clock, self.lock)
        self.erp = ErpActions(self.state, clock, self.lock, self.webhooks)

    def handle(self, request: RawRequest, host: str) -> Outcome:
        parts = urlsplit(request.target)
        path = parts.path
        if path.startswith(ADMIN_PREFIX):
            return handle_admin(self, request, path)
        route_name = self._route_name(request.method, path)
        with self.lock:
            now = self.clock.now()
            outcome = self._process(request, path, parts.query, host, now)
        status = outcome.status if isinstance(outcome, Reply) else 0
        self.request_log.record(LoggedRequest(now, request.method, path, route_name, status))
        return outcome

    def _process(self, request: RawRequest, path: str, query: str, host: str, now: float) -> Outcome:
        # The token endpoint lives on Procore's login host, outside the API's rate limit.
        limit = None if path == TOKEN_PATH else self.rate_limiter.record(self._bucket(request), now)
        if limit is not None and not limit.allowed:
            return self._rate_limited(limit)
        fault = self.faults.take(request.method, path)
        if fault is not None and not fault.after_applying:
            return self._fault_outcome(fault, limit, now)
        try:
            response = self._dispatch(request, path, query, host, now)
        except ApiError as error:
            response = error.response
        except Exception:  # an emulator bug must show as a 500, not a dropped connection
            log.exception("emulator error on %s %s", request.method, request.target)
            response = ApiResponse(500, {"errors": "emulator internal error"})
        if fault is not None:
            return self._fault_outcome(fault, limit, now)
        if limit is not None:
            response.headers.update(limit.headers())
        return to_reply(response)

    def _route_name(self, method: str, path: str) -> str:
        """The request log's key: a route template keeps the number of keys bounded."""
        if path == TOKEN_PATH:
            return TOKEN_PATH
        matched = self.router.match(method, path)
        return matched[0].template if matched else UNMATCHED_ROUTE

    @staticmethod
    def _bucket(request: RawRequest) -> str:
        return request.headers.get(COMPANY_HEADER, "").strip()

    def _rate_limited(self, limit: RateLimitStatus) -> Reply:
        headers = limit.headers()
        if self.config.retry_after_on_429:
            headers["Retry-After"] = str(max(0, limit.reset_at - int(self.clock.now())))
        body = {"errors": "You have surpassed the max number of requests. Please wait until your limit resets."}
        return to_reply(ApiResponse(429, body, headers))

    def _fault_outcome(self, fault: Fault, limit: RateLimitStatus | None, now: float) -> Outcome:
        if fault.response is FaultResponse.HANG:
            return Hang(fault.hang_seconds)
        if fault.response is FaultResponse.DROP_CONNECTION:
            return Drop()
        headers = limit.headers() if limit is not None else {}
        if fault.response is FaultResponse.TOO_MANY_REQUESTS:
            reset_at = int(now) + fault.retry_after_seconds
            headers.update({"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(reset_at)})
            if self.config.retry_after_on_429:
                headers["Retry-After"] = str(fault.retry_after_seconds)
            return to_reply(ApiResponse(429, {"errors": "Too many requests (injected)"}, headers))
        if fault.response is FaultResponse.SERVICE_UNAVAILABLE:
            headers["Retry-After"] = str(fault.retry_after_seconds)
            return to_reply(ApiResponse(503, {"errors": "Service unavailable (injected)"}, headers))
        return to_reply(ApiResponse(500, {"errors": "Internal server error (injected)"}, headers))

    def _dispatch(self, request: RawRequest, path: str, query: str, host: str, now: float) -> ApiResponse:
        if path == TOKEN_PATH:
            if request.method != "POST":
                raise ApiError(405, "Use POST for /oauth/token")
            return token_request(request.headers.get("content-type", ""), request.body, self.config, self.tokens)
        problem = self.tokens.problem_with(request.headers.get("authorization"))
        if problem is not None:
            return unauthorized(problem)
        company_header = request.headers.get(COMPANY_HEADER, "").strip()
        if not company_header:
            raise ApiError(400, MISSING_COMPANY_HEADER)
        company = self.state.companies.get(int(company_header)) if company_header.isdigit() else None
        if company is None:
            raise ApiError(403, "App is not connected to this company")
        matched = self.router.match(request.method, path)
        if matched is None:
            if self.router.path_exists(path):
                raise ApiError(405, f"{request.method} is not served on {path}")
            raise ApiError(404, f"No route matches {request.method} {path}")
        route, raw_path_params = matched
        if route.erp_only and company.erp_connection is None:
            raise ApiError(403, ERP_NOT_ENABLED)
        schema = load_operation(route.operation_id)
        raw_query = parse_qsl(query, keep_blank_values=True)
        try:
            path_params = schema.parse_path(raw_path_params)
            parsed_query = schema.parse_query(raw_query)
            body = self._parse_body(request, schema.body_schema is not None, schema.body_required)
            if body is not None or schema.body_required:
                schema.check_body(body)
        except SchemaViolation as violation:
            raise ApiError(
                400, violation.errors, message=f"The request does not match the schema of {violation.operation_id}"
            ) from violation
        context = RequestContext(
            method=request.method,
            path=path,
            raw_query=raw_query,
            query=parsed_query,
            path_params=path_params,
            body=body,
            company=company,
            base_url=f"http://{host}",
            state=self.state,
            config=self.config,
            now=now,
            client_id=self.tokens.client_of(request.headers.get("authorization", "")),
        )
        return route.handler(context)

    @staticmethod
    def _parse_body(request: RawRequest, takes_body: bool, required: bool) -> Any:
        if not request.body:
            if required:
                raise ApiError(400, {"(body)": ["a JSON body is required"]})
            return None
        if not takes_body:
            raise ApiError(400, {"(body)": ["this operation takes no body"]})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ApiError(400, {"(body)": [f"must be application/json, not {content_type or 'unspecified'}"]})
        try:
            # Decimal, not float: money must survive the round trip exactly.
            return json.loads(request.body, parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as problem:
            raise ApiError(400, {"(body)": [f"is not valid JSON: {problem}"]}) from problem
