"""The planner: ErpSyncSchedule -> the CronJobs it needs. A pure function, shared by CLI and operator."""

from dataclasses import dataclass
from typing import Any

from erpsync.api.models import ErpSyncSchedule
from erpsync.api.vocabulary import SYNC_NAMES, Frequency, RunOn, SuspendedBy, SyncName
from erpsync.planning.cron import cron_expression, interval
from erpsync.planning.cronjobs import BUILT_IN_WORKER_DEFAULTS, WorkerDefaults, build_cron_job
from erpsync.planning.names import cron_job_name, stable_int


@dataclass(frozen=True)
class PlannedSync:
    """What one sync option of a schedule becomes."""

    sync: SyncName
    frequency: Frequency
    schedule: str | None  # cron expression; None for Never
    time_zone: str
    suspended: bool
    cron_job_name: str | None
    cron_job: dict[str, Any] | None  # the manifest; None for Never
    suspended_by: tuple[SuspendedBy, ...] = ()  # why `suspended`: the spec's flags, the suspend annotation
    run_on: RunOn = "Schedule"  # ErpRequests: no CronJob (frequency Never); ERP Requests and sync now start its runs


@dataclass(frozen=True)
class SchedulePlan:
    namespace: str
    name: str
    syncs: tuple[PlannedSync, ...]

    @property
    def cron_jobs(self) -> list[dict[str, Any]]:
        return [planned.cron_job for planned in self.syncs if planned.cron_job is not None]


def suspension(schedule: ErpSyncSchedule, sync: SyncName, annotated: frozenset[SyncName]) -> tuple[SuspendedBy, ...]:
    """Who suspends `sync`: the schedule's spec.suspend, the sync's own flag, the erpsync.io/suspend annotation
    (`annotated`: the syncs it names, read by vocabulary.read_suspend_annotation). Empty: it runs."""
    spec = schedule.spec
    reasons: dict[SuspendedBy, bool] = {
        "Schedule": spec.suspend,
        "Sync": spec.syncs.get(sync).suspend,
        "Annotation": sync in annotated,
    }
    return tuple(reason for reason, suspends in reasons.items() if suspends)


def plan_schedule(
    schedule: ErpSyncSchedule,
    defaults: WorkerDefaults = BUILT_IN_WORKER_DEFAULTS,
    suspended_by_annotation: frozenset[SyncName] = frozenset(),
) -> SchedulePlan:
    """Every sync of `schedule`, with the CronJob of each whose frequency is not Never; `defaults` are
    the image and resources of workers whose spec.worker does not name them; `suspended_by_annotation`
    the syncs the erpsync.io/suspend annotation suspends (the operator reads it; a manifest has none)."""
    spec = schedule.spec
    namespace = schedule.metadata.namespace
    name = schedule.metadata.name
    planned: list[PlannedSync] = []
    for sync in SYNC_NAMES:
        settings = spec.syncs.get(sync)
        frequency = spec.effective_frequency(sync)
        period = interval(frequency)
        cron = cron_expression(frequency, stable_int(namespace, name, sync), settings.at)
        suspended_by = suspension(schedule, sync, suspended_by_annotation)
        suspended = bool(suspended_by)
        run_on = spec.effective_run_on(sync)
        if cron is None or period is None:
            planned.append(
                PlannedSync(sync, frequency, None, spec.time_zone, suspended, None, None, suspended_by, run_on)
            )
            continue
        job_name = cron_job_name(name, sync)
        manifest = build_cron_job(
            spec=spec,
            namespace=namespace,
            schedule_name=name,
            sync=sync,
            name=job_name,
            schedule=cron,
            defaults=defaults,
            suspend=suspended,
            active_deadline_seconds=int(period.total_seconds()),
        )
        planned.append(
            PlannedSync(sync, frequency, cron, spec.time_zone, suspended, job_name, manifest, suspended_by, run_on)
        )
    return SchedulePlan(namespace, name, tuple(planned))
