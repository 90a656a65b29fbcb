"""The chart on a real Kubernetes control plane: installed, upgraded and uninstalled by the real Helm 4
and Helm 3, in both RBAC scopes; the operator run with the chart's ServiceAccount identity and the
installed Deployment's arguments; least privilege proven by the API server's own RBAC authorizer.

No kubelet runs, so the Deployment's Pod never starts (nothing here waits for a rollout). The operator
runs outside the cluster instead, as the Pod would run it: the Deployment's command and arguments,
and a TokenRequest token of the chart's ServiceAccount in place of the Pod's projected token. What it
may do is what the API server lets that identity do: the audit log names the user and the RBAC binding
that allowed each of its calls, `kubectl auth can-i --as` asks the authorizer, and refused calls are
tried for real.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import pytest
import yaml

from erpsync.api.validation import validate_object
from erpsync.controller.reconcile import _Pass, _with_owner
from erpsync.planning.plan import plan_schedule
from erpsync_testbed import ControlPlane, audit
from erpsync_testbed.client import ApiClient
from erpsync_testbed.control_plane import free_port, stop_process
from tests.operator.conftest import http_get, is_ready, wait_for
from tests.ship.helm import CHART, RELEASE, RELEASE_NAMESPACE, REPO, Helm, documents, only

SCOPES: Final = ("cluster", "namespaced")
HELMS: Final = ("helm4", "helm3")
OPERATOR_BINARY: Final = Path(sys.executable).with_name("erp-sync")
CRD_NAME: Final = "erpsyncschedules.erpsync.io"
SCHEDULES: Final = "/apis/erpsync.io/v1alpha1"
# In a Pod, kopf logs in with this token before it reads KUBECONFIG: on a machine that has one, the
# operator would not be the chart's ServiceAccount.
POD_TOKEN: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# The upgrade: other resources and a log level (--verbose, through extraArgs).
UPGRADE: Final[dict[str, Any]] = {
    "resources": {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "384Mi"}},
    "extraArgs": ["--verbose"],
}
SYNC_NOW_SCHEDULE: Final = "acme-generic"  # examples/generic.yaml: every sync, so a sync now starts four Jobs
SYNC_NOW_REFERENCE: Final = f"erpsyncschedule/{SYNC_NOW_SCHEDULE}"
# People, bound in a watched namespace to the built-in roles the chart's roles aggregate into.
ADMIN_USER, EDITOR_USER, VIEWER_USER = "alice", "edna", "victor"
PEOPLE: Final = {ADMIN_USER: "admin", EDITOR_USER: "edit", VIEWER_USER: "view"}
# "403" as a status, not inside a timestamp (.140312), a uid or a resourceVersion.
HTTP_403: Final = re.compile(r"(?<![\w.:,+-])403(?![\w.:])")
# PodSecurity admission: Pods breaking the restricted standard are refused; a CronJob's or Job's pod
# template breaking it is audited (this annotation on the create's audit event) and warned about.
RESTRICTED: Final = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
POD_SECURITY_VIOLATIONS: Final = "pod-security.kubernetes.io/audit-violations"
# The admission plugin that checks who may set blockOwnerDeletion (off by default; on in OpenShift).
OWNER_REFERENCES_ENFORCED: Final = "--enable-admission-plugins=OwnerReferencesPermissionEnforcement"
FINALIZERS_RULE: Final = {
    "apiGroups": ["erpsync.io"],
    "resources": ["erpsyncschedules/finalizers"],
    "verbs": ["update"],
}


# Fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def watched(control_plane: ControlPlane, namespace: str) -> Iterator[tuple[str, str]]:
    """Two more namespaces for schedules (the `namespace` fixture holds the release), under the restricted
    Pod Security Standard (the API server's PodSecurity admission); deleted afterwards."""
    client = control_plane.client()
    names = (f"{namespace}-a", f"{namespace}-b")
    for name in names:
        metadata = {"name": name, "labels": RESTRICTED}
        client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
    for name in names:  # the job controller's Pods wait for the namespace's default ServiceAccount
        wait_for(
            f"ServiceAccount {name}/default",
            functools.partial(has_default_account, client, name),
            timeout=30,
        )
    yield names
    for name in names:
        client.delete(f"/api/v1/namespaces/{name}")
    client.close()


# Helpers -------------------------------------------------------------------------------------------------


def has_default_account(client: ApiClient, namespace: str) -> bool:
    return client.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/default").status == 200


def chart_values(scope: str, watched: Sequence[str]) -> dict[str, Any]:
    """cluster: the chart's defaults (every namespace). namespaced: watchNamespaces alone, rbac.scope left
    at its default: the Roles in each watched namespace follow from watchNamespaces."""
    if scope == "cluster":
        return {}
    return {"watchNamespaces": list(watched)}


def kubectl_objects(control_plane: ControlPlane, manifest: str) -> list[dict[str, Any]]:
    """The objects of `manifest` as they are in the cluster now (the missing ones left out)."""
    result = control_plane.kubectl("get", "--ignore-not-found", "-o", "json", "-f", "-", input=manifest)
    if not result.stdout.strip():
        return []
    listed = json.loads(result.stdout)
    items: list[dict[str, Any]] = listed["items"] if listed.get("kind") == "List" else [listed]
    return items


def identity(obj: Mapping[str, Any]) -> str:
    namespace = obj["metadata"].get("namespace")
    return f"{obj['kind']} {namespace + '/' if namespace else ''}{obj['metadata']['name']}"


def field_managers(obj: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(entry["manager"], entry["operation"]) for entry in obj["metadata"].get("managedFields") or ()}


def helm_status(helm: Helm, namespace: str) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(helm.ok("status", RELEASE, "--namespace", namespace, "--output", "json"))
    return status


def can_i(control_plane: ControlPlane, user: str, verb: str, resource: str, *where: str) -> bool:
    """`kubectl auth can-i` as `user` (impersonated by the admin): the API server's RBAC authorizer answers."""
    result = control_plane.kubectl("auth", "can-i", verb, resource, *where, f"--as={user}", check=False)
    answer = result.stdout.strip()
    assert answer in ("yes", "no"), f"can-i {verb} {resource} {where} as {user}: {answer!r} {result.stderr}"
    return answer == "yes"


@dataclass(frozen=True)
class Expect:
    """`user` may (or may not) `verb` the `resource`, `where` being kubectl's -n NS, --all-namespaces..."""

    user: str
    verb: str
    resource: str
    where: tuple[str, ...]
    allowed: bool

    def __str__(self) -> str:
        return f"{self.user} {self.verb} {self.resource} {' '.join(self.where)}: {'yes' if self.allowed else 'no'}"


def wrong_answers(control_plane: ControlPlane, expectations: Sequence[Expect]) -> list[str]:
    """The expectations the authorizer contradicts (kubectl runs in parallel: each takes ~0.1s of CPU)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(lambda e: can_i(control_plane, e.user, e.verb, e.resource, *e.where), expectations)
        return [str(expect) for expect, answer in zip(expectations, answers, strict=True) if answer != expect.allowed]


def example_schedules(namespaces: Sequence[str]) -> list[dict[str, Any]]:
    """Every schedule in examples/, spread over `namespaces` (the sync-now schedule in the first)."""
    schedules = [doc for path in sorted((REPO / "examples").glob("*.yaml")) for doc in documents(path.read_text())]
    assert len(schedules) >= 7 and all(doc["kind"] == "ErpSyncSchedule" for doc in schedules)
    others = [doc for doc in schedules if doc["metadata"]["name"] != SYNC_NOW_SCHEDULE]
    (first,) = [doc for doc in schedules if doc["metadata"]["name"] == SYNC_NOW_SCHEDULE]
    for index, doc in enumerate([first, *others]):
        doc["metadata"]["namespace"] = namespaces[index % len(namespaces)]
    return [first, *others]


def ready(client: ApiClient, namespace: str, name: str) -> bool:
    return is_ready(client.get(f"{SCHEDULES}/namespaces/{namespace}/erpsyncschedules/{name}"))


def operator_command(deployment: Mapping[str, Any], liveness_port: int, metrics_port: int) -> list[str]:
    """The Deployment's command and arguments, with only what must change outside a Pod replaced.

    - `erp-sync` is the same console script, from this virtualenv instead of the image's PATH;
    - `--liveness http://0.0.0.0:8080/healthz`: the same path, on a free loopback port: 8080 in a Pod
      is the Pod's own network namespace, here it is this machine's (maybe taken, and 0.0.0.0 would
      open it to the network);
    - `--metrics-port 9090`: a free port, for the same reason.
    Every other argument (namespaces, worker image, log format and level, --standalone) is the chart's.
    """
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["erp-sync"]
    args = list(container["args"])
    liveness = args.index("--liveness") + 1
    url = urllib.parse.urlsplit(args[liveness])
    assert url.path == container["livenessProbe"]["httpGet"]["path"]
    args[liveness] = url._replace(netloc=f"127.0.0.1:{liveness_port}").geturl()
    args[args.index("--metrics-port") + 1] = str(metrics_port)
    return [str(OPERATOR_BINARY), *args]


@contextlib.contextmanager
def operator_process(command: Sequence[str], kubeconfig: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The operator with `kubeconfig` as its only way in (no in-cluster variables); stopped at the end."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBERNETES_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env={**env, "KUBECONFIG": str(kubeconfig)}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        stop_process(process, grace=20)


def call_of(event: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    """(verb, group, resource[/subresource], namespace) of an audited resource request."""
    ref = event["objectRef"]
    resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
    return event["verb"], ref.get("apiGroup", ""), resource, ref.get("namespace")


def granted_by_chart(event: Mapping[str, Any], namespace: str) -> bool:
    """The RBAC authorizer allowed the call through one of the chart's bindings (the audit says which)."""
    reason = event.get("annotations", {}).get("authorization.k8s.io/reason", "")
    cluster = f'ClusterRoleBinding "{RELEASE}" of ClusterRole "{RELEASE}"'
    role = f'RoleBinding "{RELEASE}/{namespace}" of Role "{RELEASE}"'
    lease = f'RoleBinding "{RELEASE}-leader-election/{namespace}" of Role "{RELEASE}-leader-election"'
    return event.get("annotations", {}).get("authorization.k8s.io/decision") == "allow" and (
        cluster in reason or role in reason or lease in reason
    )


# Phases --------------------------------------------------------------------------------------------------


def install(control_plane: ControlPlane, helm: Helm, namespace: str, values: Mapping[str, Any]) -> str:
    """`helm install`; every object of the release exists, the existing CRD's spec unchanged. Returns the manifest."""
    crd_before = control_plane.client().get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")
    helm.ok("install", RELEASE, str(CHART), "--namespace", namespace, *helm.values_args(values, "install"))
    status = helm_status(helm, namespace)
    assert (status["version"], status["info"]["status"]) == (1, "deployed"), status["info"]
    manifest = helm.ok("get", "manifest", RELEASE, "--namespace", namespace)
    expected = documents(manifest)
    kinds = sorted(obj["kind"] for obj in expected)
    assert kinds == sorted(
        [
            "ClusterRole",  # the operator's
            "ClusterRole",  # erp-sync-admin
            "ClusterRole",  # erp-sync-viewer
            "ClusterRoleBinding",
            "Deployment",
            "ServiceAccount",
            "Role",  # leader election: its Lease, in the release's namespace
            "RoleBinding",
            *(["Role", "RoleBinding"] * len(values.get("watchNamespaces", ()))),
        ]
    ), kinds
    installed = {identity(obj): obj for obj in kubectl_objects(control_plane, manifest)}
    assert sorted(installed) == sorted(identity(obj) for obj in expected)
    for obj in installed.values():
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm", identity(obj)
        assert obj["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE, identity(obj)
    # The CRD was there already (crd_established, the same file): it is no object of the release, and
    # its spec is unchanged. Helm 3 leaves an existing CRD alone; Helm 4 (4.1) server-side applies the
    # chart's crds/ copy onto it at install (field manager "helm"): with the same file, no change.
    crd_after = control_plane.client().get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")
    assert crd_after["metadata"]["generation"] == crd_before["metadata"]["generation"]
    assert "meta.helm.sh/release-name" not in (crd_after["metadata"].get("annotations") or {})
    if helm.name == "helm3":
        assert field_managers(crd_after) == field_managers(crd_before)
    else:
        assert ("helm", "Apply") in field_managers(crd_after)
    return manifest


def upgrade(control_plane: ControlPlane, helm: Helm, namespace: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`helm upgrade` with other resources and --verbose: the Deployment changes. Returns it."""
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{RELEASE}"
    before = control_plane.client().get(path)
    (container,) = before["spec"]["template"]["spec"]["containers"]
    assert container["resources"] != UPGRADE["resources"] and "--verbose" not in container["args"]
    helm.ok("upgrade", RELEASE, str(CHART), "--namespace", namespace, *helm.values_args(values, "upgrade"))
    status = helm_status(helm, namespace)
    assert (status["version"], status["info"]["status"]) == (2, "deployed"), status["info"]
    after = control_plane.client().get(path)
    (container,) = after["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == UPGRADE["resources"]
    assert container["args"][-1] == "--verbose"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    return after


def uninstall(control_plane: ControlPlane, helm: Helm, namespace: str, manifest: str) -> None:
    """`helm uninstall`: every object of the release is gone; the CRD stays."""
    helm.ok("uninstall", RELEASE, "--namespace", namespace)
    wait_for(
        "the release's objects to be deleted",
        lambda: not kubectl_objects(control_plane, manifest) or None,
        timeout=30,
    )
    assert helm.run("status", RELEASE, "--namespace", namespace).returncode != 0
    control_plane.client().get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")


def bind_people(control_plane: ControlPlane, namespace: str) -> None:
    """RoleBindings to the built-in admin, edit and view ClusterRoles; wait for the chart's roles to reach them."""
    for user, role in PEOPLE.items():
        control_plane.kubectl(
            "-n", namespace, "create", "rolebinding", f"{user}-{role}", f"--clusterrole={role}", f"--user={user}"
        )
    wait_for(
        "erp-sync-admin and erp-sync-viewer aggregated into admin and view",
        lambda: (
            can_i(control_plane, ADMIN_USER, "patch", "erpsyncschedules.erpsync.io", "-n", namespace)
            and can_i(control_plane, VIEWER_USER, "list", "erpsyncschedules.erpsync.io", "-n", namespace)
        ),
        timeout=30,
        interval=0.2,
    )


def check_people(control_plane: ControlPlane, namespace: str) -> None:
    """Viewers and editors read schedules; only admins change them (so only admins ask for a sync now)."""
    schedules, where = "erpsyncschedules.erpsync.io", ("-n", namespace)
    expectations = [
        *(Expect(user, verb, schedules, where, True) for user in PEOPLE for verb in ("get", "list", "watch")),
        *(
            Expect(user, verb, schedules, where, user == ADMIN_USER)
            for user in PEOPLE
            for verb in ("create", "update", "patch", "delete")
        ),
        Expect(VIEWER_USER, "create", "jobs.batch", where, False),
    ]
    assert wrong_answers(control_plane, expectations) == []
    for user in (VIEWER_USER, EDITOR_USER):  # tried for real: refused
        annotation = f"erpsync.io/sync-now=by-{user}"
        result = control_plane.kubectl(
            "-n", namespace, "annotate", "--overwrite", SYNC_NOW_REFERENCE, annotation, f"--as={user}", check=False
        )
        assert result.returncode != 0, f"{user} changed a schedule"
        assert f'User "{user}" cannot patch resource "erpsyncschedules"' in result.stderr, result.stderr


def check_operator_account(
    control_plane: ControlPlane,
    account: str,
    release_namespace: str,
    watched: Sequence[str],
    scope: str,
    kubeconfig: Path,
) -> None:
    """What the chart's ServiceAccount may not do, asked of the authorizer and tried with its own token."""
    first = watched[0]
    places = [("-n", release_namespace), ("-n", "kube-system"), ("-n", first), ("--all-namespaces",)]
    expectations = [
        *(Expect(account, verb, "secrets", where, False) for verb in ("get", "list", "watch") for where in places),
        *(Expect(account, verb, "pods", where, False) for verb in ("create", "delete") for where in places),
        *(
            Expect(account, verb, resource, ("-n", first), False)
            for verb, resource in [
                ("patch", "pods"),
                ("update", "erpsyncschedules.erpsync.io"),  # it writes /status only
                ("patch", "erpsyncschedules.erpsync.io"),
                ("create", "erpsyncschedules.erpsync.io"),
                ("delete", "erpsyncschedules.erpsync.io"),
                ("delete", "jobs.batch"),
                ("create", "rolebindings.rbac.authorization.k8s.io"),
            ]
        ),
        # (pods/exec would ask about a pod named "exec": subresources go in --subresource)
        Expect(account, "create", "pods", ("--subresource=exec", "-n", first), False),
        Expect(account, "get", "pods", ("--subresource=log", "-n", first), False),
        # What it is granted: the answers above are "no" because the rules are narrow, not because can-i
        # cannot say yes for this identity.
        Expect(account, "create", "jobs.batch", ("-n", first), True),
        Expect(account, "patch", "erpsyncschedules.erpsync.io", ("--subresource=status", "-n", first), True),
        Expect(account, "create", "events", ("-n", first), True),
        Expect(account, "watch", "pods", ("-n", first), True),
        Expect(account, "list", "customresourcedefinitions.apiextensions.k8s.io", (), True),
        # The scope: namespaced rules stop at the watched namespaces; cluster rules reach everywhere.
        Expect(account, "create", "cronjobs.batch", ("-n", release_namespace), scope == "cluster"),
        Expect(account, "list", "erpsyncschedules.erpsync.io", ("--all-namespaces",), scope == "cluster"),
    ]
    assert wrong_answers(control_plane, expectations) == []
    # With its own token: the API server says who it is, and refuses.
    whoami = json.loads(control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig).stdout)
    assert whoami["status"]["userInfo"]["username"] == account
    for where in (("-n", release_namespace), ("-n", "kube-system"), ("--all-namespaces",)):
        result = control_plane.kubectl("get", "secrets", *where, kubeconfig=kubeconfig, check=False)
        assert result.returncode != 0, f"the operator's account read Secrets {where}"
        assert f'User "{account}" cannot list resource "secrets"' in result.stderr, result.stderr
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "not-allowed", "namespace": first},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    result = control_plane.kubectl("create", "-f", "-", kubeconfig=kubeconfig, input=json.dumps(pod), check=False)
    assert result.returncode != 0, "the operator's account created a Pod"
    assert f'User "{account}" cannot create resource "pods"' in result.stderr, result.stderr


# The operator under the chart's identity ------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorRun:
    output: str  # its log
    kubeconfig: Path  # the ServiceAccount's (a TokenRequest token)
    token: str  # that token
    calls: list[dict[str, Any]]  # the audit events of its resource requests
    sync_now_jobs: list[dict[str, Any]]


def admin_kubectl(control_plane: ControlPlane, namespace: str, *args: str) -> None:
    """kubectl as the namespace admin (a person bound to the built-in admin role)."""
    control_plane.kubectl("-n", namespace, *args, f"--as={ADMIN_USER}")


def drive_operator(
    control_plane: ControlPlane,
    client: ApiClient,
    schedules: Sequence[Mapping[str, Any]],
    sync_now: str,
    liveness_port: int,
    metrics_port: int,
) -> None:
    """With the operator running: every schedule Ready, then the namespace admin's sync now and an edit."""
    wait_for("the liveness endpoint", lambda: http_get(f"http://127.0.0.1:{liveness_port}/healthz"), 30)
    for schedule in schedules:
        metadata = schedule["metadata"]
        wait_for(
            f"{metadata['namespace']}/{metadata['name']} Ready",
            functools.partial(ready, client, metadata["namespace"], metadata["name"]),
            timeout=60,
            interval=0.2,
        )
    target = schedules[0]["metadata"]["namespace"]
    schedule_path = f"{SCHEDULES}/namespaces/{target}/erpsyncschedules/{SYNC_NOW_SCHEDULE}"
    cron_jobs_path = f"/apis/batch/v1/namespaces/{target}/cronjobs/{SYNC_NOW_SCHEDULE}"
    # Sync now: the operator starts one Job per sync.
    admin_kubectl(
        control_plane, target, "annotate", "--overwrite", SYNC_NOW_REFERENCE, f"erpsync.io/sync-now={sync_now}"
    )
    wait_for(
        "the sync now handled",
        lambda: (client.get(schedule_path).get("status") or {}).get("lastHandledSyncNow") == sync_now,
        timeout=30,
    )
    # An edit: the operator patches one CronJob and deletes another.
    hourly = client.get(f"{cron_jobs_path}-vendors")["spec"]["schedule"]
    edit = {"vendors": {"frequency": "Every2Hours"}, "invoicePayments": {"frequency": "Never", "at": None}}
    admin_kubectl(
        control_plane, target, "patch", SYNC_NOW_REFERENCE, "--type=merge", "-p", json.dumps({"spec": {"syncs": edit}})
    )
    wait_for(
        "the edit reconciled",
        lambda: (
            ready(client, target, SYNC_NOW_SCHEDULE)
            and client.request("GET", f"{cron_jobs_path}-invoice-payments").status == 404
            and client.get(f"{cron_jobs_path}-vendors")["spec"]["schedule"] != hourly
        ),
        timeout=30,
    )
    metrics = http_get(f"http://127.0.0.1:{metrics_port}/metrics") or ""
    assert "erpsync_reconciles_total" in metrics


def run_operator(
    control_plane: ControlPlane,
    client: ApiClient,
    deployment: Mapping[str, Any],
    schedules: Sequence[Mapping[str, Any]],
    sync_now: str,
    tmp_path: Path,
) -> OperatorRun:
    """The operator with the Deployment's arguments and a token of its ServiceAccount (see drive_operator);
    stopped, with what it did."""
    namespace = deployment["metadata"]["namespace"]
    account_name = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    account = f"system:serviceaccount:{namespace}:{account_name}"
    kubeconfig = control_plane.service_account_kubeconfig(tmp_path / "operator.kubeconfig", namespace, account_name)
    token: str = yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]
    liveness_port, metrics_port = free_port(), free_port()
    command = operator_command(deployment, liveness_port, metrics_port)
    log = tmp_path / "operator.log"
    start = audit.end_offset(control_plane.audit_log)

    def calls() -> list[dict[str, Any]]:
        events, _ = audit.events_since(control_plane.audit_log, start)
        return [event for event in events if event["user"]["username"] == account and "objectRef" in event]

    try:
        with operator_process(command, kubeconfig, log):
            drive_operator(control_plane, client, schedules, sync_now, liveness_port, metrics_port)
    except AssertionError as error:  # a wait timed out: say what the API server refused the operator
        problems = log_problems(log.read_text(errors="replace"))
        raise AssertionError(f"{error}\nrefused: {refused(calls())}\nin its log: {problems[:5]}") from error
    target = schedules[0]["metadata"]["namespace"]
    jobs = client.get(
        f"/apis/batch/v1/namespaces/{target}/jobs?labelSelector=erpsync.io%2Fschedule%3D{SYNC_NOW_SCHEDULE}"
    )
    return OperatorRun(
        output=log.read_text(errors="replace"),
        kubeconfig=kubeconfig,
        token=token,
        calls=calls(),  # its watches are audited once they end: it has stopped
        sync_now_jobs=[
            job
            for job in jobs["items"]
            if (job["metadata"].get("annotations") or {}).get("erpsync.io/sync-now") == sync_now
        ],
    )


def refused(calls: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[str, str, str, str | None], int]]:
    """The calls the API server refused: ((verb, group, resource, namespace), status)."""
    return [
        (call_of(event), event["responseStatus"]["code"])
        for event in calls
        if event["responseStatus"]["code"] == 403
        or event.get("annotations", {}).get("authorization.k8s.io/decision") != "allow"
    ]


def log_problems(output: str) -> list[str]:
    """The log lines that tell of a refused call or a crash."""
    return [
        line
        for line in output.splitlines()
        if re.search(r"forbidden|traceback", line, re.IGNORECASE) or HTTP_403.search(line)
    ]


def check_operator_run(
    run: OperatorRun, client: ApiClient, schedules: Sequence[Mapping[str, Any]], scope: str, watched: Sequence[str]
) -> None:
    """Every call of the operator was allowed, by the chart's own bindings; it did its work through them."""
    target = schedules[0]["metadata"]["namespace"]
    assert refused(run.calls) == [], "the API server refused the operator"
    assert log_problems(run.output) == []
    assert run.token not in run.output
    not_chart = [call_of(event) for event in run.calls if not granted_by_chart(event, call_of(event)[3] or "")]
    assert not_chart == [], f"allowed by another binding than the chart's: {not_chart}"
    if scope == "namespaced":  # and its Lease, in the release's namespace
        assert {call_of(event)[3] for event in run.calls if call_of(event)[2] != "leases"} <= {None, *watched}
    # The test proves something only if the operator did its work through these calls.
    seen = {call_of(event)[:3] for event in run.calls}
    assert {
        ("list", "apiextensions.k8s.io", "customresourcedefinitions"),
        ("watch", "erpsync.io", "erpsyncschedules"),
        ("patch", "erpsync.io", "erpsyncschedules/status"),
        ("create", "batch", "cronjobs"),
        ("patch", "batch", "cronjobs"),
        ("delete", "batch", "cronjobs"),
        ("create", "batch", "jobs"),
        ("watch", "batch", "jobs"),
        ("watch", "", "pods"),
        ("create", "", "events"),
        ("create", "coordination.k8s.io", "leases"),  # leader election (the chart's default), on its Role
        ("update", "coordination.k8s.io", "leases"),
    } <= seen, sorted(seen)
    # The sync now's Jobs, created by the operator's identity; its Events too.
    assert len(run.sync_now_jobs) == len(schedules[0]["spec"]["syncs"]), run.sync_now_jobs
    created = [call_of(event) for event in run.calls if event["responseStatus"]["code"] == 201]
    assert created.count(("create", "batch", "jobs", target)) >= len(run.sync_now_jobs)
    assert ("create", "", "events", target) in created
    posted = {
        event["reason"]
        for event in client.get(f"/api/v1/namespaces/{target}/events")["items"]
        if event.get("reportingComponent") == "erp-sync-operator"
        and event["involvedObject"]["name"] == SYNC_NOW_SCHEDULE
    }
    assert "SyncNowStarted" in posted, posted
    # What it made meets the restricted Pod Security Standard, by the API server's own PodSecurity check:
    # no template it wrote was audited as breaking it, and the job controller's Pods were admitted.
    violations = [
        (call_of(event), event["annotations"][POD_SECURITY_VIOLATIONS])
        for event in run.calls
        if POD_SECURITY_VIOLATIONS in event.get("annotations", {})
    ]
    assert violations == []
    names = [job["metadata"]["name"] for job in run.sync_now_jobs]
    wait_for(
        "a Pod admitted for each sync-now Job",
        lambda: (
            {
                pod["metadata"]["labels"].get("job-name")
                for pod in client.get(f"/api/v1/namespaces/{target}/pods")["items"]
            }
            >= set(names)
        ),
        timeout=30,
    )


# The test ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("helm_name", HELMS)
def test_chart_installed_and_the_operator_runs_as_its_service_account(
    crd_established: ControlPlane,
    namespace: str,
    watched: tuple[str, str],
    tmp_path: Path,
    helm_name: str,
    scope: str,
) -> None:
    """One release per helm and RBAC scope, shared by every assertion: install, upgrade, people's roles,
    the operator under the release's identity, the identity's limits, uninstall."""
    control_plane = crd_established
    assert not POD_TOKEN.exists(), f"{POD_TOKEN} exists: kopf would log in with it instead of the kubeconfig"
    helm = Helm.make(helm_name, tmp_path / helm_name).on_cluster(control_plane.kubeconfig)
    values = chart_values(scope, watched)
    client = control_plane.client()
    installed = True  # from the first helm call on: the finally clause removes a release a failure left
    try:
        manifest = install(control_plane, helm, namespace, values)
        deployment = upgrade(control_plane, helm, namespace, {**values, **UPGRADE})
        account_name = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        assert only(documents(manifest), "ServiceAccount")["metadata"]["name"] == account_name
        account = f"system:serviceaccount:{namespace}:{account_name}"

        schedules = example_schedules(watched)
        target = schedules[0]["metadata"]["namespace"]
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(schedules))
        bind_people(control_plane, target)
        check_people(control_plane, target)

        if scope == "cluster":  # it sees every namespace: only this test's schedules may be there
            wait_for(
                "no schedule outside this test's namespaces",
                lambda: all(
                    item["metadata"]["namespace"] in watched
                    for item in client.get(f"{SCHEDULES}/erpsyncschedules")["items"]
                ),
                timeout=60,
            )
        run = run_operator(control_plane, client, deployment, schedules, f"{helm_name}-{scope}", tmp_path)
        check_operator_run(run, client, schedules, scope, watched)
        check_operator_account(control_plane, account, namespace, watched, scope, run.kubeconfig)

        uninstall(control_plane, helm, namespace, manifest)
        installed = False
        wait_for(
            "the grants to go with the release",
            lambda: (
                not can_i(control_plane, account, "create", "jobs.batch", "-n", target)
                and not can_i(control_plane, ADMIN_USER, "patch", "erpsyncschedules.erpsync.io", "-n", target)
            ),
            timeout=30,
            interval=0.2,
        )
        # `helm uninstall` keeps the schedules (NOTES.txt); removed here, the next cluster-wide test need not wait.
        kept = client.get(f"{SCHEDULES}/erpsyncschedules")["items"]
        assert sorted(item["metadata"]["name"] for item in kept if item["metadata"]["namespace"] in watched) == sorted(
            schedule["metadata"]["name"] for schedule in schedules
        )
        for ns in watched:
            control_plane.kubectl("-n", ns, "delete", "erpsyncschedules", "--all", "--wait=false")
    finally:
        if installed:  # its cluster-wide objects (ClusterRoles) would block the next test's install
            helm.run("uninstall", RELEASE, "--namespace", namespace, "--ignore-not-found")
        client.close()


# The `erpsyncschedules/finalizers` rule ---------------------------------------------------------------------


def create_as(
    control_plane: ControlPlane, kubeconfig: Path, body: Mapping[str, Any]
) -> subprocess.CompletedProcess[str]:
    return control_plane.kubectl("create", "-f", "-", kubeconfig=kubeconfig, input=json.dumps(body), check=False)


@pytest.mark.parametrize("enforced", [False, True], ids=["default-admission", "owner-references-enforced"])
def test_finalizers_rule_is_what_owner_reference_enforcement_needs(tmp_path: Path, enforced: bool) -> None:
    """The operator's CronJobs and Jobs name their schedule with `blockOwnerDeletion: true`. Where the API
    server runs the OwnerReferencesPermissionEnforcement admission plugin, only an identity that may
    `update erpsyncschedules/finalizers` may set it: without the chart's rule the operator's identity could
    create none of its CronJobs there. Where the plugin is off (the Kubernetes default) the rule is unused.
    Its own control plane (a few seconds): the plugin is an API server flag."""
    extra = (OWNER_REFERENCES_ENFORCED,) if enforced else ()
    crd = REPO / "crds" / f"{CRD_NAME}.yaml"
    controllers = ("serviceaccount-controller",)
    with ControlPlane(manifests=[crd], controllers=controllers, extra_apiserver_args=extra) as control_plane:
        client = control_plane.client()
        watched = "acme"
        for name in (RELEASE_NAMESPACE, watched):
            client.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        helm = Helm.make("helm4", tmp_path / "helm4")
        values = {"rbac": {"scope": "namespaced"}, "watchNamespaces": [watched]}
        rbac = [
            obj
            for obj in helm.template(values)
            if obj["kind"] in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
        ]
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
        account_name = only(rbac, "ServiceAccount")["metadata"]["name"]
        account = f"system:serviceaccount:{RELEASE_NAMESPACE}:{account_name}"
        kubeconfig = control_plane.service_account_kubeconfig(
            tmp_path / "sa.kubeconfig", RELEASE_NAMESPACE, account_name
        )
        example = yaml.safe_load((REPO / "examples" / "generic.yaml").read_text())
        example["metadata"]["namespace"] = watched
        owner_body = client.create(f"{SCHEDULES}/namespaces/{watched}/erpsyncschedules", example)
        schedule = validate_object(owner_body).schedule
        assert schedule is not None
        # The CronJobs the operator creates: the planner's, with the operator's own owner reference.
        owner = _Pass(cast(Any, None), owner_body).owner_reference()
        assert owner["blockOwnerDeletion"] is True
        first, second, *_ = [_with_owner(cron_job, owner) for cron_job in plan_schedule(schedule).cron_jobs]
        wait_for(
            "the chart's Role to take effect",
            lambda: can_i(control_plane, account, "create", "cronjobs.batch", "-n", watched),
            30,
            0.2,
        )

        created = create_as(control_plane, kubeconfig, first)
        assert created.returncode == 0, created.stderr

        # The same Role without the rule.
        (role,) = [obj for obj in rbac if obj["kind"] == "Role" and obj["metadata"]["namespace"] == watched]
        narrowed = {**role, "rules": [rule for rule in role["rules"] if rule != FINALIZERS_RULE]}
        assert len(narrowed["rules"]) == len(role["rules"]) - 1
        control_plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(narrowed))
        finalizers = ("update", "erpsyncschedules.erpsync.io", "--subresource=finalizers", "-n", watched)
        wait_for("the rule to be gone", lambda: not can_i(control_plane, account, *finalizers), 30, 0.2)
        refused = create_as(control_plane, kubeconfig, second)
        if enforced:
            assert refused.returncode != 0, "blockOwnerDeletion set without update on erpsyncschedules/finalizers"
            assert "cannot set blockOwnerDeletion" in refused.stderr, refused.stderr
        else:
            assert refused.returncode == 0, refused.stderr
        client.close()
