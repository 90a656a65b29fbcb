"""What exists for one schedule, as the watch cache (world.py) groups it: the input of the diff and of status.

A module of its own so that the cache, the diff (diff.py) and the status builder (status.py) share the
type without the cache importing either of them.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Observed:
    """What exists for one schedule."""

    cron_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # managed, by name
    unmanaged_cron_jobs: list[str] = field(default_factory=list)
    jobs_by_sync: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pods_by_job: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
