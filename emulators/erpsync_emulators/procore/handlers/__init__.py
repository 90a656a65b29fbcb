"""One module per Procore resource family; ROUTES lists every API route the emulator serves."""

from __future__ import annotations

from ..routing import Route
from . import (
    commitments,
    cost_codes,
    erp_requests,
    erp_sync,
    job_costs,
    projects,
    staged_records,
    vendors,
    webhook_hooks,
)

ROUTES: list[Route] = [
    *vendors.ROUTES,
    *projects.ROUTES,
    *cost_codes.ROUTES,
    *job_costs.ROUTES,
    *commitments.ROUTES,
    *erp_requests.ROUTES,
    *staged_records.ROUTES,
    *erp_sync.ROUTES,
    *webhook_hooks.ROUTES,
]
