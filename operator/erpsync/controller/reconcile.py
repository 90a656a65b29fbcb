"""The reconcile pass: level-based, from the world to the plan, for one ErpSyncSchedule.

Every pass reads what exists (from the watch cache), plans (the same pure planner as the CLI),
applies the difference (the pure diff.py: each write returns its error, if any) and rebuilds status
from what exists. It writes nothing when nothing differs, not even status. The Events of runs that
failed are posted after the status write that first reports them.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import aiohttp

from erpsync.api.conditions import (
    CRON_JOBS_ADOPTED,
    CRON_JOBS_CHANGED,
    CRON_JOBS_CREATED,
    CRON_JOBS_DELETED,
    CRON_JOBS_REPAIRED,
    CRON_JOBS_UPDATED,
    INVALID_SPEC,
    INVALID_SUSPEND_ANNOTATION,
    RUN_FAILED,
    STALLED,
    SYNC_NOW_REFUSED,
    SYNC_NOW_STARTED,
)
from erpsync.api.models import DEFAULT_RUN_HISTORY, ErpSyncSchedule, ErpSyncScheduleStatus, LastRun, read_status
from erpsync.api.validation import validate_object
from erpsync.api.vocabulary import (
    API_GROUP,
    API_VERSION,
    KIND,
    SUSPEND_ALL,
    SUSPEND_ANNOTATION,
    SYNC_NAMES,
    WORKER_RESULTS,
    SyncName,
    read_suspend_annotation,
)
from erpsync.controller.diff import Changes, diff
from erpsync.controller.drift import (
    LAST_APPLIED_ANNOTATION,
    applied_record,
    merge_diff,
    read_applied_record,
    repair_patch,
)
from erpsync.controller.events import Event, EventSink
from erpsync.controller.kubeapi import CRONJOBS, JOBS, SCHEDULES, ApiError, KubeApi
from erpsync.controller.observed import Observed
from erpsync.controller.status import Outcome, build_status, next_status_change
from erpsync.controller.sync_now import SYNC_NOW_ANNOTATION, build_sync_now_job, pending_request, refusal
from erpsync.controller.world import ScheduleKey, World, ownership
from erpsync.planning.cronjobs import BUILT_IN_WORKER_DEFAULTS, LABEL_SCHEDULE, WorkerDefaults
from erpsync.planning.names import label_value
from erpsync.planning.plan import SchedulePlan, plan_schedule

# The keys of status the operator owns (the model's); kopf and others may keep their own records beside them.
STATUS_KEYS: Final = tuple(info.alias or name for name, info in ErpSyncScheduleStatus.model_fields.items())

logger = logging.getLogger("erpsync.operator")
ConflictAction = Literal["gone", "repair", "adopt", "foreign"]


def resolve_conflict(existing: dict[str, Any] | None, schedule: dict[str, Any]) -> ConflictAction:
    """What to do with a CronJob whose create answered 409 AlreadyExists, read back with a GET
    (`existing` None: the GET answered 404, it was deleted since).

    The watch does not show it as this schedule's: its managed-by label was removed or changed (the
    server-side selector dropped it) or its schedule label was (the World cannot group it), or the
    cache is just behind. Its controller reference says whose it is, whatever its labels say.
    """
    if existing is None:
        return "gone"
    metadata = schedule["metadata"]
    whose = ownership(existing, metadata.get("uid"))
    if whose == "ours":
        return "repair"
    labels = existing.get("metadata", {}).get("labels") or {}
    if whose == "orphan" and labels.get(LABEL_SCHEDULE) == label_value(metadata["name"]):
        return "adopt"  # as an orphan with the schedule's label is adopted when the watch shows it
    return "foreign"  # another controller's, or nobody's with nothing tying it to this schedule


@dataclass(frozen=True)
class PassResult:
    """What a pass did: its outcome, how many writes it made, whether to come back soon, and the runs its
    status writes first showed finished (each run is reported once: the metrics count them)."""

    outcome: Outcome
    writes: int
    retry: bool = False
    seconds: float = 0.0
    finished_runs: tuple[tuple[str, LastRun], ...] = ()
    skipped: bool = False  # nothing changed since a pass that found nothing to do: not made again


@dataclass(frozen=True, slots=True)
class _Unchanged:
    """A pass that found nothing to do: the versions it read (World.versions), its outcome, and until when
    the same versions give the same status (status.next_status_change)."""

    versions: tuple[object, ...]
    outcome: Outcome
    until: datetime


@dataclass
class Reconciler:
    world: World
    api: KubeApi
    emit: EventSink
    worker_defaults: WorkerDefaults = BUILT_IN_WORKER_DEFAULTS
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    run_history: int = DEFAULT_RUN_HISTORY
    # the erpsync.io/suspend value last warned about, per schedule: one Warning per value and process
    warned_suspend_values: dict[ScheduleKey, str] = field(default_factory=dict)
    # Per schedule, its last pass if it found nothing to do. A pass is a function of the objects it reads
    # and of the clock: while their versions are the same and the clock has not reached a moment that
    # changes status, another pass would find nothing to do again, so it is skipped (a periodic resync of
    # a cluster where nothing changed costs a comparison of versions per schedule).
    _unchanged: dict[ScheduleKey, _Unchanged] = field(default_factory=dict)

    def forget(self, key: ScheduleKey) -> None:
        """A schedule deleted: nothing of it is kept."""
        self._unchanged.pop(key, None)
        self.warned_suspend_values.pop(key, None)

    async def reconcile(self, key: ScheduleKey) -> PassResult | None:
        started = time.monotonic()
        versions = self.world.versions(key)
        unchanged = self._unchanged.pop(key, None)
        if unchanged is not None and unchanged.versions == versions and self.clock() < unchanged.until:
            self._unchanged[key] = unchanged
            return PassResult(unchanged.outcome, 0, seconds=time.monotonic() - started, skipped=True)
        # 1. Load the schedule. Gone or going: its CronJobs and Jobs are garbage-collected.
        body = self.world.schedule(key)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        pass_ = _Pass(self, body)
        try:
            result = await pass_.run()
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            # The API refused or failed a call the pass cannot do without (a status write): try again later.
            logger.warning("reconciling %s/%s: %s; retrying", key[0], key[1], error)
            result = PassResult(Outcome("Retrying", str(error)), pass_.writes, retry=True)
        nothing_done = not (result.writes or result.retry or pass_.foreign or pass_.finished or pass_.emitted)
        # The versions read again: an event that came during the pass changed what the next pass reads.
        if nothing_done and versions is not None and pass_.status_changes_at and self.world.versions(key) == versions:
            self._unchanged[key] = _Unchanged(versions, result.outcome, pass_.status_changes_at)
        seconds = time.monotonic() - started
        return PassResult(result.outcome, result.writes, result.retry, seconds, tuple(pass_.finished))


@dataclass
class _Pass:
    reconciler: Reconciler
    body: dict[str, Any]
    writes: int = 0
    changes: list[tuple[str, str]] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)  # planned names taken by CronJobs outside the watch
    finished: list[tuple[str, LastRun]] = field(default_factory=list)  # runs first shown finished by its writes
    suspend_requested: set[str] = field(default_factory=set)  # CronJobs whose asked-for suspend flag changed
    forbidden: bool = False  # the API server refused a call with 403: the pass stalls the schedule (Forbidden)
    emitted: bool = False  # it posted an Event
    status_changes_at: datetime | None = None  # when the clock alone changes its status (next_status_change)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.body["metadata"])

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation") or 1)

    @property
    def status(self) -> ErpSyncScheduleStatus:
        """The previous status, read with the model (an unexpected shape is rebuilt, not crashed on)."""
        return read_status(self.body.get("status"))

    @property
    def stored_status(self) -> dict[str, Any]:
        """The status as stored, whatever its shape: what the status patch is computed against."""
        stored = self.body.get("status")
        return dict(stored) if isinstance(stored, dict) else {}

    def owner_reference(self) -> dict[str, Any]:
        return {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": KIND,
            "name": self.metadata["name"],
            "uid": self.metadata["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    async def run(self) -> PassResult:
        now = self.reconciler.clock()
        observed, orphans = self.reconciler.world.observe(self.body)
        # 2. Validate this generation. An invalid one (CRD rules bypassed) changes no CronJob.
        validated = validate_object(self.body)
        if validated.schedule is None:
            return await self._stall("; ".join(str(problem) for problem in validated.problems), observed, now)
        schedule = validated.schedule
        # 3. Plan: the same pure function `erp-sync plan` and `render` use, and the suspend annotation.
        suspend_value = (self.metadata.get("annotations") or {}).get(SUSPEND_ANNOTATION)
        annotated, unknown_words = read_suspend_annotation(suspend_value)
        await self._warn_about_suspend_annotation(suspend_value, unknown_words)
        plan = plan_schedule(schedule, self.reconciler.worker_defaults, annotated)
        # 4. The difference between the plan and what exists.
        planned = {p.cron_job_name: p.cron_job for p in plan.syncs if p.cron_job_name and p.cron_job}
        changes = diff(planned, observed, orphans)
        # The suspend annotation bumps no generation; what it changes is still a new request, not a repair.
        self.suspend_requested = {
            name for name in changes.patch if _suspend_request_changed(observed.cron_jobs.get(name), planned[name])
        }
        # 5. Apply it: the writes of a pass are independent, so they go out together.
        errors = await self._apply(changes, planned)
        await self._announce_changes()
        # 6. Sync now (an explicit request: it runs even while the schedule is suspended).
        handled, sync_now_errors = await self._sync_now(schedule)
        # 7. Status, rebuilt from what exists now: Ready only when every planned CronJob is there. One status
        # write per pass, at its end: the CronJobs it created are known from the create answers (the
        # write-through in _record), so a new schedule is Ready after k + 1 writes. No "Reconciling" before
        # applying: until this write observedGeneration stays behind, which kstatus and Argo CD already read
        # as in progress; Reconciling is written only when a pass cannot finish (Retrying).
        observed, _ = self.reconciler.world.observe(self.body)
        observed.unmanaged_cron_jobs += [name for name in self.foreign if name not in observed.unmanaged_cron_jobs]
        outcome = self._outcome([*errors, *sync_now_errors], diff(planned, observed, ()).create)
        await self._announce_failed_runs(await self._write_status(plan, observed, outcome, handled, now))
        return PassResult(outcome, self.writes, retry=outcome.state in ("Retrying", "Forbidden"))

    async def _emit(self, event: Event) -> None:
        self.emitted = True
        await self.reconciler.emit(event)

    async def _stall(self, problems: str, observed: Observed, now: datetime) -> PassResult:
        """An invalid generation: Stalled, announced once per generation and message."""
        outcome = Outcome("Stalled", problems[:2000])
        previous = self.status
        if previous.observed_generation != self.generation or _stalled_message(previous) != outcome.message:
            await self._emit(Event(self.body, "Warning", INVALID_SPEC, outcome.message[:1000]))
        await self._announce_failed_runs(
            await self._write_status(None, observed, outcome, previous.last_handled_sync_now, now)
        )
        return PassResult(outcome, self.writes)

    async def _apply(self, changes: Changes, planned: dict[str, dict[str, Any]]) -> list[str]:
        """The CronJob writes, together; the errors of those that failed."""
        results = await asyncio.gather(
            *(self._create_cron_job(planned[name]) for name in changes.create),
            *(self._adopt(orphan, planned[orphan["metadata"]["name"]]) for orphan in changes.adopt),
            *(self._patch_cron_job(name, patch) for name, patch in changes.patch.items()),
            *(self._delete_cron_job(name) for name in changes.delete),
        )
        return [error for error in results if error]

    def _outcome(self, errors: list[str], missing: tuple[str, ...]) -> Outcome:
        if missing and not errors:  # e.g. one deleted while being repaired: outside the watch, no event says so
            errors = [f"waiting for CronJob {', '.join(missing)} to appear"]
        if not errors:
            return Outcome("Reconciled")
        # A 403 is RBAC's (or an admission policy's) answer, the same on every retry: Stalled from the first
        # one, so that kstatus and Argo CD fail now rather than at their timeout. Retried all the same.
        outcome = Outcome("Forbidden" if self.forbidden else "Retrying", "; ".join(errors)[:2000])
        # In the log too: a refused write (a missing RBAC rule, say) must not show in status alone.
        logger.warning(
            "reconciling %s/%s: %s; retrying", self.metadata["namespace"], self.metadata["name"], outcome.message
        )
        return outcome

    def _failed(self, doing: str, error: ApiError) -> str:
        """What failed and the server's answer, which names the verb and resource a 403 lacks."""
        self.forbidden = self.forbidden or error.status == 403
        return f"{doing}: {error}"

    def _record(self, kind: Literal["cronjobs", "jobs"], answer: dict[str, Any]) -> None:
        # Write-through: the watch will echo this object; the cache already knows it.
        if answer.get("metadata"):
            self.reconciler.world.apply(kind, "MODIFIED", answer)

    async def _create_cron_job(self, manifest: dict[str, Any]) -> str | None:
        """Creates a planned CronJob; the error, if it could not."""
        name = manifest["metadata"]["name"]
        # Known to be taken by someone else's CronJob outside the watch: a read tells whether it still
        # is, where a create would be a write that fails on every pass. Gone: create it now.
        if (self.metadata["namespace"], name) in self.reconciler.world.foreign_cron_jobs:
            action, error = await self._resolve_conflict(manifest)
            if action != "gone":
                return error
        body = _with_owner(manifest, self.owner_reference())
        body["metadata"]["annotations"] = {LAST_APPLIED_ANNOTATION: applied_record(manifest)}
        try:
            self._record("cronjobs", await self.reconciler.api.create(CRONJOBS, self.metadata["namespace"], body))
        except ApiError as error:
            if error.status != 409:
                return self._failed(f"creating CronJob {name}", error)
            # It exists, and the watch may never show it (a label taken off puts it outside the
            # selector): waiting for it to appear could wait forever. Read it instead.
            action, problem = await self._resolve_conflict(manifest)
            # Deleted since: outside the watch nothing would announce it; come back soon.
            return f"CronJob {name} was deleted while being created; retrying" if action == "gone" else problem
        self.writes += 1
        self.changes.append((CRON_JOBS_CREATED, f"created CronJob {name} ({manifest['spec']['schedule']})"))
        return None

    async def _resolve_conflict(self, manifest: dict[str, Any]) -> tuple[ConflictAction | None, str | None]:
        """Read the CronJob that holds a planned name and act on it: the action (None when the read
        failed) and the error, if any."""
        name = manifest["metadata"]["name"]
        key = (self.metadata["namespace"], name)
        world = self.reconciler.world
        existing: dict[str, Any] | None
        try:
            existing = await self.reconciler.api.get(CRONJOBS, key[0], name)
        except ApiError as error:
            if error.status != 404:
                return None, self._failed(f"reading CronJob {name}", error)
            existing = None
        action = resolve_conflict(existing, self.body)
        if action != "foreign":
            world.foreign_cron_jobs.discard(key)
        problem: str | None = None
        if existing is None:  # "gone": the caller knows what to do
            return action, None
        if action == "repair":
            patch = repair_patch(existing, manifest)
            if patch is None:  # in sync (labels included): the watch is only behind; count it as observed
                self._record("cronjobs", existing)
            else:  # the labels go back with the rest, which brings it back into the watch
                problem = await self._patch_cron_job(name, patch)
        elif action == "adopt":
            problem = await self._adopt(existing, manifest)
        else:
            world.foreign_cron_jobs.add(key)
            self.foreign.append(name)
        return action, problem

    async def _adopt(self, orphan: dict[str, Any], manifest: dict[str, Any]) -> str | None:
        name = orphan["metadata"]["name"]
        references = [*(orphan["metadata"].get("ownerReferences") or []), self.owner_reference()]
        patch = repair_patch(orphan, manifest) or {}
        patch.setdefault("metadata", {})["ownerReferences"] = references
        patch["metadata"]["resourceVersion"] = orphan["metadata"].get("resourceVersion")
        return await self._patch_cron_job(name, patch, CRON_JOBS_ADOPTED)

    async def _patch_cron_job(self, name: str, patch: dict[str, Any], reason: str | None = None) -> str | None:
        """Patch a CronJob toward the plan. Unless told (adoption), the reason says why it differed: a new
        generation of the spec not yet applied (Updated), or a change made outside the schedule (Repaired)."""
        if reason is None:
            requested = self.status.observed_generation != self.generation or name in self.suspend_requested
            reason = CRON_JOBS_UPDATED if requested else CRON_JOBS_REPAIRED
        try:
            self._record(
                "cronjobs", await self.reconciler.api.merge_patch(CRONJOBS, self.metadata["namespace"], name, patch)
            )
        except ApiError as error:
            # 404: deleted meanwhile; the pass finds it missing and comes back.
            return None if error.status == 404 else self._failed(f"patching CronJob {name}", error)
        self.writes += 1
        fields = ", ".join(patched_fields(patch)) or "metadata"
        verb = {CRON_JOBS_UPDATED: "updated", CRON_JOBS_REPAIRED: "repaired", CRON_JOBS_ADOPTED: "adopted"}[reason]
        self.changes.append((reason, f"{verb} CronJob {name} ({fields})"))
        return None

    async def _delete_cron_job(self, name: str) -> str | None:
        try:
            await self.reconciler.api.delete(CRONJOBS, self.metadata["namespace"], name)
        except ApiError as error:
            return None if error.status == 404 else self._failed(f"deleting CronJob {name}", error)
        self.writes += 1
        self.changes.append((CRON_JOBS_DELETED, f"deleted CronJob {name} (no longer planned)"))
        return None

    async def _sync_now(self, schedule: ErpSyncSchedule) -> tuple[str | None, list[str]]:
        """Starts the Jobs of a pending sync-now request: the token handled, and the errors."""
        handled = self.status.last_handled_sync_now
        request = pending_request(self.metadata.get("annotations") or {}, handled, schedule)
        if request is None:
            return handled, []
        if request.refused:
            await self._emit(
                Event(
                    self.body,
                    "Warning",
                    SYNC_NOW_REFUSED,
                    f"sync now {request.token}: {refusal(schedule, request.refused)}",
                    annotations={SYNC_NOW_ANNOTATION: request.token},  # what kubectl erpsync selects on
                )
            )
        errors: list[str] = []
        for sync in request.syncs:
            job = build_sync_now_job(
                schedule, sync, request.token, self.owner_reference(), self.reconciler.worker_defaults
            )
            try:
                self._record("jobs", await self.reconciler.api.create(JOBS, self.metadata["namespace"], job))
                self.writes += 1
                await self._emit(
                    Event(self.body, "Normal", SYNC_NOW_STARTED, f"started Job {job['metadata']['name']} ({sync})")
                )
            except ApiError as error:
                if error.status != 409:  # 409: started by an earlier attempt with the same token
                    errors.append(self._failed(f"starting sync now Job for {sync}", error))
        return (handled if errors else request.token), errors

    async def _warn_about_suspend_annotation(self, value: str | None, unknown: tuple[str, ...]) -> None:
        """Words of erpsync.io/suspend that are neither "all" nor a sync are ignored (a typo must neither
        stop the pass nor pause more than it names): a Warning Event says so, once per value in this process."""
        key = (self.metadata["namespace"], self.metadata["name"])
        warned = self.reconciler.warned_suspend_values
        if not unknown or value is None:
            warned.pop(key, None)
            return
        if warned.get(key) == value:
            return
        warned[key] = value
        ignored = ", ".join(f'"{word[:63]}"' for word in unknown)
        allowed = f"{SUSPEND_ALL}, or syncs separated by commas: {', '.join(SYNC_NAMES)}"
        message = f"{SUSPEND_ANNOTATION}: ignored {ignored}; allowed: {allowed}"
        await self._emit(Event(self.body, "Warning", INVALID_SUSPEND_ANNOTATION, message))

    async def _announce_changes(self) -> None:
        """One Event per pass for what it did to CronJobs (one per CronJob would double the writes)."""
        if not self.changes:
            return
        reasons = {reason for reason, _ in self.changes}
        reason = reasons.pop() if len(reasons) == 1 else CRON_JOBS_CHANGED
        await self._emit(Event(self.body, "Normal", reason, "; ".join(message for _, message in self.changes)))

    async def _announce_failed_runs(self, failed: list[tuple[str, LastRun]]) -> None:
        for sync, run in failed:
            await self._emit(
                Event(self.body, "Warning", RUN_FAILED, f"{sync}: Job {run.job_name} {run.result}: {run.message or ''}")
            )

    async def _write_status(
        self, plan: SchedulePlan | None, observed: Observed, outcome: Outcome, handled: str | None, now: datetime
    ) -> list[tuple[str, LastRun]]:
        """Writes what changed in status; the runs that failed since the previous status, to announce."""
        previous = self.status
        status = build_status(
            generation=self.generation,
            plan=plan,
            observed=observed,
            outcome=outcome,
            previous=previous,
            handled_sync_now=handled,
            now=now,
            run_history=self.reconciler.run_history,
        )
        self.status_changes_at = next_status_change(plan, status, observed, now)
        written = status.as_json()
        # Only the keys the operator owns: kopf and others may keep their own records in status.
        stored = self.stored_status  # a key of another shape is replaced whole (merge_diff)
        patch = merge_diff(
            {key: stored[key] for key in STATUS_KEYS if stored.get(key) is not None},
            {key: written[key] for key in STATUS_KEYS if written.get(key) is not None},
        )
        if not patch:
            return []
        answer = await self.reconciler.api.merge_patch(
            SCHEDULES, self.metadata["namespace"], self.metadata["name"], {"status": patch}, subresource="status"
        )
        self.writes += 1
        if answer.get("metadata"):
            self.body = answer
            self.reconciler.world.apply("schedules", "MODIFIED", answer)
        finished = finished_runs(previous, status)
        self.finished += finished
        return [(sync, run) for sync, run in finished if run.result in _FAILED_RESULTS]


_FAILED_RESULTS: Final = ("Failed", "PartiallyFailed")


def finished_runs(before: ErpSyncScheduleStatus, after: ErpSyncScheduleStatus) -> list[tuple[str, LastRun]]:
    """Runs that are finished now and were not reported finished in the previous status: once per Job,
    whatever its result reads later (a Job's Failed condition can be seen before its Pod's summary turns
    it into PartiallyFailed). The failed ones are announced in RunFailed Events, all are counted in the
    metrics. Read from each sync's history (several Jobs can finish between two passes), oldest first, and
    its lastRun. The previous status is the stored one, so a restart reports nothing again."""
    finished: list[tuple[str, LastRun]] = []
    for sync in SYNC_NAMES:
        reported = {run.job_name for run in _runs(before, sync) if run.result in WORKER_RESULTS}
        for run in _runs(after, sync):
            if run.result in WORKER_RESULTS and run.job_name not in reported:
                reported.add(run.job_name)
                finished.append((sync, run))
    return finished


def _runs(status: ErpSyncScheduleStatus, sync: SyncName) -> list[LastRun]:
    """A sync's runs in status, oldest first: its history, then its lastRun (the same Job as the newest
    entry, or the only record when the history is empty)."""
    entry = status.syncs.get(sync) if status.syncs else None
    if entry is None:
        return []
    runs: list[LastRun] = list(reversed(entry.history or []))
    return [*runs, entry.last_run] if entry.last_run else runs


def patched_fields(patch: dict[str, Any]) -> list[str]:
    """What a patch changes, two levels deep (`spec.suspend`, `spec.jobTemplate`, `metadata.labels`), for
    the Event that says so. Not changes to tell: the resourceVersion precondition, and the operator's own
    record of what it applied (drift.py's annotation) when no other annotation changes."""
    fields = []
    for top, value in patch.items():
        if not isinstance(value, dict) or not value:
            fields.append(top)
            continue
        for key, inner in value.items():
            record_only = isinstance(inner, dict) and set(inner) == {LAST_APPLIED_ANNOTATION}
            bookkeeping = (top, key) == ("metadata", "resourceVersion") or (
                (top, key) == ("metadata", "annotations") and record_only
            )
            if not bookkeeping:
                fields.append(f"{top}.{key}")
    return fields


def _suspend_request_changed(existing: dict[str, Any] | None, planned: dict[str, Any]) -> bool:
    """Whether the plan asks for another suspend flag than the one last applied to this CronJob (a flag
    changed by hand since is a repair: the record still holds what the plan asks)."""
    applied = read_applied_record(existing or {}).get("spec")
    return isinstance(applied, dict) and applied.get("suspend") != planned["spec"]["suspend"]


def _with_owner(manifest: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    body = dict(manifest)
    body["metadata"] = {**manifest["metadata"], "ownerReferences": [owner]}
    return body


def _stalled_message(status: ErpSyncScheduleStatus) -> str | None:
    stalled = status.condition(STALLED)
    return stalled.message if stalled else None
