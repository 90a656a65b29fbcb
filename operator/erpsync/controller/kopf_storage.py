"""kopf storages that store nothing: this operator uses raw watch-event handlers only.

kopf keeps a diff base and handler progress (in annotations, by default) for its create/update
handlers, and computes them on every event even when there are none. Here they would cost a deep
copy of each body per event and, worse, could write annotations on schedules. Nothing reads them.
Likewise kopf's memory of each object (NoMemories).
"""

from typing import Any

import kopf
from kopf._core.reactor.inventory import ResourceMemories, ResourceMemory  # kopf.run's `memories=`: not re-exported


class NoDiffBase(kopf.DiffBaseStorage):
    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


class NoProgress(kopf.ProgressStorage):
    def fetch(self, *, key: Any, body: kopf.Body) -> Any:
        return None

    def store(self, *, key: Any, record: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        return None

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        return essence


class NoMemories(ResourceMemories):
    """kopf's per-object memory, never kept: it serves daemons, timers, indexes and resume handlers (a memo,
    an error throttler, their states), which this operator does not have, and costs about 0.9 KB for each
    schedule, CronJob, Job and Pod watched (45 MB at 10,000 schedules). Each event gets a fresh one."""

    async def recall(
        self,
        raw_body: kopf.RawBody,
        *,
        memobase: Any = None,
        noticed_by_listing: bool = False,
        ephemeral: bool = False,
    ) -> ResourceMemory:
        del ephemeral  # always: nothing is kept
        return await super().recall(raw_body, memobase=memobase, noticed_by_listing=noticed_by_listing, ephemeral=True)
