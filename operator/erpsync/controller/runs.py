"""What the runs of a sync did, read from its Jobs and their Pods (no logs are read).

The worker reports through its exit code and a JSON summary in the pod's termination message;
Kubernetes reports a pod that cannot start (a missing Secret, an image that cannot be pulled)
through the container's waiting reason.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from erpsync.api.models import LastRun, PastRun, RunTotals
from erpsync.api.run_counts import RUN_COUNT_NAMES
from erpsync.api.vocabulary import WORKER_RESULTS
from erpsync.controller.bounds import fit_text, max_length, parse_time, rfc3339
from erpsync.planning.cronjobs import LABEL_TRIGGER

# A run's message and problem are cut to lastRun.message's limit: the Healthy condition joins the
# problems of all four syncs, and that keeps each of them within its own message's limit.
MESSAGE_LIMIT: Final = max_length(LastRun, "message")
# Waiting reasons that are part of a normal start; anything else means the pod cannot run.
_STARTING: Final = frozenset({"ContainerCreating", "PodInitializing"})
# How long a pod may stay in ContainerCreating before that is reported (a missing Secret or
# ConfigMap volume keeps it there, with the reason only in Events).
STUCK_CREATING_AFTER: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Run:
    """One run of a sync: a Job, scheduled by its CronJob or started on demand."""

    job_name: str
    trigger: str
    start_time: str | None
    completion_time: str | None
    result: str  # Running, Succeeded, PartiallyFailed, Failed
    message: str | None
    counts: dict[str, int] | None
    problem: str | None  # why the run cannot proceed or failed, for the Healthy condition

    def as_history_status(self) -> dict[str, Any]:
        """As an entry of the sync's history: lastRun's fields and the duration (the message is cut to the
        history's limit when status is bounded)."""
        status = self.as_status()
        duration = _duration(self.start_time, self.completion_time)
        if duration is not None:
            status["durationSeconds"] = duration
        return status

    def as_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"jobName": self.job_name, "trigger": self.trigger, "result": self.result}
        for key, value in (
            ("startTime", self.start_time),
            ("completionTime", self.completion_time),
            ("message", self.message),
            ("counts", self.counts),
        ):
            if value is not None:
                status[key] = value
        return status

    @classmethod
    def from_status(cls, last_run: LastRun) -> "Run":
        """The run a stored lastRun describes, with the problem read_run gives the same run."""
        return cls(
            job_name=last_run.job_name,
            trigger=last_run.trigger,
            start_time=rfc3339(last_run.start_time),
            completion_time=rfc3339(last_run.completion_time),
            result=last_run.result,
            message=last_run.message,
            counts=last_run.counts.as_json() if last_run.counts else None,
            problem=_problem(last_run.result, last_run.message),
        )


def _duration(start: str | None, completion: str | None) -> int | None:
    started, completed = parse_time(start), parse_time(completion)
    if started is None or completed is None:
        return None
    return max(0, int((completed - started).total_seconds()))


def _problem(result: str, message: str | None) -> str | None:
    """Why a run cannot proceed or failed, from its result and message (as lastRun holds them): a running
    run's message is its problem; a finished run has a message only when its Job failed."""
    if not message:
        return None
    return fit_text(message if result == "Running" else f"{result}: {message}", MESSAGE_LIMIT)


def read_summary(pods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The worker's JSON summary from the newest pod's termination message, if any."""
    for pod in sorted(pods, key=lambda p: p.get("metadata", {}).get("creationTimestamp") or "", reverse=True):
        for container in pod.get("status", {}).get("containerStatuses") or []:
            message = (container.get("state", {}).get("terminated") or {}).get("message")
            if not message:
                continue
            try:
                summary = json.loads(message)
            except ValueError:
                continue
            if isinstance(summary, dict):
                return summary
    return None


def _waiting_problem(pods: list[dict[str, Any]], now: datetime) -> str | None:
    for pod in pods:
        created = parse_time(pod.get("metadata", {}).get("creationTimestamp"))
        for container in pod.get("status", {}).get("containerStatuses") or []:
            waiting = container.get("state", {}).get("waiting")
            if not waiting:
                continue
            reason = str(waiting.get("reason") or "Waiting")
            detail = f": {waiting['message']}" if waiting.get("message") else ""
            if reason not in _STARTING:
                return f"pod {pod['metadata'].get('name')} {reason}{detail}"
            if created and now - created > STUCK_CREATING_AFTER:
                return (
                    f"pod {pod['metadata'].get('name')} still {reason} after "
                    f"{int((now - created).total_seconds() // 60)}m (a missing Secret or ConfigMap?)"
                )
    return None


def _finished(job: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return str(condition["type"]), condition
    return None


def read_run(job: dict[str, Any], pods: list[dict[str, Any]], now: datetime) -> Run:
    """What one Job of a sync did (or is doing)."""
    metadata = job.get("metadata", {})
    status = job.get("status", {})
    summary = read_summary(pods)
    counts = {key: summary[key] for key in RUN_COUNT_NAMES if _is_count(summary.get(key))} if summary else None
    claimed = _worker_result(summary)
    finished = _finished(job)
    completion = rfc3339(status.get("completionTime"))
    if finished is None:
        result = "Running"
        message = _waiting_problem(pods, now)
    elif finished[0] == "Complete":
        result = claimed or "Succeeded"
        message = None
    else:
        condition = finished[1]
        result = claimed if claimed in ("PartiallyFailed", "Failed") else "Failed"
        completion = completion or rfc3339(condition.get("lastTransitionTime"))
        reason = condition.get("reason") or "Failed"
        errors = summary.get("errors") if summary else None
        first_error = f": {errors[0]}" if isinstance(errors, list) and errors else ""
        pod_problem = _waiting_problem(pods, now)
        message = f"{reason}{first_error}" + (f" ({pod_problem})" if pod_problem else "")
    return Run(
        job_name=str(metadata.get("name")),
        # Longer than lastRun.trigger allows only on a Job someone else labelled: cut when status is built.
        trigger=str((metadata.get("labels") or {}).get(LABEL_TRIGGER, "Scheduled")),
        start_time=rfc3339(status.get("startTime")),
        completion_time=completion,
        result=result,
        message=fit_text(message, MESSAGE_LIMIT) if message else None,
        counts=counts or None,
        problem=_problem(result, message),
    )


def _worker_result(summary: dict[str, Any] | None) -> str | None:
    claimed = (summary or {}).get("result")
    return claimed if isinstance(claimed, str) and claimed in WORKER_RESULTS else None


def _is_count(value: object) -> bool:
    # JSON true is a Python int too; out-of-range counts are clamped when status is built.
    return isinstance(value, int) and not isinstance(value, bool)


def _newest_job(jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(
        jobs,
        key=lambda j: (j.get("metadata", {}).get("creationTimestamp") or "", j.get("metadata", {}).get("name") or ""),
        default=None,
    )


def known_run(
    jobs: list[dict[str, Any]],
    pods_by_job: dict[str, list[dict[str, Any]]],
    stored: LastRun | None,
    now: datetime,
) -> Run | None:
    """The last run of a sync: the newest Job's, unless the stored lastRun is further along.

    The stored status is part of what exists: the watch cache can be partial (after a restart, the
    watches of Jobs and Pods list independently) and Jobs go (history limits, TTL), so the last run
    reported never goes backwards. The stored run is kept when no Job is seen, when the newest Job seen
    started (or, not started yet, was created) before the stored run started and the stored Job is not
    seen, and when the stored Job is seen unfinished while stored finished, or finished without the
    worker's summary while the stored run has its counts."""
    newest = _newest_job(jobs)
    if newest is None:
        return Run.from_status(stored) if stored else None
    run = read_run(newest, pods_by_job.get(newest["metadata"]["name"], []), now)
    return Run.from_status(stored) if stored and _behind(run, newest, jobs, stored) else run


def _behind(run: Run, job: dict[str, Any], jobs: list[dict[str, Any]], stored: LastRun) -> bool:
    """Whether `run`, read from the newest Job seen, knows less than the stored lastRun."""
    if run.job_name == stored.job_name:
        return _knows_less(run, stored)
    if any(j.get("metadata", {}).get("name") == stored.job_name for j in jobs):
        return False  # the stored Job is seen, and a Job created after it
    stored_start = parse_time(stored.start_time)
    # A Job starts as soon as the Job controller sees it: one not started yet is new, unless it was
    # created before the stored run started.
    moment = parse_time(run.start_time) or parse_time(job.get("metadata", {}).get("creationTimestamp"))
    return stored_start is not None and moment is not None and moment < stored_start


def last_success(jobs: list[dict[str, Any]]) -> str | None:
    """The completion time of the newest Job that completed (scheduled or on demand)."""
    times = [
        parse_time(job.get("status", {}).get("completionTime"))
        for job in jobs
        if (_finished(job) or ("",))[0] == "Complete"
    ]
    newest = max((time for time in times if time is not None), default=None)
    return rfc3339(newest)


def _knows_less(run: Run, stored: LastRun) -> bool:
    """Whether `run`, read from a Job seen now, knows less than the stored record of the same Job: the
    stored one finished while the Job reads running (a cache behind), or the Job's summary is not seen."""
    if stored.result == "Running":
        return False
    return run.result == "Running" or (run.counts is None and stored.counts is not None)


_NEVER_STARTED: Final = datetime.min.replace(tzinfo=UTC)
# A finished run's result, and the counter of RunTotals (its JSON name) it counts in.
_TOTAL_OF_RESULT: Final = {
    "Succeeded": "succeeded",
    "PartiallyFailed": "partiallyFailed",
    "Failed": "failed",
}


def run_history(
    jobs: list[dict[str, Any]],
    pods_by_job: dict[str, list[dict[str, Any]]],
    stored: list[PastRun],
    now: datetime,
) -> list[Run]:
    """The runs of a sync, newest first by start time: the Jobs seen, and the stored history's runs whose
    Jobs are gone (history limits, TTL) or not seen yet. Status keeps the first few; all are counted.

    A Job enters the history once it has started (the Job controller sets its start time within moments
    of its creation) or finished; a Job seen again is read again unless the stored entry of the same Job
    knows more (as for lastRun). A Job the stored history does not hold and that started before all its
    entries is left out: it fell off the end of the history, and taking it back would count it twice.
    """
    entries: dict[str, tuple[datetime, Run]] = {}
    for entry in stored:
        # A stored run has a start or a completion time unless status was written around the operator;
        # one without either sorts oldest.
        stored_moment = _moment(entry.start_time) or _moment(entry.completion_time) or _NEVER_STARTED
        entries[entry.job_name] = (stored_moment, Run.from_status(entry))
    oldest = min((moment for moment, _ in entries.values()), default=None)
    for job in jobs:
        name = str(job.get("metadata", {}).get("name"))
        run = read_run(job, pods_by_job.get(name, []), now)
        moment = _moment(run.start_time) or _moment(run.completion_time)
        known = next((entry for entry in stored if entry.job_name == name), None)
        if moment is None or (known and _knows_less(run, known)):
            continue
        if known is None and oldest is not None and moment < oldest:
            continue
        entries[name] = (moment, run)
    newest_first = sorted(entries.values(), key=lambda item: (item[0], item[1].job_name), reverse=True)
    return [run for _, run in newest_first]


def _moment(value: object) -> datetime | None:
    return parse_time(rfc3339(value))


def advance_totals(totals: RunTotals | None, stored: list[PastRun], history: list[Run]) -> dict[str, int]:
    """The counters since creation, advanced by the runs of `history` that the stored history does not hold
    finished: each Job counts once, and an operator restart (the stored history read back) counts none
    again. A stored run whose result is refined (Failed, then PartiallyFailed once its summary is read)
    moves to the new result's counter; a run that leaves the history stays counted."""
    counted = (totals or RunTotals()).as_json()
    before = {entry.job_name: entry.result for entry in stored}
    for run in history:
        total = _TOTAL_OF_RESULT.get(run.result)
        if total is None:
            continue  # still running
        earlier = _TOTAL_OF_RESULT.get(before.get(run.job_name) or "")
        if earlier == total:
            continue
        if earlier is not None:
            counted[earlier] = max(0, counted[earlier] - 1)
        counted[total] += 1
    return counted
