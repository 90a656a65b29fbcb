"""The Helm chart `charts/erp-sync-operator`, checked with the real Helm 4 and Helm 3 binaries.

Lint, render and validate every object against the Kubernetes schemas of the oldest supported and the
newest bundled version; the CRD copy; the restricted Pod Security Standard; values.schema.json
refusals; the RBAC rules rule by rule (offline, with tests/ship/rbac.py). The chart installed on a
real control plane, and the operator running under its ServiceAccount, is test_chart_install.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from erpsync import cli
from erpsync.api.models import QUANTITY_PATTERN
from erpsync.api.validation import validate_object
from erpsync.planning.cronjobs import DEFAULT_WORKER_RESOURCES
from erpsync.planning.plan import plan_schedule
from tests.ship.helm import CHART, RELEASE, RELEASE_NAMESPACE, REPO, Helm, of_kind, only
from tests.ship.rbac import Call, Rbac, ServiceAccount

OLDEST_KUBE = "1.29.0"  # Chart.yaml kubeVersion ">=1.29.0-0"
NEWEST_KUBE = latest_version()  # the newest schema set kubernetes-validate bundles
KUBE_VERSIONS = (OLDEST_KUBE, NEWEST_KUBE)
# Custom kinds: kubernetes-validate bundles no schema for them (SchemaNotFoundError). Skipped by name.
CUSTOM_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule")}
CRD_FILE = "erpsyncschedules.erpsync.io.yaml"
WATCHED = "erp-sync"
DEFAULT_IMAGE = "ghcr.io/erp-sync-operator/erp-sync-operator:0.1.0"
OPERATOR_BINARY = Path(sys.executable).with_name("erp-sync")

# Value sets rendered by several tests. "full" turns on every non-default feature.
NETWORK: dict[str, Any] = {
    "enabled": True,
    "operator": {"apiServer": {"cidrs": ["10.0.0.1/32", "172.18.0.2/32"]}, "metricsFrom": [{"namespaceSelector": {}}]},
    "workers": {"procore": {"cidrs": ["104.16.0.0/13"]}, "erpDatabase": {"cidrs": ["10.20.0.5/32"], "port": 1433}},
}
# The webhook receiver turned on (test_chart_webhooks.py).
WEBHOOKS: dict[str, Any] = {"enabled": True, "authSecret": {"name": "procore-hook"}}
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "full": {
        "image": {"tag": "0.2.0"},
        "watchNamespaces": [WATCHED, "finance"],
        "workerImage": "registry.example/erp-sync:9.9",
        "workerResources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": 2, "memory": "2Gi"}},
        "logFormat": "text",
        "extraArgs": ["--resync-interval", "600"],
        "peering": {"name": "erp-sync"},
        "leaderElection": {"enabled": False},  # kopf peering instead
        "rbac": {"scope": "namespaced"},
        "metrics": {"service": {"enabled": True}, "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prom"}},
        "grafanaDashboard": {"enabled": True, "labels": {"team": "erp"}},
        "networkPolicy": NETWORK,
        "global": {"imageRegistry": "ignored.example"},
    },
    "cluster-peering": {"peering": {"name": "default"}, "leaderElection": {"enabled": False}},
    # Names alone: Roles follow watchNamespaces (rbac.scope left empty).
    "some-namespaces": {"watchNamespaces": [WATCHED, "finance"]},
    # A glob needs a ClusterRole, asked for explicitly.
    "cluster-some-namespaces": {
        "watchNamespaces": [WATCHED, "erp-*"],
        "rbac": {"scope": "cluster"},
        "peering": {"name": "default"},
        "leaderElection": {"enabled": False},
    },
}

# What the operator's ServiceAccount is granted: (group, resource, verb). docs/operator.md "What it calls".
NAMESPACED_GRANTS = {
    # No patch or update of the schedule itself: it writes only /status (and never adds a finalizer).
    *(("erpsync.io", "erpsyncschedules", verb) for verb in ("get", "list", "watch")),
    ("erpsync.io", "erpsyncschedules/status", "patch"),
    # blockOwnerDeletion on its children under OwnerReferencesPermissionEnforcement (see
    # test_chart_install.py::test_finalizers_rule_is_what_owner_reference_enforcement_needs).
    ("erpsync.io", "erpsyncschedules/finalizers", "update"),
    *(("batch", "cronjobs", verb) for verb in ("get", "list", "watch", "create", "patch", "delete")),
    *(("batch", "jobs", verb) for verb in ("get", "list", "watch", "create")),
    *(("", "pods", verb) for verb in ("get", "list", "watch")),
    ("", "events", "create"),
}
CLUSTER_GRANTS = {
    *(("apiextensions.k8s.io", "customresourcedefinitions", verb) for verb in ("list", "watch")),
    *(("", "namespaces", verb) for verb in ("list", "watch")),
}


# Leader election (on by default): its Lease, in the release's namespace only.
LEASE_GRANTS = {("coordination.k8s.io", "leases", verb) for verb in ("get", "create", "update")}


def peering_grants(resource: str) -> set[tuple[str, str, str]]:
    return {("kopf.dev", resource, verb) for verb in ("get", "list", "watch", "patch")}


def everywhere(grants: Iterable[tuple[str, str, str]]) -> set[tuple[str | None, str, str, str]]:
    return {(None, *grant) for grant in grants}


def within(namespaces: Iterable[str], grants: Iterable[tuple[str, str, str]]) -> set[tuple[str | None, str, str, str]]:
    return {(namespace, *grant) for namespace in namespaces for grant in grants}


EXPECTED_GRANTS: dict[str, set[tuple[str | None, str, str, str]]] = {
    "defaults": everywhere(NAMESPACED_GRANTS | CLUSTER_GRANTS) | within([RELEASE_NAMESPACE], LEASE_GRANTS),
    "full": everywhere(CLUSTER_GRANTS)
    | within([WATCHED, "finance"], NAMESPACED_GRANTS | peering_grants("kopfpeerings")),
    "cluster-peering": everywhere(NAMESPACED_GRANTS | CLUSTER_GRANTS | peering_grants("clusterkopfpeerings")),
    "some-namespaces": everywhere(CLUSTER_GRANTS)
    | within([WATCHED, "finance"], NAMESPACED_GRANTS)
    | within([RELEASE_NAMESPACE], LEASE_GRANTS),
    "cluster-some-namespaces": everywhere(NAMESPACED_GRANTS | CLUSTER_GRANTS | peering_grants("kopfpeerings")),
}


# Fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def helms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Helm]:
    home = tmp_path_factory.mktemp("helm")
    return {name: Helm.make(name, home / name) for name in ("helm4", "helm3")}


@pytest.fixture(scope="session")
def helm4(helms: dict[str, Helm]) -> Helm:
    return helms["helm4"]


Render = Callable[[str, str], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def render(helm4: Helm) -> Render:
    """`render(value_set, kube_version)`: the chart's objects (CRD included), rendered once per session."""
    cache: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def rendered(value_set: str, kube_version: str = OLDEST_KUBE) -> list[dict[str, Any]]:
        key = (value_set, kube_version)
        if key not in cache:
            cache[key] = helm4.template(VALUE_SETS[value_set], kube_version=kube_version, include_crds=True)
        return cache[key]

    return rendered


def operator_account(objects: Iterable[Mapping[str, Any]]) -> ServiceAccount:
    pod = pod_spec_of(only(objects, "Deployment"))
    return ServiceAccount(RELEASE_NAMESPACE, pod["serviceAccountName"])


def pod_spec_of(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def operator_container(objects: Iterable[Mapping[str, Any]]) -> Mapping[str, Any]:
    (container,) = pod_spec_of(only(objects, "Deployment"))["containers"]
    return dict(container)


# Lint, render, validate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
@pytest.mark.parametrize("value_set", ["defaults", "full"])
def test_helm_lint_strict(helms: dict[str, Helm], helm_name: str, value_set: str) -> None:
    helm = helms[helm_name]
    output = helm.ok("lint", "--strict", str(CHART), *helm.values_args(VALUE_SETS[value_set]))
    assert "1 chart(s) linted, 0 chart(s) failed" in output


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_rendered_object_is_valid_for_kubernetes(render: Render, value_set: str, kube_version: str) -> None:
    objects = render(value_set, kube_version)
    skipped: list[str] = []
    for obj in objects:
        identity = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_KINDS:
            skipped.append(obj["kind"])
            continue
        problem = ""
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problem = f"{identity} is invalid for Kubernetes {kube_version} at {list(error.path)}: {error.message}"
        except kubernetes_validate.SchemaNotFoundError as error:
            problem = f"{identity}: {error.message}; a custom kind must be listed in CUSTOM_KINDS"
        assert not problem, problem
    kinds = {obj["kind"] for obj in objects}
    assert {"CustomResourceDefinition", "ServiceAccount", "Deployment", "ClusterRole", "ClusterRoleBinding"} <= kinds
    assert sorted(skipped) == (["PrometheusRule", "ServiceMonitor"] if value_set == "full" else [])
    assert "PodDisruptionBudget" not in kinds  # one replica with Recreate cannot use one


@pytest.mark.parametrize("value_set", ["defaults", "full"])
def test_helm3_renders_what_helm4_renders(helms: dict[str, Helm], render: Render, value_set: str) -> None:
    helm3 = helms["helm3"].template(VALUE_SETS[value_set], kube_version=OLDEST_KUBE, include_crds=True)
    assert helm3 == render(value_set, OLDEST_KUBE)


def test_kubernetes_older_than_1_29_is_refused(helm4: Helm) -> None:
    result = helm4.run(*helm4.template_args(kube_version="1.28.9"))
    assert result.returncode != 0 and "kubeVersion" in result.stderr, result.stderr


def test_chart_crd_is_the_top_level_crd_byte_for_byte() -> None:
    chart_crd, top_crd = CHART / "crds" / CRD_FILE, REPO / "crds" / CRD_FILE
    assert [path.name for path in (CHART / "crds").iterdir()] == [CRD_FILE]
    assert chart_crd.read_bytes() == top_crd.read_bytes(), (
        f"{chart_crd.relative_to(REPO)} differs from {top_crd.relative_to(REPO)}: "
        f"copy it (cp {top_crd.relative_to(REPO)} {chart_crd.relative_to(REPO)})"
    )


def test_crd_renders_only_with_include_crds(helm4: Helm, render: Render) -> None:
    assert not of_kind(helm4.template(kube_version=OLDEST_KUBE), "CustomResourceDefinition")
    (crd,) = of_kind(render("defaults", OLDEST_KUBE), "CustomResourceDefinition")
    assert crd == yaml.safe_load((REPO / "crds" / CRD_FILE).read_text())


# The Deployment -------------------------------------------------------------------------------------------


def test_deployment_defaults(render: Render) -> None:
    objects = render("defaults", OLDEST_KUBE)
    deployment = only(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    # Leader election: the new Pod starts (a standby) before the old one stops and hands the Lease over.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert deployment["metadata"]["namespace"] == RELEASE_NAMESPACE
    container = operator_container(objects)
    assert container["image"] == DEFAULT_IMAGE
    assert [*container["command"], *container["args"]] == [
        "erp-sync",
        "operator",
        "--all-namespaces",
        "--worker-image",
        DEFAULT_IMAGE,  # the workers' default image is the operator's own
        "--worker-resources",
        '{"limits":{"cpu":"1","memory":"512Mi"},"requests":{"cpu":"100m","memory":"128Mi"}}',
        "--liveness",
        "http://0.0.0.0:8080/healthz",
        "--metrics-port",
        "9090",
        "--log-format",
        "json",
        "--standalone",
        "--leader-elect",
        "--leader-election-namespace",
        RELEASE_NAMESPACE,
        "--leader-election-id",
        RELEASE,
    ]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"liveness": 8080, "metrics": 9090}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz" and ports[probe["port"]] == 8080
    assert "readinessProbe" not in container
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    pod = pod_spec_of(deployment)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {volume["name"]: "emptyDir" in volume for volume in pod["volumes"]} == {"tmp": True}


def test_deployment_with_non_default_values(render: Render) -> None:
    objects = render("full", OLDEST_KUBE)
    container = operator_container(objects)
    assert container["image"] == "ghcr.io/erp-sync-operator/erp-sync-operator:0.2.0"
    assert container["args"] == [
        "operator",
        "--namespace",
        WATCHED,
        "--namespace",
        "finance",
        "--worker-image",
        "registry.example/erp-sync:9.9",
        "--worker-resources",
        '{"limits":{"cpu":2,"memory":"2Gi"},"requests":{"cpu":"250m","memory":"256Mi"}}',
        "--liveness",
        "http://0.0.0.0:8080/healthz",
        "--metrics-port",
        "9090",
        "--log-format",
        "text",
        "--peering",
        "erp-sync",
        "--resync-interval",
        "600",
    ]


def test_worker_image_follows_the_image_tag(helm4: Helm) -> None:
    objects = helm4.template({"image": {"repository": "registry.example/erp", "tag": "1.2.3"}})
    args = operator_container(objects)["args"]
    assert args[args.index("--worker-image") + 1] == "registry.example/erp:1.2.3"


def worker_resources_of(objects: Iterable[Mapping[str, Any]]) -> Any:
    """The operator's --worker-resources, as its own parser reads it (a refusal fails the test)."""
    args = operator_container(objects)["args"]
    context = cli.main.commands["operator"].make_context("operator", list(args[1:]))
    return context.params["worker_resources"].model_dump(exclude_none=True)


def test_worker_resources_reach_the_operator(helm4: Helm, render: Render) -> None:
    # The chart's defaults are the operator's built-in ones, spelled out in values.yaml.
    assert worker_resources_of(render("defaults", OLDEST_KUBE)) == DEFAULT_WORKER_RESOURCES.model_dump()
    assert worker_resources_of(render("full", OLDEST_KUBE)) == VALUE_SETS["full"]["workerResources"]
    # Helm merges the given values into the chart's: null drops a key, and null for the whole value
    # gives workers no requests or limits (for a namespace's LimitRange to decide).
    dropped = helm4.template({"workerResources": {"limits": {"cpu": None}, "requests": {"memory": "1Gi"}}})
    assert worker_resources_of(dropped) == {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "1Gi"}}
    assert worker_resources_of(helm4.template({"workerResources": None})) == {}


def test_the_schema_reads_quantities_as_the_crd_does() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    quantity = schema["definitions"]["resourceList"]["additionalProperties"]["anyOf"][1]
    assert quantity == {"type": "string", "maxLength": 64, "pattern": QUANTITY_PATTERN}


def test_operator_cli_accepts_the_deployment_arguments(render: Render) -> None:
    """The chart's flags followed by `--help`: click refuses an unknown flag (values are checked end to end)."""
    for value_set in ("defaults", "full"):
        args = operator_container(render(value_set, OLDEST_KUBE))["args"]
        result = subprocess.run(
            [str(OPERATOR_BINARY), *args, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, f"{value_set}: erp-sync {' '.join(args)}: {result.stderr}"


# Pod security ---------------------------------------------------------------------------------------------

RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def restricted_violations(template: Mapping[str, Any]) -> list[str]:
    """Where a pod template breaks the restricted Pod Security Standard (baseline included), per field.

    https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the policy of Kubernetes 1.29+).
    """
    spec: Mapping[str, Any] = template.get("spec") or {}
    pod: Mapping[str, Any] = spec.get("securityContext") or {}
    problems: list[str] = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"spec.{field} is true")
    for volume in spec.get("volumes") or ():
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            problems.append(f"volume {volume['name']} is of type {sorted(kinds)}")
    for sysctl in pod.get("sysctls") or ():
        if sysctl["name"] not in SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl['name']} is not safe")
    if (pod.get("seLinuxOptions") or {}).get("type", "") not in SELINUX_TYPES:
        problems.append("pod seLinuxOptions.type")
    if (pod.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("pod windowsOptions.hostProcess")
    if (pod.get("appArmorProfile") or {}).get("type") == "Unconfined":
        problems.append("pod appArmorProfile is Unconfined")
    if pod.get("runAsNonRoot") is False or pod.get("runAsUser") == 0:
        problems.append("pod runs as root")
    pod_seccomp = (pod.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"pod seccompProfile is {pod_seccomp}")
    containers = [
        *(spec.get("initContainers") or ()),
        *(spec.get("containers") or ()),
        *(spec.get("ephemeralContainers") or ()),
    ]
    if not spec.get("containers"):
        problems.append("no containers")
    for container in containers:
        name = f"container {container['name']}"
        context: Mapping[str, Any] = container.get("securityContext") or {}
        capabilities: Mapping[str, Any] = context.get("capabilities") or {}
        if context.get("privileged"):
            problems.append(f"{name} is privileged")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name} does not set allowPrivilegeEscalation: false")
        if "ALL" not in (capabilities.get("drop") or ()):
            problems.append(f"{name} does not drop ALL capabilities")
        if set(capabilities.get("add") or ()) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name} adds capabilities {capabilities['add']}")
        run_as_non_root = context.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if run_as_non_root is not True:
            problems.append(f"{name} may run as root (runAsNonRoot not true)")
        if context.get("runAsUser") == 0:
            problems.append(f"{name} runs as user 0")
        seccomp = (context.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{name} has seccompProfile {seccomp}")
        if context.get("procMount", "Default") != "Default":
            problems.append(f"{name} procMount")
        if (context.get("seLinuxOptions") or {}).get("type", "") not in SELINUX_TYPES:
            problems.append(f"{name} seLinuxOptions.type")
        if (context.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"{name} windowsOptions.hostProcess")
        if (context.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{name} appArmorProfile is Unconfined")
        if any(port.get("hostPort") for port in container.get("ports") or ()):
            problems.append(f"{name} uses a hostPort")
    for key, value in ((template.get("metadata") or {}).get("annotations") or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and value == "unconfined":
            problems.append(f"annotation {key}")
    return problems


def pod_templates(objects: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for obj in objects:
        identity = f"{obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield identity, obj["spec"]["template"]
        elif obj["kind"] == "CronJob":
            yield identity, obj["spec"]["jobTemplate"]["spec"]["template"]
        elif obj["kind"] == "Pod":
            yield identity, obj


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_every_pod_template_meets_the_restricted_standard(render: Render, value_set: str) -> None:
    templates = list(pod_templates(render(value_set, OLDEST_KUBE)))
    assert templates, "no pod template rendered"
    for identity, template in templates:
        assert restricted_violations(template) == [], identity
        assert template["spec"]["securityContext"]["runAsUser"] == 65532  # numeric, so runAsNonRoot is checkable


def test_the_restricted_check_finds_breaches() -> None:
    good: dict[str, Any] = {
        "spec": {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}}
    }
    container: dict[str, Any] = {
        "name": "c",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    assert restricted_violations({"spec": {**good["spec"], "containers": [container]}}) == []
    breaches: list[dict[str, Any]] = [
        {"hostNetwork": True},
        {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]},
        {"securityContext": {"runAsNonRoot": True}},  # no seccomp profile anywhere
        {"containers": [{**container, "securityContext": {"capabilities": {"drop": ["ALL"]}}}]},
        {"containers": [{**container, "ports": [{"containerPort": 80, "hostPort": 80}]}]},
    ]
    for breach in breaches:
        assert restricted_violations({"spec": {**good["spec"], "containers": [container], **breach}}), breach


# values.schema.json ---------------------------------------------------------------------------------------

# (helm flag, assignment, the field path the error must name)
REFUSALS = [
    ("--set", "logFormat=yaml", "logFormat"),
    ("--set", "rbac.scope=everywhere", "rbac.scope"),
    ("--set-string", "rbac.aggregatedRoles=yes", "rbac.aggregatedRoles"),
    ("--set", "metrics.port=70000", "metrics.port"),
    ("--set", "watchNamespaces=erp-sync", "watchNamespaces"),
    ("--set", "image.pullPolicy=Sometimes", "image.pullPolicy"),
    ("--set", "networkPolicy.workers.procore.port=0", "networkPolicy.workers.procore.port"),
    ("--set", "replicaCount=2", "replicaCount"),  # unknown at the root (one replica, always)
    ("--set", "workerResources.limits.memory=lots", "workerResources.limits.memory"),
    ("--set-json", 'workerResources.requests.cpu={"m": 100}', "workerResources.requests.cpu"),
    ("--set", "workerResources.limit.memory=1Gi", "workerResources"),  # limits, not limit
    ("--set-json", "workerResources=[]", "workerResources"),
    ("--set-string", "prometheusRule.enabled=yes", "prometheusRule.enabled"),
    ("--set", "grafanaDashboard.label.team=erp", "grafanaDashboard"),  # labels, not label
]


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
@pytest.mark.parametrize(("flag", "assignment", "path"), REFUSALS)
def test_schema_refuses_wrong_values(
    helms: dict[str, Helm], helm_name: str, flag: str, assignment: str, path: str
) -> None:
    helm = helms[helm_name]
    result = helm.run(*helm.template_args(extra=[flag, assignment]))
    assert result.returncode == 1, f"{helm_name} accepted {assignment}"
    # Helm 4 names the field as a JSON pointer (/rbac/scope), Helm 3 with dots (rbac.scope).
    pointer = "/" + path.replace(".", "/")
    assert re.search(rf"(^|[\s'\"]){re.escape(path)}\b", result.stderr) or pointer in result.stderr, result.stderr


@pytest.mark.parametrize("helm_name", ["helm4", "helm3"])
def test_schema_lets_global_through(helms: dict[str, Helm], helm_name: str) -> None:
    helm = helms[helm_name]
    helm.ok(*helm.template_args(extra=["--set", "global.imageRegistry=example.com"]))


def test_schema_is_draft_07() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False and "global" in schema["properties"]
    newer = {
        "unevaluatedProperties",
        "unevaluatedItems",
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "$defs",
    }
    text = json.dumps(schema)
    assert not [keyword for keyword in newer if f'"{keyword}"' in text]


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"rbac": {"scope": "namespaced"}}, "watchNamespaces"),
        ({"rbac": {"scope": "namespaced"}, "watchNamespaces": ["erp-*"]}, "erp-*"),
        # A glob without rbac.scope=cluster, and rbac.scope=cluster with names only: refused, not widened.
        ({"watchNamespaces": [WATCHED, "erp-*"]}, "set rbac.scope=cluster"),
        ({"watchNamespaces": ["!kube-system"]}, '"!kube-system"'),
        ({"rbac": {"scope": "cluster"}, "watchNamespaces": [WATCHED]}, "rbac.scope=cluster with watchNamespaces"),
        ({"networkPolicy": {**NETWORK, "operator": {}}, "watchNamespaces": [WATCHED]}, "apiServer.cidrs"),
        ({"networkPolicy": {**NETWORK, "workers": {"erpDatabase": {"cidrs": ["10.0.0.5/32"]}}}}, "watchNamespaces"),
        ({"networkPolicy": {**NETWORK, "workers": {}}, "watchNamespaces": [WATCHED]}, "procore.cidrs"),
        ({"metrics": {"port": 0, "serviceMonitor": {"enabled": True}}}, "metrics.port"),
        # Replicas and leader election.
        ({"replicas": 2, "leaderElection": {"enabled": False}}, "replicas: 2 needs leaderElection.enabled=true"),
        ({"peering": {"name": "erp-sync"}}, "leaderElection.enabled and peering.name exclude each other"),
        ({"replicas": 0}, "replicas"),
        ({"leaderElection": {"enabled": "yes"}}, "leaderElection"),
        ({"leaderElection": {"leaseName": "x"}}, "leaseName"),
        # The webhook receiver.
        ({"webhooks": {"enabled": True}}, "webhooks.authSecret.name"),
        ({"webhooks": {**WEBHOOKS, "ingress": {"enabled": True}}}, "webhooks.ingress.host"),
        ({"webhooks": {**WEBHOOKS, "metricsPort": 8080}}, "webhooks.port and webhooks.metricsPort"),
        ({"webhooks": WEBHOOKS, "watchNamespaces": ["erp-*"], "rbac": {"scope": "cluster"}}, "erp-*"),
        ({"webhooks": {**WEBHOOKS, "path": "procore"}}, "path"),
        ({"webhooks": {**WEBHOOKS, "bogus": 1}}, "bogus"),
        ({"webhooks": {**WEBHOOKS, "procoreApiUrl": "api.procore.com"}}, "procoreApiUrl"),
        ({"webhooks": {**WEBHOOKS, "procoreCredentials": {"clientIdKey": "a/b"}}}, "clientIdKey"),
    ],
)
def test_inconsistent_values_fail_naming_the_value(helm4: Helm, values: dict[str, Any], named: str) -> None:
    result = helm4.run(*helm4.template_args(values))
    assert result.returncode == 1 and named in result.stderr, result.stderr


# RBAC -----------------------------------------------------------------------------------------------------


def test_aggregated_roles_exactly(render: Render) -> None:
    roles = {role["metadata"]["name"]: role for role in of_kind(render("defaults", OLDEST_KUBE), "ClusterRole")}
    aggregation = {
        name: {key: value for key, value in role["metadata"]["labels"].items() if key.startswith("rbac.authorization")}
        for name, role in roles.items()
    }
    assert aggregation == {
        "erp-sync-admin": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"},  # not to edit
        "erp-sync-viewer": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
        RELEASE: {},  # the operator's own role aggregates nowhere
    }
    schedules = {"apiGroups": ["erpsync.io"], "resources": ["erpsyncschedules"]}
    assert roles["erp-sync-admin"]["rules"] == [
        {**schedules, "verbs": ["create", "update", "patch", "delete", "get", "list", "watch"]}
    ]
    assert roles["erp-sync-viewer"]["rules"] == [{**schedules, "verbs": ["get", "list", "watch"]}]
    for role in roles.values():
        assert "aggregationRule" not in role


def test_aggregated_roles_can_be_left_out(helm4: Helm) -> None:
    names = [
        role["metadata"]["name"]
        for role in of_kind(helm4.template({"rbac": {"aggregatedRoles": False}}), "ClusterRole")
    ]
    assert names == [RELEASE]


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_no_rule_grants_secrets_or_wildcards(render: Render, value_set: str) -> None:
    objects = render(value_set, OLDEST_KUBE)
    rbac = Rbac(objects)
    rules = rbac.all_rules()
    assert rules
    for role, rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in (rule.get(field) or ()), f"{role} grants * in {field}: {rule}"
        assert not {"secrets", "secrets/*", "pods/log", "pods/exec"} & set(rule.get("resources") or ()), role
        assert "nonResourceURLs" not in rule, role
    account = operator_account(objects)
    for namespace in (RELEASE_NAMESPACE, WATCHED, None):
        for verb in ("get", "list", "watch"):
            assert not rbac.allows(account, Call(verb, "", "secrets", namespace)), (verb, namespace)


@pytest.mark.parametrize("value_set", sorted(VALUE_SETS))
def test_operator_rules_are_exactly_what_it_uses(render: Render, value_set: str) -> None:
    """Least privilege, rule by rule: exactly docs/operator.md's table, in the right scope."""
    objects = render(value_set, OLDEST_KUBE)
    granted = Rbac(objects).granted(operator_account(objects))
    assert granted == EXPECTED_GRANTS[value_set], (
        f"missing: {sorted(EXPECTED_GRANTS[value_set] - granted, key=str)}\n"
        f"extra: {sorted(granted - EXPECTED_GRANTS[value_set], key=str)}"
    )


@pytest.mark.parametrize("value_set", ["full", "some-namespaces"])
def test_watched_namespaces_bound_what_the_operator_can_run(render: Render, value_set: str) -> None:
    """Creating a Job or CronJob is running a Pod that can mount the namespace's Secrets and use its
    ServiceAccounts: with watchNamespaces naming namespaces, the operator can do so there and nowhere else."""
    objects = render(value_set, OLDEST_KUBE)
    rbac, account = Rbac(objects), operator_account(objects)
    watched = VALUE_SETS[value_set]["watchNamespaces"]
    for namespace in [*watched, "kube-system", RELEASE_NAMESPACE, "default", None]:
        for call in (Call("create", "batch", "jobs", namespace), Call("create", "batch", "cronjobs", namespace)):
            assert rbac.allows(account, call) == (namespace in watched), call
    assert not [obj for obj in of_kind(objects, "ClusterRole") for rule in obj["rules"] if "batch" in rule["apiGroups"]]


def _rbac_object(kind: str, name: str, namespace: str | None = None, **fields: Any) -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, **fields}


def test_rbac_evaluator_follows_kubernetes_rules() -> None:
    account = ServiceAccount("ops", "op")
    subjects = [{"kind": "ServiceAccount", "name": "op", "namespace": "ops"}]
    cron_jobs = {"apiGroups": ["batch"], "resources": ["cronjobs", "*/status"], "verbs": ["get"]}
    namespaces = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"], "resourceNames": ["x"]}
    objects = [
        _rbac_object("Role", "r", "a", rules=[cron_jobs]),
        _rbac_object("RoleBinding", "b", "a", roleRef={"kind": "Role", "name": "r"}, subjects=subjects),
        _rbac_object("ClusterRole", "c", rules=[namespaces]),
        _rbac_object("ClusterRoleBinding", "c", roleRef={"kind": "ClusterRole", "name": "c"}, subjects=subjects),
    ]
    rbac = Rbac(objects)
    assert rbac.allows(account, Call.parse("get", "cronjobs.batch", "a", "n"))
    assert rbac.allows(account, Call.parse("get", "jobs.batch/status", "a", "n"))
    assert not rbac.allows(account, Call.parse("get", "cronjobs.batch", "b", "n"))  # another namespace
    assert not rbac.allows(account, Call.parse("get", "cronjobs.batch", None))  # across all namespaces
    assert not rbac.allows(account, Call.parse("list", "cronjobs.batch", "a"))  # another verb
    assert rbac.allows(account, Call.parse("get", "cronjobs.batch/status", "a", "n"))  # */status
    assert not rbac.allows(account, Call.parse("list", "namespaces", None))  # resourceNames
    assert rbac.allows(account, Call.parse("list", "namespaces", None, "x"))
    assert not rbac.allows(ServiceAccount("other", "op"), Call.parse("get", "cronjobs.batch", "a", "n"))


# Metrics and NetworkPolicies ------------------------------------------------------------------------------


def test_metrics_service_and_service_monitor(render: Render) -> None:
    objects = render("full", OLDEST_KUBE)
    service, monitor = only(objects, "Service"), only(objects, "ServiceMonitor")
    pod_labels = only(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "metrics" and port["port"] == 9090
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] == port["name"]
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert not of_kind(render("defaults", OLDEST_KUBE), "Service")
    assert not of_kind(render("defaults", OLDEST_KUBE), "NetworkPolicy")


def _peers(rule: Mapping[str, Any]) -> list[str]:
    return [peer["ipBlock"]["cidr"] for peer in rule.get("to") or () if "ipBlock" in peer]


def _ports(rule: Mapping[str, Any]) -> list[tuple[Any, str]]:
    return [(port["port"], port["protocol"]) for port in rule.get("ports") or ()]


def test_operator_network_policy(render: Render) -> None:
    objects = render("full", OLDEST_KUBE)
    policies = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in of_kind(objects, "NetworkPolicy")}
    operator = policies[(RELEASE_NAMESPACE, RELEASE)]["spec"]
    assert operator["podSelector"]["matchLabels"] == only(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    assert operator["policyTypes"] == ["Ingress", "Egress"]
    dns, api = operator["egress"]
    assert _ports(dns) == [(53, "UDP"), (53, "TCP")]
    assert _peers(api) == ["10.0.0.1/32", "172.18.0.2/32"] and _ports(api) == [(443, "TCP"), (6443, "TCP")]
    (ingress,) = operator["ingress"]
    assert _ports(ingress) == [("metrics", "TCP")] and ingress["from"] == [{"namespaceSelector": {}}]


def test_worker_network_policies_select_the_workers_the_operator_makes(render: Render) -> None:
    objects = render("full", OLDEST_KUBE)
    workers = [p for p in of_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == "erp-sync-worker"]
    assert sorted(p["metadata"]["namespace"] for p in workers) == sorted([WATCHED, "finance"])
    example = yaml.safe_load((REPO / "examples" / "generic.yaml").read_text())
    schedule = validate_object(example).schedule
    assert schedule is not None
    cron_jobs = plan_schedule(schedule).cron_jobs
    assert cron_jobs
    for policy in workers:
        spec = policy["spec"]
        for cron_job in cron_jobs:
            labels = cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
            assert spec["podSelector"]["matchLabels"].items() <= labels.items()
        assert spec["policyTypes"] == ["Ingress", "Egress"] and spec["ingress"] == []
        dns, procore, database = spec["egress"]
        assert _ports(dns) == [(53, "UDP"), (53, "TCP")]
        assert _peers(procore) == ["104.16.0.0/13"] and _ports(procore) == [(443, "TCP")]
        assert _peers(database) == ["10.20.0.5/32"] and _ports(database) == [(1433, "TCP")]


# NOTES.txt ------------------------------------------------------------------------------------------------


def test_notes(helm4: Helm) -> None:
    # `helm install --dry-run=client` renders NOTES.txt without a cluster (Helm 4; Helm 3.18 wants one).
    output = helm4.ok("install", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE, "--dry-run=client")
    notes = output.split("NOTES:", 1)[1]
    assert "kubectl get erpsyncschedules" in notes
    assert "wait --for=condition=Ready erpsyncschedule/" in notes
    assert "kubectl apply -f crds/" in notes and "never upgrades" in notes
