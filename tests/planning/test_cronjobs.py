"""The CronJobs the planner renders: valid for the API server, labelled, restricted, configured exactly."""

import re
from pathlib import Path
from typing import Any, Final, cast

import kubernetes_validate
import pytest

from erpsync.api.models import ErpSyncSchedule, ResourceRequirements
from erpsync.api.timezones import zone_names
from erpsync.api.vocabulary import SYNC_NAMES, SyncName
from erpsync.controller.sync_now import build_sync_now_job
from erpsync.planning.cronjobs import DEFAULT_WORKER_IMAGE, WorkerDefaults
from erpsync.planning.plan import plan_schedule
from erpsync_worker.config import load_config
from tests.planning.builders import DEFAULT_MODE, ERP_CONNECTOR, example_files, load_schedules
from tests.support.specs import make_schedule

OLDEST_VERSION: Final = "1.29"
NEWEST_VERSION: Final = kubernetes_validate.latest_version()

WORKER_ENV: Final = (
    "PROCORE_API_URL",
    "PROCORE_LOGIN_URL",
    "PROCORE_COMPANY_ID",
    "ERPSYNC_PROCORE_MODE",
    "PROCORE_CREDENTIALS_DIR",
    "ERP_CREDENTIALS_DIR",
    "ERPSYNC_COST_CODES",
    "ERPSYNC_CREATE_PROJECTS",
)
WORKER_ARGUMENT: Final = {
    "vendors": "vendors",
    "jobs": "jobs",
    "jobCosts": "job-costs",
    "invoicePayments": "invoice-payments",
}
# Procore's documented hosts (the table in docs/spec.md): (API base, login base).
PROCORE_HOSTS: Final = {
    "Production": ("https://api.procore.com", "https://login.procore.com"),
    "Sandbox": ("https://sandbox.procore.com", "https://login-sandbox.procore.com"),
    "MonthlySandbox": ("https://api-monthly.procore.com", "https://login-sandbox-monthly.procore.com"),
}
# Volume types the restricted Pod Security Standard allows.
RESTRICTED_VOLUME_TYPES: Final = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)

MAXIMAL_SPEC: Final[dict[str, Any]] = {
    "timeZone": "Asia/Kathmandu",
    "procore": {
        "companyId": 2**63 - 1,
        "environment": "Sandbox",
        "apiUrl": "https://procore-proxy.internal:8443/api",
        "loginUrl": "http://login-proxy.internal",
        "credentialsSecretRef": {"name": "procore.credentials"},
        "mode": "ErpConnector",
    },
    "erpConnection": {"secretRef": {"name": "erp.database"}, "queriesConfigMapRef": {"name": "erp-queries"}},
    "syncs": {
        "vendors": {"frequency": "Hourly"},
        "jobs": {"frequency": "Every2Hours", "createProjects": False, "suspend": True, "runOn": "Both"},
        "jobCosts": {"frequency": "Every4Hours", "costCodes": "Project"},
        "invoicePayments": {"frequency": "Daily", "at": "23:59"},
    },
    "worker": {
        "image": "registry.example.com/erp/worker@sha256:" + "0" * 64,
        "imagePullPolicy": "Always",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}},
        "nodeSelector": {"kubernetes.io/os": "linux", "node.example.com/pool": "batch"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"},
            {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
        "concurrencyPolicy": "Replace",
        "startingDeadlineSeconds": 0,
        "activeDeadlineSeconds": 900,
        "backoffLimit": 0,
        "successfulJobsHistoryLimit": 0,
        "failedJobsHistoryLimit": 10,
    },
}


def _all_schedules() -> list[tuple[str, ErpSyncSchedule]]:
    schedules = [(path.name, schedule) for path in example_files() for schedule in load_schedules(path)]
    schedules.append(("maximal", make_schedule(name="maximal.example", namespace="tenant-1", **MAXIMAL_SPEC)))
    schedules.append(("suspended", make_schedule(name="x" * 253, suspend=True)))
    # PublicApi mode (the default) may create the projects of new ERP jobs; ErpConnector stages them.
    public_api = {"companyId": 42, "credentialsSecretRef": {"name": "procore-credentials"}}
    jobs = {"frequency": "Daily", "createProjects": True}
    schedules.append(("creates-projects", make_schedule(procore=public_api, syncs={"jobs": jobs})))
    return schedules


SCHEDULES: Final = _all_schedules()
# (schedule, index of its CronJob): the CronJob itself is planned inside each test (the `cron_job` fixture), so
# a test checks what the planner makes when it runs, not what it made when this module was imported
# (mutation testing imports a test module once and runs it against every mutant).
CRON_JOBS: Final = [
    pytest.param(schedule, index, id=f"{source}:{cron_job['metadata']['name']}")
    for source, schedule in SCHEDULES
    for index, cron_job in enumerate(plan_schedule(schedule).cron_jobs)
]


@pytest.fixture
def cron_job(schedule: ErpSyncSchedule, request: pytest.FixtureRequest) -> dict[str, Any]:
    planned: dict[str, Any] = plan_schedule(schedule).cron_jobs[request.param]
    return planned


def test_every_example_is_covered() -> None:
    sources = {source for source, _ in SCHEDULES}
    assert {path.name for path in example_files()} <= sources
    assert len(CRON_JOBS) >= 17


def container(cron_job: dict[str, Any]) -> dict[str, Any]:
    containers = pod_spec(cron_job)["containers"]
    assert len(containers) == 1
    only: dict[str, Any] = containers[0]
    return only


def pod_spec(cron_job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def sync_of(cron_job: dict[str, Any]) -> SyncName:
    value = cron_job["metadata"]["labels"]["erpsync.io/sync"]
    assert value in SYNC_NAMES
    return cast(SyncName, value)


def environment(cron_job: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(cron_job)["env"]}


@pytest.mark.parametrize("version", [OLDEST_VERSION, NEWEST_VERSION])
@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_passes_kubernetes_validate_strict(schedule: ErpSyncSchedule, cron_job: dict[str, Any], version: str) -> None:
    try:
        kubernetes_validate.validate(cron_job, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        problem = f"Kubernetes {version}: {error.message} at {list(error.absolute_path)}"
    else:
        return
    pytest.fail(problem)  # outside the handler: the error's own text repeats the whole schema


def test_newest_version_is_really_new() -> None:
    major, minor = (int(part) for part in NEWEST_VERSION.split(".")[:2])
    assert (major, minor) >= (1, 37)


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_labels(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    name = schedule.metadata.name
    expected_schedule_label = name if len(name) <= 63 else None
    for labels in (
        cron_job["metadata"]["labels"],
        cron_job["spec"]["jobTemplate"]["metadata"]["labels"],
        cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
    ):
        assert labels["app.kubernetes.io/name"] == "erp-sync-worker"
        assert labels["app.kubernetes.io/part-of"] == "erp-sync-operator"
        assert labels["app.kubernetes.io/managed-by"] == "erp-sync-operator"
        assert labels["app.kubernetes.io/component"] == WORKER_ARGUMENT[labels["erpsync.io/sync"]]
        assert labels["app.kubernetes.io/instance"] == labels["erpsync.io/schedule"]
        assert labels["erpsync.io/sync"] in SYNC_NAMES
        if expected_schedule_label is not None:
            assert labels["erpsync.io/schedule"] == expected_schedule_label
        assert all(len(value) <= 63 for value in labels.values())
    assert cron_job["metadata"]["namespace"] == schedule.metadata.namespace
    assert "ownerReferences" not in cron_job["metadata"]


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_pod_meets_the_restricted_pod_security_standard(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    pod = pod_spec(cron_job)
    worker = container(cron_job)
    pod_security = pod["securityContext"]
    container_security = worker["securityContext"]
    run_as_user = container_security.get("runAsUser", pod_security.get("runAsUser"))
    assert isinstance(run_as_user, int) and not isinstance(run_as_user, bool) and run_as_user > 0
    assert pod_security["runAsNonRoot"] is True
    assert container_security.get("runAsNonRoot", True) is True
    assert container_security["readOnlyRootFilesystem"] is True
    assert container_security["allowPrivilegeEscalation"] is False
    assert container_security["capabilities"] == {"drop": ["ALL"]}
    assert container_security.get("privileged", False) is False
    seccomp = container_security.get("seccompProfile", pod_security.get("seccompProfile"))
    assert seccomp == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    for host_field in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(host_field, False)
    assert "initContainers" not in pod and "ephemeralContainers" not in pod
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    for volume in volumes.values():
        assert set(volume) - {"name"} <= RESTRICTED_VOLUME_TYPES, volume
    tmp = [mount for mount in worker["volumeMounts"] if mount["mountPath"] == "/tmp"]
    assert len(tmp) == 1 and "emptyDir" in volumes[tmp[0]["name"]]
    assert not tmp[0].get("readOnly", False)


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_environment_is_exactly_the_workers(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    spec = schedule.spec
    env = container(cron_job)["env"]
    names = [item["name"] for item in env]
    expected = list(WORKER_ENV)
    if spec.erp_connection.queries_config_map_ref is not None:
        expected.append("ERP_QUERIES_FILE")
    if spec.procore.mode == "ErpConnector":
        expected += ["ERPSYNC_VENDORS_APPROVAL", "ERPSYNC_JOBS_APPROVAL"]
    assert sorted(names) == sorted(expected) and len(names) == len(set(names))
    for item in env:
        assert set(item) == {"name", "value"}, f"{item['name']} is not a plain value: {item}"  # no valueFrom
        assert isinstance(item["value"], str)
    assert "envFrom" not in container(cron_job)
    values = environment(cron_job)
    assert values["PROCORE_COMPANY_ID"] == str(spec.procore.company_id)
    assert values["ERPSYNC_COST_CODES"] == spec.syncs.job_costs.cost_codes
    assert values["ERPSYNC_CREATE_PROJECTS"] == ("true" if spec.syncs.jobs.create_projects else "false")
    assert values["ERPSYNC_PROCORE_MODE"] == spec.procore.mode


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_secrets_are_read_only_volumes_at_the_env_dirs(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    spec = schedule.spec
    values = environment(cron_job)
    volumes = {volume["name"]: volume for volume in pod_spec(cron_job)["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container(cron_job)["volumeMounts"]}
    secret_volumes = {name: volume["secret"] for name, volume in volumes.items() if "secret" in volume}
    assert sorted(secret["secretName"] for secret in secret_volumes.values()) == sorted(
        [spec.procore.credentials_secret_ref.name, spec.erp_connection.secret_ref.name]
    )
    for variable, secret_name in (
        ("PROCORE_CREDENTIALS_DIR", spec.procore.credentials_secret_ref.name),
        ("ERP_CREDENTIALS_DIR", spec.erp_connection.secret_ref.name),
    ):
        mount = mounts[values[variable]]
        assert mount["readOnly"] is True
        assert volumes[mount["name"]]["secret"]["secretName"] == secret_name
        assert "subPath" not in mount
    # Readable by the worker's group only (fsGroup), never world-readable.
    for secret in secret_volumes.values():
        assert secret.get("defaultMode", 0o644) & 0o007 == 0
    assert pod_spec(cron_job)["securityContext"].get("fsGroup") is not None
    queries = spec.erp_connection.queries_config_map_ref
    if queries is None:
        assert "ERP_QUERIES_FILE" not in values
        assert not any("configMap" in volume for volume in volumes.values())
    else:
        directory, _, _ = values["ERP_QUERIES_FILE"].rpartition("/")
        mount = mounts[directory]
        assert mount["readOnly"] is True
        assert volumes[mount["name"]]["configMap"]["name"] == queries.name


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_schedule_time_zone_and_command(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    spec = cron_job["spec"]
    assert spec["timeZone"] == schedule.spec.time_zone
    assert "TZ" not in spec["schedule"]  # neither CRON_TZ= nor TZ= (refused since 1.29)
    assert len(spec["schedule"].split()) == 5
    assert container(cron_job)["command"] == ["erp-sync-worker", "run", WORKER_ARGUMENT[sync_of(cron_job)]]
    assert "args" not in container(cron_job)
    image = schedule.spec.worker.image or DEFAULT_WORKER_IMAGE
    assert container(cron_job)["image"] == image


@pytest.mark.parametrize(("schedule", "cron_job"), CRON_JOBS, indirect=["cron_job"])
def test_cron_job_settings_come_from_the_worker_settings(schedule: ErpSyncSchedule, cron_job: dict[str, Any]) -> None:
    worker = schedule.spec.worker
    spec = cron_job["spec"]
    assert spec["concurrencyPolicy"] == worker.concurrency_policy
    assert spec["startingDeadlineSeconds"] == worker.starting_deadline_seconds
    assert spec["successfulJobsHistoryLimit"] == worker.successful_jobs_history_limit
    assert spec["failedJobsHistoryLimit"] == worker.failed_jobs_history_limit
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == worker.backoff_limit
    frequency = schedule.spec.effective_frequency(sync_of(cron_job))
    default_deadline = {"Hourly": 3600, "Every2Hours": 7200, "Every4Hours": 14400, "Daily": 86400}[frequency]
    assert job["activeDeadlineSeconds"] == (worker.active_deadline_seconds or default_deadline)


def test_maximal_spec_is_rendered_in_full() -> None:
    plan = plan_schedule(make_schedule(name="maximal.example", namespace="tenant-1", **MAXIMAL_SPEC))
    by_sync = {sync_of(cron_job): cron_job for cron_job in plan.cron_jobs}
    assert set(by_sync) == set(SYNC_NAMES)
    vendors = by_sync["vendors"]
    assert container(vendors)["imagePullPolicy"] == "Always"
    assert container(vendors)["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": 1, "memory": "1Gi"},
    }
    assert pod_spec(vendors)["nodeSelector"] == {"kubernetes.io/os": "linux", "node.example.com/pool": "batch"}
    assert pod_spec(vendors)["tolerations"] == MAXIMAL_SPEC["worker"]["tolerations"]
    assert by_sync["jobs"]["spec"]["suspend"] is True
    assert all(by_sync[sync]["spec"]["suspend"] is False for sync in ("vendors", "jobCosts", "invoicePayments"))
    assert by_sync["invoicePayments"]["spec"]["schedule"] == "59 23 * * *"
    assert environment(vendors)["ERP_QUERIES_FILE"].endswith("/queries.yaml")


@pytest.mark.parametrize("environment_name", ["Production", "Sandbox", "MonthlySandbox"])
def test_procore_environment_maps_to_its_hosts(environment_name: str) -> None:
    schedule = make_schedule(
        procore={
            "companyId": 7,
            "environment": environment_name,
            "credentialsSecretRef": {"name": "procore-credentials"},
        }
    )
    api, login = PROCORE_HOSTS[environment_name]
    for cron_job in plan_schedule(schedule).cron_jobs:
        assert environment(cron_job)["PROCORE_API_URL"] == api
        assert environment(cron_job)["PROCORE_LOGIN_URL"] == login


def test_default_environment_is_production() -> None:
    for cron_job in plan_schedule(make_schedule()).cron_jobs:
        assert (environment(cron_job)["PROCORE_API_URL"], environment(cron_job)["PROCORE_LOGIN_URL"]) == (
            PROCORE_HOSTS["Production"]
        )


@pytest.mark.parametrize("environment_name", ["Production", "MonthlySandbox"])
def test_url_overrides_win(environment_name: str) -> None:
    procore = {
        "companyId": 7,
        "environment": environment_name,
        "credentialsSecretRef": {"name": "procore-credentials"},
    }
    only_api = make_schedule(procore={**procore, "apiUrl": "https://api.proxy.example"})
    only_login = make_schedule(procore={**procore, "loginUrl": "https://login.proxy.example"})
    api, login = PROCORE_HOSTS[environment_name]
    for cron_job in plan_schedule(only_api).cron_jobs:
        assert environment(cron_job)["PROCORE_API_URL"] == "https://api.proxy.example"
        assert environment(cron_job)["PROCORE_LOGIN_URL"] == login
    for cron_job in plan_schedule(only_login).cron_jobs:
        assert environment(cron_job)["PROCORE_API_URL"] == api
        assert environment(cron_job)["PROCORE_LOGIN_URL"] == "https://login.proxy.example"


def test_suspension_keeps_the_cron_jobs() -> None:
    syncs = {"invoicePayments": {"frequency": "Hourly"}}
    active = plan_schedule(make_schedule(procore=ERP_CONNECTOR, syncs=syncs))
    suspended = plan_schedule(make_schedule(procore=ERP_CONNECTOR, syncs=syncs, suspend=True))
    assert len(active.cron_jobs) == len(suspended.cron_jobs) == 4
    assert all(cron_job["spec"]["suspend"] is False for cron_job in active.cron_jobs)
    assert all(cron_job["spec"]["suspend"] is True for cron_job in suspended.cron_jobs)
    assert all(planned.suspended for planned in suspended.syncs)
    # Apart from `suspend`, nothing changes: resuming gives back the same CronJobs.
    for before, after in zip(active.cron_jobs, suspended.cron_jobs, strict=True):
        assert {**after, "spec": {**after["spec"], "suspend": False}} == before


@pytest.mark.parametrize("sync", SYNC_NAMES)
def test_per_sync_suspension(sync: str) -> None:
    syncs: dict[str, Any] = {"invoicePayments": {"frequency": "Hourly"}}
    syncs[sync] = {**syncs.get(sync, {}), "suspend": True}
    plan = plan_schedule(make_schedule(procore=ERP_CONNECTOR, syncs=syncs))
    assert len(plan.cron_jobs) == 4
    assert {sync_of(cron_job): cron_job["spec"]["suspend"] for cron_job in plan.cron_jobs} == {
        other: other == sync for other in SYNC_NAMES
    }


def test_never_syncs_get_no_cron_job_even_when_suspended() -> None:
    plan = plan_schedule(make_schedule(procore=DEFAULT_MODE, suspend=True, syncs={"vendors": {"frequency": "Never"}}))
    assert {sync_of(cron_job) for cron_job in plan.cron_jobs} == {"jobs", "invoicePayments"}  # PublicApi: no jobCosts


def test_time_zone_defaults_to_utc() -> None:
    for cron_job in plan_schedule(make_schedule()).cron_jobs:
        assert cron_job["spec"]["timeZone"] == "UTC"


# The API server's check of a CronJob's timeZone (k8s.io/kubernetes pkg/apis/batch/validation,
# validateTimeZone): every '/'-separated part matches this, is not '.' or '..', does not start with
# '-', and the name is not "Local". It runs before time.LoadLocation, whatever the node's tzdata.
API_SERVER_ZONE_PART: Final = re.compile(r"^[A-Za-z\.\-_0-9+]{1,14}$")


def test_every_accepted_time_zone_passes_the_api_servers_check() -> None:
    refused = [
        name
        for name in zone_names()
        if name.lower() == "local"
        or any(
            part in (".", "..") or part.startswith("-") or not API_SERVER_ZONE_PART.match(part)
            for part in name.split("/")
        )
    ]
    assert refused == []
    assert {"UTC", "America/Argentina/ComodRivadavia", "America/Port-au-Prince"} <= set(zone_names())


def test_a_worker_without_resources_gets_bounded_requests_and_limits() -> None:
    # A runaway input must not take a node's memory: a worker always has a memory limit.
    plan = plan_schedule(make_schedule())
    assert plan.cron_jobs
    for cron_job in plan.cron_jobs:
        assert container(cron_job)["resources"] == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }


def test_given_resources_replace_the_defaults_whole() -> None:
    # Only requests given: no default limit is mixed in (a request above it would make the Pod invalid).
    given = {"requests": {"memory": "2Gi"}}
    plan = plan_schedule(make_schedule(worker={"resources": given}))
    assert plan.cron_jobs
    assert all(container(cron_job)["resources"] == given for cron_job in plan.cron_jobs)


def test_the_default_resources_are_the_callers_and_the_spec_still_wins() -> None:
    # A platform team's defaults (the operator's --worker-resources, the chart's workerResources) reach
    # every worker whose schedule sets no resources, scheduled and on demand; a schedule's own win whole.
    platform = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "2Gi"}}
    defaults = WorkerDefaults(
        image="registry.example/erp-sync:2", resources=ResourceRequirements.model_validate(platform)
    )
    schedule = make_schedule()
    plan = plan_schedule(schedule, defaults)
    assert plan.cron_jobs
    for cron_job in plan.cron_jobs:
        assert container(cron_job)["resources"] == platform
        assert container(cron_job)["image"] == "registry.example/erp-sync:2"
    owner = {"apiVersion": "erpsync.io/v1alpha1", "kind": "ErpSyncSchedule", "name": "acme", "uid": "u"}
    job = build_sync_now_job(schedule, "vendors", "t1", owner, defaults)
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"] == platform

    given = {"requests": {"memory": "1Gi"}}
    own = plan_schedule(make_schedule(worker={"resources": given}), defaults)
    assert own.cron_jobs
    assert all(container(cron_job)["resources"] == given for cron_job in own.cron_jobs)

    # {} is a choice too: no requests or limits (a LimitRange of the namespace may set them).
    bare = plan_schedule(schedule, WorkerDefaults(resources=ResourceRequirements()))
    assert all(container(cron_job)["resources"] == {} for cron_job in bare.cron_jobs)
    # Called without defaults (as before), the planner keeps the built-in ones: nothing global changed.
    assert all(
        container(cron_job)["resources"]
        == {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }
        for cron_job in plan_schedule(schedule).cron_jobs
    )


def test_the_cron_job_of_a_minimal_schedule_in_full() -> None:
    """Every field the planner sets for the smallest schedule: what `erp-sync render` prints, the operator applies."""
    labels = {
        "app.kubernetes.io/name": "erp-sync-worker",
        "app.kubernetes.io/instance": "acme",
        "app.kubernetes.io/component": "vendors",
        "app.kubernetes.io/part-of": "erp-sync-operator",
        "app.kubernetes.io/managed-by": "erp-sync-operator",
        "erpsync.io/schedule": "acme",
        "erpsync.io/sync": "vendors",
    }
    worker = {
        "name": "worker",
        "image": DEFAULT_WORKER_IMAGE,
        "command": ["erp-sync-worker", "run", "vendors"],
        "env": [
            {"name": "PROCORE_API_URL", "value": "https://api.procore.com"},
            {"name": "PROCORE_LOGIN_URL", "value": "https://login.procore.com"},
            {"name": "PROCORE_COMPANY_ID", "value": "42"},
            {"name": "ERPSYNC_PROCORE_MODE", "value": "PublicApi"},
            {"name": "PROCORE_CREDENTIALS_DIR", "value": "/var/run/secrets/erpsync/procore"},
            {"name": "ERP_CREDENTIALS_DIR", "value": "/var/run/secrets/erpsync/erp"},
            {"name": "ERPSYNC_COST_CODES", "value": "StandardAndProject"},
            {"name": "ERPSYNC_CREATE_PROJECTS", "value": "false"},
        ],
        "volumeMounts": [
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "procore-credentials", "mountPath": "/var/run/secrets/erpsync/procore", "readOnly": True},
            {"name": "erp-credentials", "mountPath": "/var/run/secrets/erpsync/erp", "readOnly": True},
        ],
        # The worker writes its JSON summary here; the operator reads it back from the Pod's status.
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True}
        | {"capabilities": {"drop": ["ALL"]}},  # the restricted Pod Security Standard, as the pod's below
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "fsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [worker],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            {"name": "procore-credentials", "secret": {"secretName": "procore-credentials", "defaultMode": 0o440}},
            {"name": "erp-credentials", "secret": {"secretName": "erp-database", "defaultMode": 0o440}},
        ],
    }
    plan = plan_schedule(
        make_schedule(namespace="erp", procore=DEFAULT_MODE, syncs={"vendors": {"frequency": "Hourly"}})
    )
    vendors = next(cron_job for cron_job in plan.cron_jobs if sync_of(cron_job) == "vendors")
    assert vendors == {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "acme-vendors", "namespace": "erp", "labels": labels},
        "spec": {
            "schedule": vendors["spec"]["schedule"],  # the slot: test_cron.py and the pinned examples
            "timeZone": "UTC",
            "suspend": False,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": {**labels, "erpsync.io/trigger": "Scheduled"}},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": 3600,
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            },
        },
    }


def test_a_queries_config_map_is_mounted_read_only_where_the_worker_looks() -> None:
    spec = {"secretRef": {"name": "erp-database"}, "queriesConfigMapRef": {"name": "erp-queries"}}
    cron_job = plan_schedule(make_schedule(erpConnection=spec)).cron_jobs[0]
    assert environment(cron_job)["ERP_QUERIES_FILE"] == "/etc/erpsync/queries/queries.yaml"
    assert pod_spec(cron_job)["volumes"][-1] == {
        "name": "erp-queries",
        "configMap": {"name": "erp-queries", "defaultMode": 0o444},
    }
    assert container(cron_job)["volumeMounts"][-1] == {
        "name": "erp-queries",
        "mountPath": "/etc/erpsync/queries",
        "readOnly": True,
    }


# runOn: (procore, the sync's settings) -> (effective runOn, frequency, has a CronJob). ErpRequests alone has no
# scheduled runs (frequency Never, no CronJob); PublicApi defaults to Schedule, ErpConnector to Both.
RUN_ON_PLANS: Final = [
    (DEFAULT_MODE, {}, ("Schedule", "Hourly", True)),
    (ERP_CONNECTOR, {}, ("Both", "Hourly", True)),
    (ERP_CONNECTOR, {"runOn": "Schedule", "frequency": "Daily"}, ("Schedule", "Daily", True)),
    (ERP_CONNECTOR, {"runOn": "Both", "frequency": "Never"}, ("Both", "Never", False)),
    (ERP_CONNECTOR, {"runOn": "ErpRequests"}, ("ErpRequests", "Never", False)),
    (ERP_CONNECTOR, {"runOn": "ErpRequests", "frequency": "Never"}, ("ErpRequests", "Never", False)),
]


@pytest.mark.parametrize(("procore", "settings", "expected"), RUN_ON_PLANS)
def test_run_on_decides_whether_a_sync_has_a_cron_job(
    procore: dict[str, Any], settings: dict[str, Any], expected: tuple[str, str, bool]
) -> None:
    schedule = make_schedule(procore=procore, syncs={"vendors": settings})
    vendors = plan_schedule(schedule).syncs[0]
    assert (vendors.run_on, vendors.frequency, vendors.cron_job is not None) == expected
    assert (vendors.cron_job_name is not None, vendors.schedule is not None) == (expected[2], expected[2])
    # Sync now still runs it, with the same mode as every run.
    job = build_sync_now_job(schedule, "vendors", "now-1", {"kind": "ErpSyncSchedule", "name": "acme"})
    job_env = {item["name"]: item["value"] for item in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert job_env["ERPSYNC_PROCORE_MODE"] == schedule.spec.procore.mode


@pytest.mark.parametrize("mode", ["PublicApi", "ErpConnector", None])
def test_the_worker_reads_the_mode_the_planner_sets(mode: str | None, tmp_path: Path) -> None:
    for key in ("client_id", "client_secret", "url"):
        (tmp_path / key).write_text("x", encoding="utf-8")
    procore = {**DEFAULT_MODE, "mode": mode} if mode else DEFAULT_MODE
    cron_job = plan_schedule(make_schedule(procore=procore)).cron_jobs[0]
    env = {**environment(cron_job), "PROCORE_CREDENTIALS_DIR": str(tmp_path), "ERP_CREDENTIALS_DIR": str(tmp_path)}
    if mode is None:  # a CronJob of an operator older than the modes: the public-API way, as it ran
        del env["ERPSYNC_PROCORE_MODE"]
    assert load_config(env).procore_mode == (mode or "PublicApi")


@pytest.mark.parametrize(
    ("syncs", "expected"),
    [
        ({}, ("Required", "Required")),  # Procore's approver by default
        ({"vendors": {"approval": "Automatic"}}, ("Automatic", "Required")),
        ({"jobs": {"approval": "Automatic"}, "vendors": {"approval": "Required"}}, ("Required", "Automatic")),
    ],
)
def test_the_worker_reads_the_approval_of_vendors_and_jobs(
    syncs: dict[str, Any], expected: tuple[str, str], tmp_path: Path
) -> None:
    for key in ("client_id", "client_secret", "url"):
        (tmp_path / key).write_text("x", encoding="utf-8")
    cron_job = plan_schedule(make_schedule(procore=ERP_CONNECTOR, syncs=syncs)).cron_jobs[0]
    env = {**environment(cron_job), "PROCORE_CREDENTIALS_DIR": str(tmp_path), "ERP_CREDENTIALS_DIR": str(tmp_path)}
    config = load_config(env)
    assert (config.vendors_approval, config.jobs_approval) == expected
    public = environment(plan_schedule(make_schedule(procore=DEFAULT_MODE)).cron_jobs[0])
    assert "ERPSYNC_VENDORS_APPROVAL" not in public  # a PublicApi CronJob is as it was before approval existed
