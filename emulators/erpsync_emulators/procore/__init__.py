"""A stateful Procore REST API emulator for the sync workers' tests and `make demo`.

See docs/procore-emulator.md for what it emulates and how to drive it.
"""

from __future__ import annotations

from .clock import Clock, ManualClock, SystemClock
from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig
from .emulator import ProcoreEmulator
from .faults import Fault, FaultResponse
from .seed import Seeder, SeedError
from .state import ProcoreState, Record

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "Clock",
    "EmulatorConfig",
    "Fault",
    "FaultResponse",
    "ManualClock",
    "ProcoreEmulator",
    "ProcoreState",
    "Record",
    "SeedError",
    "Seeder",
    "SystemClock",
]
