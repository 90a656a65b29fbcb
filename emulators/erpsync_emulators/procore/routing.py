"""Routes, the context a handler gets, and the answers it gives."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import EmulatorConfig
from .state import Company, ProcoreState


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer; the body follows Procore's Rails style: {"errors": message or {field: [messages]}}."""

    def __init__(self, status: int, errors: str | dict[str, list[str]], **extra: Any) -> None:
        super().__init__(f"{status}: {errors}")
        self.response = ApiResponse(status, {"errors": errors, **extra})


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


@dataclass
class RequestContext:
    method: str
    path: str
    raw_query: list[tuple[str, str]]
    query: dict[str, Any]
    path_params: dict[str, Any]
    body: Any
    company: Company
    base_url: str
    state: ProcoreState
    config: EmulatorConfig
    now: float
    # The OAuth client that sent the request: Procore's "integration", which owns the origin_ids it writes.
    client_id: str = ""

    def body_object(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}


Handler = Callable[[RequestContext], ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation_id: str
    handler: Handler
    # ERP Integrations endpoints answer only for a company with an ERP connection.
    erp_only: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = _compile(self.template).fullmatch(path)
        return None if found is None else found.groupdict()


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compile(template: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(template)
    if pattern is None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        pattern = _PATTERNS[template] = re.compile(regex)
    return pattern


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._routes = routes

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def path_exists(self, path: str) -> bool:
        return any(_compile(route.template).fullmatch(path) for route in self._routes)
