"""One module per Procore resource family; ROUTES lists every API route the emulator serves."""

from __future__ import annotations

from ..routing import Route
from . import commitments, cost_codes, job_costs, projects, vendors

ROUTES: list[Route] = [
    *vendors.ROUTES,
    *projects.ROUTES,
    *cost_codes.ROUTES,
    *job_costs.ROUTES,
    *commitments.ROUTES,
]
