"""The counts of one run, defined once: the worker's summary keeps them, the status's `RunCounts` shows them.

A plain dataclass, not a pydantic model: the worker imports it and nothing else of the API's models, so a
worker starts without pydantic (some 9 MiB less in every worker pod; docs/benchmarks.md). The status
model (`erpsync.api.models.RunCounts`) takes its fields from it.
"""

from dataclasses import dataclass, fields
from typing import Final


@dataclass
class RunCountFields:
    """How many records a run read, and what became of them."""

    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0


RUN_COUNT_NAMES: Final[tuple[str, ...]] = tuple(field.name for field in fields(RunCountFields))
