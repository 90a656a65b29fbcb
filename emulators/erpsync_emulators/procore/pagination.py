"""Procore-style pagination: `page`/`per_page` in, `Total`, `Per-Page` and `Link` out."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from .routing import ApiError, ApiResponse, RequestContext

Item = TypeVar("Item")


def paginate(ctx: RequestContext, items: Sequence[Item], present: Callable[[Item], dict[str, Any]]) -> ApiResponse:
    page = ctx.query.get("page", 1)
    requested_per_page = ctx.query.get("per_page", ctx.config.default_per_page)
    if page < 1 or requested_per_page < 1:
        raise ApiError(400, {"page" if page < 1 else "per_page": ["must be at least 1"]})
    # The server caps per_page silently, as Procore does: clients must follow Link, not compute pages.
    per_page = min(requested_per_page, ctx.config.max_per_page)
    last_page = max(1, math.ceil(len(items) / per_page))
    start = (page - 1) * per_page
    body = [present(item) for item in items[start : start + per_page]]
    links = {"first": 1, "prev": page - 1 if page > 1 else None, "next": page + 1 if page < last_page else None}
    links["last"] = last_page
    link_header = ", ".join(
        f'<{_page_url(ctx, number, per_page)}>; rel="{rel}"' for rel, number in links.items() if number is not None
    )
    headers = {"Total": str(len(items)), "Per-Page": str(per_page), "Link": link_header}
    return ApiResponse(200, body, headers)


def _page_url(ctx: RequestContext, page: int, per_page: int) -> str:
    kept = [(name, value) for name, value in ctx.raw_query if name not in ("page", "per_page")]
    query = urlencode([*kept, ("page", str(page)), ("per_page", str(per_page))])
    return f"{ctx.base_url}{ctx.path}?{query}"
