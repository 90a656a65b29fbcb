"""API errors rendered as Kubernetes `Status` objects.

Clients branch on `code` and `reason` (kopf on 404/409/410, kubectl on `AlreadyExists`/`NotFound`), so each
error here carries the reason a real API server would send, and a message worded the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import kmock


@attrs.frozen
class ApiError(kmock.KubernetesError):
    """A KMock error with Kubernetes `details` and, for 429, a Retry-After header."""

    headers: Mapping[str, str] | None = None

    def status_body(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message or "",
            "reason": self.reason or "",
            "details": self.details or {},
            "code": self.status,
        }


def _details(name: str | None, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"group": group, "kind": kind}
    if name:
        details["name"] = name
    details.update(extra)
    return details


def not_found(plural: str, group: str, name: str) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(
        status=404,
        reason="NotFound",
        message=f'{qualified} "{name}" not found',
        details=_details(name, group, plural),
    )


def resource_not_found() -> ApiError:
    return ApiError(status=404, reason="NotFound", message="the server could not find the requested resource")


def already_exists(plural: str, group: str, name: str) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(
        status=409,
        reason="AlreadyExists",
        message=f'{qualified} "{name}" already exists',
        details=_details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str | None = None) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        status=409,
        reason="Conflict",
        message=f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
        details=_details(name, group, plural),
    )


def invalid(kind: str, group: str, name: str, causes: Sequence[tuple[str, str]]) -> ApiError:
    qualified = f"{kind}.{group}" if group else kind
    text = "; ".join(f"{field}: {message}" for field, message in causes)
    if len(causes) > 1:
        text = f"[{', '.join(f'{field}: {message}' for field, message in causes)}]"
    return ApiError(
        status=422,
        reason="Invalid",
        message=f'{qualified} "{name}" is invalid: {text}',
        details=_details(
            name,
            group,
            kind,
            causes=[{"reason": "FieldValueInvalid", "message": message, "field": field} for field, message in causes],
        ),
    )


def bad_request(message: str) -> ApiError:
    return ApiError(status=400, reason="BadRequest", message=message)


def forbidden(message: str) -> ApiError:
    return ApiError(status=403, reason="Forbidden", message=message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(status=405, reason="MethodNotAllowed", message=message)


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(status=415, reason="UnsupportedMediaType", message=message)


def gone(since: int, oldest: int) -> ApiError:
    return ApiError(status=410, reason="Expired", message=f"too old resource version: {since} ({oldest})")


def internal(message: str) -> ApiError:
    return ApiError(status=500, reason="InternalError", message=message)


def injected(status: int, message: str, retry_after: int | None = None) -> ApiError:
    """An error asked for by a test (fault injection), with the reason a real server uses for that code."""
    reasons = {
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        410: "Expired",
        422: "Invalid",
        429: "TooManyRequests",
        500: "InternalError",
        503: "ServiceUnavailable",
        504: "Timeout",
    }
    details: dict[str, Any] = {}
    headers: dict[str, str] | None = None
    if retry_after is not None:
        details["retryAfterSeconds"] = retry_after
        headers = {"Retry-After": str(retry_after)}
    return ApiError(
        status=status,
        reason=reasons.get(status, "InternalError"),
        message=message,
        details=details,
        headers=headers,
    )
