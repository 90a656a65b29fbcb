"""Procore's ERP Requests in ErpConnector mode: the requests a run handles, and closing their details.

A run started by an ERP Request (ERPSYNC_ERP_REQUEST_ID) handles that request; a scheduled run
handles the open requests of its sync. Exactly once across a crash rests on Procore, not on local
state: a request whose detail is no longer open was closed by an earlier run and is not closed
again, and a close answered 422 "already closed" (an earlier attempt that went through) counts as
closed. Requests without a detail (`create_*_in_procore`, `sync_single_job`) need nothing closed.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from erpsync_worker.procore.client import ProcoreClient, ProcoreError

logger = logging.getLogger("erpsync_worker")

# The events of Procore's events dictionary each sync answers; the first of each is a refresh button's.
REQUEST_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "vendors": ("sync_vendors", "create_vendor_in_procore"),
    "jobs": ("sync_jobs", "create_job_in_procore"),
    "job-costs": ("sync_standard_cost_codes", "sync_single_job"),
    "invoice-payments": ("sync_contract_payments",),
}
MAX_MESSAGES: Final = 20  # a detail's messages are shown in the ERP tab: the first ones say enough


@dataclass(frozen=True)
class ErpRequest:
    id: int
    name: str
    detail_ids: tuple[int, ...]


class ForAnotherSync(Exception):
    """The request a run was started for is another sync's. The webhook receiver reads each request's event
    and starts its one sync; without a Procore credential, or when that read fails, it starts every sync that
    runs on ERP Requests (a delivery names the request, not its event), and all but one end here."""


def _detail_ids(request: dict[str, Any]) -> tuple[int, ...]:
    """`request_detail_id` has no fixed place: in request_data, at the root, or on each list element."""
    data = request.get("request_data")
    places: list[object] = [request, data]
    if isinstance(data, dict):
        places += [item for value in data.values() if isinstance(value, list) for item in value]
    elif isinstance(data, list):
        places += data
    found = (place.get("request_detail_id") for place in places if isinstance(place, dict))
    return tuple(dict.fromkeys(int(value) for value in found if isinstance(value, int)))


def _parse(request: dict[str, Any]) -> ErpRequest:
    return ErpRequest(int(request["id"]), str(request.get("request_name")), _detail_ids(request))


def _open(client: ProcoreClient, company: int, name: str) -> Iterator[dict[str, Any]]:
    params = {"filters[open]": "true", "filters[request_name]": name}
    return client.get_all(f"/rest/v1.0/companies/{company}/erp_requests", params)


def requests_for_run(client: ProcoreClient, company: int, sync: str, request_id: int | None) -> list[ErpRequest]:
    """The open requests this run closes: the one it was started for, or every open one of its sync."""
    names = REQUEST_NAMES[sync]
    if request_id is None:
        return [_parse(request) for name in names for request in _open(client, company, name)]
    answer = client.request("GET", f"/rest/v1.0/companies/{company}/erp_requests/{request_id}", repeatable=True)
    request = _parse(answer.json())
    if request.name not in names:
        raise ForAnotherSync(f"ERP request {request_id} ({request.name}) is not for the {sync} sync: nothing to do")
    if request.detail_ids and all(open_.get("id") != request.id for open_ in _open(client, company, request.name)):
        logger.info("ERP request %s (%s) was closed by an earlier run", request.id, request.name)
        return []
    return [request]


def close(client: ProcoreClient, company: int, request: ErpRequest, status: str, messages: list[str]) -> int:
    """Close each detail of a request once; the number closed (a detail that answers "already closed"
    was open when the run began, so an earlier try of this call closed it)."""
    closed = 0
    for detail in request.detail_ids:
        body = {"request_detail": {"status": status, "messages": messages[:MAX_MESSAGES]}}
        try:
            client.request(
                "PATCH", f"/rest/v1.0/companies/{company}/erp_request_details/{detail}", json=body, repeatable=True
            )
        except ProcoreError as error:
            if error.status != 422 or "already closed" not in str(error):
                raise
            # Open when the run started: closed by an earlier try of this call whose answer was lost.
            logger.info("ERP request detail %s was already closed", detail)
        closed += 1
        logger.info("closed ERP request %s (%s) detail %s: %s", request.id, request.name, detail, status)
    return closed
