"""Pure builders of the batch/v1 objects that run the sync workers.

`build_job_template` is shared by the CronJobs (scheduled runs) and by the operator's sync-now Jobs
(on-demand runs), so both run exactly the same pod.
"""

from dataclasses import dataclass
from typing import Any, Final

from erpsync.api.models import ErpSyncScheduleSpec, ResourceRequirements
from erpsync.api.vocabulary import PROCORE_HOSTS, WORKER_SYNC_ARGUMENT, SyncName
from erpsync.planning.names import label_value

WORKER_USER_ID: Final = 65532  # the image's non-root user; numeric so runAsNonRoot can be checked
PROCORE_CREDENTIALS_DIR: Final = "/var/run/secrets/erpsync/procore"
ERP_CREDENTIALS_DIR: Final = "/var/run/secrets/erpsync/erp"
ERP_QUERIES_DIR: Final = "/etc/erpsync/queries"
ERP_QUERIES_KEY: Final = "queries.yaml"
SECRET_FILE_MODE: Final = 0o440  # readable by the worker's group (fsGroup), nobody else

LABEL_SCHEDULE: Final = "erpsync.io/schedule"
LABEL_SYNC: Final = "erpsync.io/sync"
LABEL_TRIGGER: Final = "erpsync.io/trigger"
MANAGED_BY: Final = "erp-sync-operator"
DEFAULT_WORKER_IMAGE: Final = "ghcr.io/erp-sync-operator/erp-sync-operator:0.1.0"
# A worker's container when spec.worker.resources says nothing: a run that meets a runaway input is
# stopped at 512 MiB instead of taking the node's memory (measured: 56-85 MiB at 100,000 vendors,
# docs/benchmarks.md). Given resources replace these whole, so requests above them stay valid.
DEFAULT_WORKER_RESOURCES: Final = ResourceRequirements.model_validate(
    {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
)


@dataclass(frozen=True)
class WorkerDefaults:
    """What a worker gets where its schedule's spec.worker says nothing: the operator's --worker-image
    and --worker-resources (the chart's workerImage and workerResources; `erp-sync render`'s flags).
    A parameter of the planner, not a global: the CLI and the operator each pass their own."""

    image: str = DEFAULT_WORKER_IMAGE
    resources: ResourceRequirements = DEFAULT_WORKER_RESOURCES


BUILT_IN_WORKER_DEFAULTS: Final = WorkerDefaults()


def labels(schedule_name: str, sync: SyncName) -> dict[str, str]:
    """The labels of every object made for one sync of one schedule (also the selector of them)."""
    return {
        "app.kubernetes.io/name": "erp-sync-worker",
        "app.kubernetes.io/instance": label_value(schedule_name),
        "app.kubernetes.io/component": WORKER_SYNC_ARGUMENT[sync],
        "app.kubernetes.io/part-of": "erp-sync-operator",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        LABEL_SCHEDULE: label_value(schedule_name),
        LABEL_SYNC: sync,
    }


def worker_environment(spec: ErpSyncScheduleSpec) -> list[dict[str, str]]:
    """The worker's configuration: exactly the environment the worker reads (erpsync_worker/config.py)."""
    api_url, login_url = PROCORE_HOSTS[spec.procore.environment]
    environment = [
        {"name": "PROCORE_API_URL", "value": spec.procore.api_url or api_url},
        {"name": "PROCORE_LOGIN_URL", "value": spec.procore.login_url or login_url},
        {"name": "PROCORE_COMPANY_ID", "value": str(spec.procore.company_id)},
        {"name": "ERPSYNC_PROCORE_MODE", "value": spec.procore.mode},
        {"name": "PROCORE_CREDENTIALS_DIR", "value": PROCORE_CREDENTIALS_DIR},
        {"name": "ERP_CREDENTIALS_DIR", "value": ERP_CREDENTIALS_DIR},
        {"name": "ERPSYNC_COST_CODES", "value": spec.syncs.job_costs.cost_codes},
        {"name": "ERPSYNC_CREATE_PROJECTS", "value": "true" if spec.syncs.jobs.create_projects else "false"},
    ]
    if spec.procore.mode == "ErpConnector":  # only there: a PublicApi CronJob stays as it was
        environment += [
            {"name": "ERPSYNC_VENDORS_APPROVAL", "value": spec.syncs.vendors.approval or "Required"},
            {"name": "ERPSYNC_JOBS_APPROVAL", "value": spec.syncs.jobs.approval or "Required"},
        ]
    if spec.erp_connection.queries_config_map_ref is not None:
        environment.append({"name": "ERP_QUERIES_FILE", "value": f"{ERP_QUERIES_DIR}/{ERP_QUERIES_KEY}"})
    return environment


def _volumes(spec: ErpSyncScheduleSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
        {
            "name": "procore-credentials",
            "secret": {
                "secretName": spec.procore.credentials_secret_ref.name,
                "defaultMode": SECRET_FILE_MODE,
            },
        },
        {
            "name": "erp-credentials",
            "secret": {"secretName": spec.erp_connection.secret_ref.name, "defaultMode": SECRET_FILE_MODE},
        },
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "procore-credentials", "mountPath": PROCORE_CREDENTIALS_DIR, "readOnly": True},
        {"name": "erp-credentials", "mountPath": ERP_CREDENTIALS_DIR, "readOnly": True},
    ]
    queries = spec.erp_connection.queries_config_map_ref
    if queries is not None:
        volumes.append({"name": "erp-queries", "configMap": {"name": queries.name, "defaultMode": 0o444}})
        mounts.append({"name": "erp-queries", "mountPath": ERP_QUERIES_DIR, "readOnly": True})
    return volumes, mounts


def build_job_template(
    spec: ErpSyncScheduleSpec,
    schedule_name: str,
    sync: SyncName,
    defaults: WorkerDefaults,
    active_deadline_seconds: int,
) -> dict[str, Any]:
    """The Job spec that runs one sync once (a CronJob's jobTemplate.spec, or a sync-now Job's spec)."""
    worker = spec.worker
    volumes, mounts = _volumes(spec)
    resources = worker.resources if worker.resources is not None else defaults.resources
    container: dict[str, Any] = {
        "name": "worker",
        "image": worker.image or defaults.image,
        "command": ["erp-sync-worker", "run", WORKER_SYNC_ARGUMENT[sync]],
        "env": worker_environment(spec),
        "volumeMounts": mounts,
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if worker.image_pull_policy is not None:
        container["imagePullPolicy"] = worker.image_pull_policy
    container["resources"] = resources.model_dump(exclude_none=True)
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKER_USER_ID,
            "runAsGroup": WORKER_USER_ID,
            "fsGroup": WORKER_USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if worker.node_selector:
        pod_spec["nodeSelector"] = dict(worker.node_selector)
    if worker.tolerations:
        pod_spec["tolerations"] = [t.model_dump(exclude_none=True) for t in worker.tolerations]
    return {
        "backoffLimit": worker.backoff_limit,
        "activeDeadlineSeconds": worker.active_deadline_seconds or active_deadline_seconds,
        "template": {
            "metadata": {"labels": labels(schedule_name, sync)},
            "spec": pod_spec,
        },
    }


def build_cron_job(
    *,
    spec: ErpSyncScheduleSpec,
    namespace: str,
    schedule_name: str,
    sync: SyncName,
    name: str,
    schedule: str,
    defaults: WorkerDefaults,
    suspend: bool,
    active_deadline_seconds: int,
) -> dict[str, Any]:
    """The CronJob of one sync (without the owner reference, which needs the live object's uid)."""
    worker = spec.worker
    object_labels = labels(schedule_name, sync)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace, "labels": object_labels},
        "spec": {
            "schedule": schedule,
            "timeZone": spec.time_zone,
            "suspend": suspend,
            "concurrencyPolicy": worker.concurrency_policy,
            "startingDeadlineSeconds": worker.starting_deadline_seconds,
            "successfulJobsHistoryLimit": worker.successful_jobs_history_limit,
            "failedJobsHistoryLimit": worker.failed_jobs_history_limit,
            "jobTemplate": {
                "metadata": {"labels": {**object_labels, LABEL_TRIGGER: "Scheduled"}},
                "spec": build_job_template(spec, schedule_name, sync, defaults, active_deadline_seconds),
            },
        },
    }
