"""The condition types and reasons of an ErpSyncSchedule's status, and the reasons of its Events.

Kept beside the status models (as Flux keeps its reasons beside its API types): the operator writes
them, `kubectl erpsync` and `kubectl wait` read them, and neither spells them out again.
"""

from typing import Final

# Condition types. `Ready` is always present; `Reconciling` and `Stalled` only while true (abnormal-true
# polarity, as Flux does); `Healthy` says whether the enabled syncs' runs succeed on time.
READY: Final = "Ready"
RECONCILING: Final = "Reconciling"
STALLED: Final = "Stalled"
HEALTHY: Final = "Healthy"
CONDITION_ORDER: Final = (READY, RECONCILING, STALLED, HEALTHY)

# Reasons of Ready, Reconciling and Stalled.
SUCCEEDED: Final = "Succeeded"
PROGRESSING: Final = "Progressing"
PROGRESSING_WITH_RETRY: Final = "ProgressingWithRetry"
INVALID_SPEC: Final = "InvalidSpec"  # also the Event of an invalid generation
# The API server refused the operator a call it needs (403: a missing RBAC rule, an admission policy).
FORBIDDEN: Final = "Forbidden"
# Reasons of Healthy.
RUNS_HEALTHY: Final = "RunsHealthy"
RUN_FAILED: Final = "RunFailed"  # also the Event of a failed run
RUN_OVERDUE: Final = "RunOverdue"

# Reasons of the Events about sync now.
SYNC_NOW_STARTED: Final = "SyncNowStarted"
SYNC_NOW_REFUSED: Final = "SyncNowRefused"

# The Warning Event about words of the erpsync.io/suspend annotation the operator ignores.
INVALID_SUSPEND_ANNOTATION: Final = "InvalidSuspendAnnotation"

# Reasons of the one Event a pass posts about what it did to CronJobs: one reason per kind of change
# (CRON_JOBS_CHANGED when a pass made more than one kind). Updated applies a new generation of the spec or
# a changed erpsync.io/suspend annotation (`kubectl erpsync suspend`); Repaired puts back what was changed
# outside the schedule.
CRON_JOBS_CREATED: Final = "CronJobsCreated"
CRON_JOBS_UPDATED: Final = "CronJobsUpdated"
CRON_JOBS_REPAIRED: Final = "CronJobsRepaired"
CRON_JOBS_ADOPTED: Final = "CronJobsAdopted"
CRON_JOBS_DELETED: Final = "CronJobsDeleted"
CRON_JOBS_CHANGED: Final = "CronJobsChanged"
