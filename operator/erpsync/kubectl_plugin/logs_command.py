"""`kubectl erpsync logs`: the logs of a sync's run (the Pods of its Job), read through the API server.

The API server fetches a Pod's log from the kubelet of the Pod's Node (the pods/log subresource); a Pod
that no Node runs yet has no log, and the server would answer an empty one: that is said instead.
"""

from typing import Any, Final

import click

from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.controller.kubeapi import JOBS, ApiError, Resource
from erpsync.kubectl_plugin.client import Kube, PluginError, UsageProblem
from erpsync.kubectl_plugin.options import connect, connection_options
from erpsync.planning.cronjobs import LABEL_SCHEDULE, LABEL_SYNC
from erpsync.planning.names import label_value

PODS: Final = Resource("", "v1", "pods")
# The label the Job controller puts on a Job's Pods: the new one, and the one before Kubernetes 1.27.
JOB_NAME_LABELS: Final = ("batch.kubernetes.io/job-name", "job-name")


def _created(item: dict[str, Any]) -> tuple[str, str]:
    metadata = item.get("metadata") or {}
    return str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or "")


@click.command()
@click.argument("name")
@connection_options
@click.option(
    "--sync",
    "sync",
    required=True,
    metavar="SYNC",
    help=f"The sync whose run to show ({', '.join(SYNC_NAMES)}).",
)
@click.option("--run", "job_name", metavar="JOB", help="The run (its Job's name; default: the newest run of the sync).")
@click.option("--tail", type=click.IntRange(min=-1), default=-1, help="Only the last lines of each Pod (-1: all).")
def logs(
    name: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    sync: str,
    job_name: str | None,
    tail: int,
) -> None:
    """Print the logs of a run of the schedule's sync: the newest run, or the Job given with --run."""
    if sync not in SYNC_NAMES:
        raise UsageProblem(f'unknown sync "{sync}"; the syncs are: {", ".join(SYNC_NAMES)}')
    with connect(kubeconfig, context, namespace) as kube:
        kube.schedule(name, kube.namespace)  # a missing schedule is named as such
        job = _run_job(kube, name, sync, job_name)
        run = job["metadata"]["name"]
        pods = _pods(kube, run)
        if not pods:
            raise PluginError(f"run {run} has no Pod (not started yet, or its Pods were deleted)")
        for pod in pods:
            if len(pods) > 1:
                click.echo(f"==> pod/{pod['metadata']['name']} <==")
            click.echo(_log(kube, pod, tail), nl=False)


def _run_job(kube: Kube, schedule: str, sync: SyncName | str, job_name: str | None) -> dict[str, Any]:
    """The Job of the run: the one named, checked to be a run of this schedule's sync, or the newest one."""
    where = f"{kube.namespace}/{schedule}"
    if job_name is not None:
        try:
            job = kube.call("GET", JOBS.path(kube.namespace, job_name))
        except ApiError as error:
            if error.status == 404:
                raise PluginError(
                    f'run "{job_name}" not found: no Job of that name in namespace {kube.namespace}'
                ) from None
            raise
        labels = job["metadata"].get("labels") or {}
        if labels.get(LABEL_SCHEDULE) != label_value(schedule) or labels.get(LABEL_SYNC) != sync:
            raise PluginError(f"job {job_name} is not a run of {where}'s {sync} sync")
        return job
    selector = f"{LABEL_SCHEDULE}={label_value(schedule)},{LABEL_SYNC}={sync}"
    jobs = kube.list(JOBS, kube.namespace, labelSelector=selector)
    if not jobs:
        raise PluginError(f"{where} has no run of {sync}: it has not run yet, or its Jobs are gone (history limits)")
    return max(jobs, key=_created)


def _pods(kube: Kube, job_name: str) -> list[dict[str, Any]]:
    """The run's Pods, oldest first (a retry makes another)."""
    for label in JOB_NAME_LABELS:
        pods = kube.list(PODS, kube.namespace, labelSelector=f"{label}={job_name}")
        if pods:
            return sorted(pods, key=_created)
    return []


def _log(kube: Kube, pod: dict[str, Any], tail: int) -> str:
    pod_name = pod["metadata"]["name"]
    if not (pod.get("spec") or {}).get("nodeName"):
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        raise PluginError(f"pod {pod_name} has no logs: it is not scheduled to a node yet (phase {phase})")
    container = pod["spec"]["containers"][0]["name"]
    params = {"container": container, **({"tailLines": str(tail)} if tail >= 0 else {})}
    try:
        return kube.text(PODS.path(kube.namespace, pod_name, "log"), params)
    except ApiError as error:
        raise PluginError(f"logs of pod {pod_name} unavailable: {error.message}") from None
