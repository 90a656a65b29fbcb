"""The emulator's own HTTP endpoints under /_emulator/, for the demo and for out-of-process tests.

They are not Procore's: no token, no company header, no rate limit, and they are not logged.

    GET    /_emulator/health
    GET    /_emulator/faults            armed faults and the ones that fired
    POST   /_emulator/faults            arm one: {"method", "path", "response": "429"|"503"|"500"|"hang"|"drop",
                                        "times", "after_applying", "retry_after_seconds", "hang_seconds"}
    DELETE /_emulator/faults            disarm all
    GET    /_emulator/requests          request counts by method and route, by status, and the latest requests
    DELETE /_emulator/requests          forget them
    GET    /_emulator/state             record counts per resource
    GET    /_emulator/state/{resource}  every record of one resource (vendors, projects, contract_payments...)
    POST   /_emulator/seed              load a seed document (JSON)
    GET    /_emulator/config            the knobs
    PATCH  /_emulator/config            change knobs: {"spike_limit": 5, "ignore_commitment_origin_id_filter": true}
    POST   /_emulator/tokens/expire     make every issued token invalid (the next call gets 401)
    POST   /_emulator/erp_requests      a user's ERP action: {"company_id", "request_name", "request_data",
                                        "project_id", "user_id"}; 201 with the ERP Request
    POST   /_emulator/staged_records/{id}/approve   the accounting approver imports a staged vendor or project
    POST   /_emulator/webhooks/deliveries/{id}/redeliver   send a delivery again, same event id and ulid
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .faults import Fault
from .handlers.common import present
from .handlers.erp_requests import present_request
from .routing import ApiResponse
from .seed import SeedError
from .webhooks import present_delivery
from .wire import RawRequest, Reply, to_reply

if TYPE_CHECKING:
    from .app import ProcoreApp

ADMIN_PREFIX = "/_emulator/"


def _ok(body: Any, status: int = 200) -> Reply:
    return to_reply(ApiResponse(status, body))


def _problem(status: int, message: str) -> Reply:
    return to_reply(ApiResponse(status, {"errors": message}))


def _json_body(request: RawRequest) -> Any:
    return json.loads(request.body or b"{}", parse_float=Decimal)


def handle_admin(app: ProcoreApp, request: RawRequest, path: str) -> Reply:
    resource = path[len(ADMIN_PREFIX) :].strip("/")
    try:
        return _route(app, request.method, resource, request)
    except (ValueError, TypeError, SeedError) as problem:
        return _problem(400, str(problem))
    except KeyError as missing:
        return _problem(400, f"missing field {missing}")


def _route(app: ProcoreApp, method: str, resource: str, request: RawRequest) -> Reply:
    if resource == "health" and method == "GET":
        return _ok({"ok": True})
    if resource == "faults":
        if method == "GET":
            return _ok(
                {
                    "armed": [fault.to_json() for fault in app.faults.armed()],
                    "fired": [{**asdict(fired), "response": str(fired.response)} for fired in app.faults.fired()],
                }
            )
        if method == "POST":
            return _ok(app.faults.arm(Fault.from_json(_json_body(request))).to_json(), status=201)
        if method == "DELETE":
            app.faults.clear()
            return _ok({"cleared": True})
    if resource == "requests":
        if method == "GET":
            return _ok(app.request_log.snapshot())
        if method == "DELETE":
            app.request_log.clear()
            return _ok({"cleared": True})
    if resource == "state" and method == "GET":
        with app.lock:
            counts = {kind: len(table) for kind, table in app.state.tables().items()}
            return _ok({"companies": [asdict(company) for company in app.state.companies.values()], "counts": counts})
    if resource.startswith("state/") and method == "GET":
        kind = resource.removeprefix("state/")
        with app.lock:
            if kind not in app.state.tables():
                return _problem(404, f"unknown resource {kind}")
            table = app.state.table(kind)
            return _ok([present(record, (), company_id=record.company_id) for record in table])
    if resource == "seed" and method == "POST":
        app.seed.load(_json_body(request))
        return _ok({"seeded": True}, status=201)
    if resource == "config":
        if method == "PATCH":
            app.config.update(_json_body(request))
        if method in ("GET", "PATCH"):
            return _ok({name: value for name, value in asdict(app.config).items() if name != "clients"})
    if resource == "tokens/expire" and method == "POST":
        with app.lock:
            app.tokens.expire_all()
        return _ok({"expired": True})
    if method == "POST":
        erp_reply = _erp_action(app, resource, request)
        if erp_reply is not None:
            return erp_reply
    return _problem(404, f"no admin endpoint {method} {ADMIN_PREFIX}{resource}")


def _erp_action(app: ProcoreApp, resource: str, request: RawRequest) -> Reply | None:
    """The ERP Integrations tool's users: button presses, exports and timers; approvals; redelivery."""
    parts = resource.split("/")
    if resource == "erp_requests":
        document = dict(_json_body(request))
        unknown = set(document) - {"company_id", "request_name", "request_data", "project_id", "user_id"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        options = {name: document[name] for name in ("project_id", "user_id") if name in document}
        company_id, request_name = int(document["company_id"]), str(document["request_name"])
        erp_request = app.erp.raise_request(company_id, request_name, document.get("request_data"), **options)
        return _ok(present_request(erp_request), status=201)
    if len(parts) == 3 and parts[0] == "staged_records" and parts[2] == "approve":
        created, erp_request = app.erp.approve(int(parts[1]))
        item = present(created, (), company_id=created.company_id)
        return _ok({"item": item, "erp_request": present_request(erp_request)}, status=201)
    if len(parts) == 4 and parts[:2] == ["webhooks", "deliveries"] and parts[3] == "redeliver":
        return _ok(present_delivery(app.webhooks.redeliver(int(parts[2]))))
    return None
