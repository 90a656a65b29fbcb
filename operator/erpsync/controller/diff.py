"""The difference between a schedule's plan and what exists: the CronJob writes a pass makes (pure).

The reconcile pass (reconcile.py) applies it; this module only says what differs. A CronJob is planned by
name; what holds a planned name is either the schedule's own CronJob (repaired when it drifted, drift.py),
an orphan with the schedule's labels (adopted), or another controller's (left alone).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from erpsync.controller.drift import repair_patch
from erpsync.controller.observed import Observed


@dataclass(frozen=True)
class Changes:
    """The CronJob writes that bring what exists to the plan."""

    create: tuple[str, ...] = ()  # planned names that no CronJob holds
    adopt: tuple[dict[str, Any], ...] = ()  # orphans that hold a planned name
    patch: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # the schedule's, drifted: name → patch
    delete: tuple[str, ...] = ()  # the schedule's, no longer planned

    def __bool__(self) -> bool:
        return bool(self.create or self.adopt or self.patch or self.delete)


def diff(planned: Mapping[str, dict[str, Any]], observed: Observed, orphans: Sequence[dict[str, Any]]) -> Changes:
    """What to write so that the CronJobs of `observed` and `orphans` are those of `planned` (by name)."""
    return Changes(
        create=tuple(
            name for name in planned if name not in observed.cron_jobs and name not in observed.unmanaged_cron_jobs
        ),
        adopt=tuple(orphan for orphan in orphans if orphan["metadata"]["name"] in planned),
        patch={
            name: patch
            for name, existing in observed.cron_jobs.items()
            if name in planned and (patch := repair_patch(existing, planned[name])) is not None
        },
        delete=tuple(name for name in observed.cron_jobs if name not in planned),
    )
