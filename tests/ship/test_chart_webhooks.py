"""The chart's webhook receiver (`webhooks.enabled`): off by default; its Deployment, Service, Ingress,
NetworkPolicy and RBAC rendered, valid, restricted, and granting exactly what the receiver calls.
The same rules on a real API server, by identity: tests/operator/test_webhooks.py."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from erpsync.receiver.procore_requests import credential_from_environment
from tests.ship.helm import CHART, RELEASE_NAMESPACE, Helm, of_kind
from tests.ship.rbac import Rbac, ServiceAccount
from tests.ship.test_chart import (
    NEWEST_KUBE,
    OLDEST_KUBE,
    OPERATOR_BINARY,
    WATCHED,
    WEBHOOKS,
    pod_spec_of,
    restricted_violations,
)

RECEIVER = "erp-sync-operator-webhooks"
ENABLED: dict[str, Any] = {"webhooks": WEBHOOKS}
WEBHOOK_SETS: dict[str, dict[str, Any]] = {
    "enabled": ENABLED,
    "full": {
        "watchNamespaces": [WATCHED, "finance"],
        "webhooks": {
            **ENABLED["webhooks"],
            "replicas": 2,
            "path": "/hooks/procore",
            "ingress": {
                "enabled": True,
                "className": "nginx",
                "host": "erp-sync.example.com",
                "tls": [{"hosts": ["erp-sync.example.com"], "secretName": "tls"}],
            },
            "networkPolicy": {
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}]
            },
        },
        "networkPolicy": {
            "enabled": True,
            "operator": {"apiServer": {"cidrs": ["10.0.0.1/32"]}},
            "workers": {"procore": {"cidrs": ["104.16.0.0/13"]}, "erpDatabase": {"cidrs": ["10.20.0.5/32"]}},
        },
    },
}
# The receiver's own Procore credential, to read each request's event (docs/webhooks.md).
PROCORE_CREDENTIALS: dict[str, str] = {"secretName": "receiver-procore", "clientIdKey": "id", "clientSecretKey": "key"}
WEBHOOK_SETS["procore"] = {
    **WEBHOOK_SETS["full"],
    "webhooks": {**WEBHOOK_SETS["full"]["webhooks"], "procoreCredentials": PROCORE_CREDENTIALS},
}
# What the receiver calls (docs/webhooks.md "RBAC"): it reads schedules and patches their annotations.
RECEIVER_GRANTS = {("erpsync.io", "erpsyncschedules", verb) for verb in ("get", "list", "patch")}


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm.make("helm4", tmp_path_factory.mktemp("helm-webhooks"))


def _receiver_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "webhooks"]


def _deployment(objects: list[dict[str, Any]]) -> Mapping[str, Any]:
    (deployment,) = [o for o in of_kind(objects, "Deployment") if o["metadata"]["name"] == RECEIVER]
    return deployment


def test_off_by_default(helm: Helm) -> None:
    objects = helm.template()
    assert objects and _receiver_objects(objects) == []


@pytest.mark.parametrize("value_set", sorted(WEBHOOK_SETS))
def test_lint_and_every_object_valid_for_kubernetes(helm: Helm, value_set: str) -> None:
    values = WEBHOOK_SETS[value_set]
    assert "0 chart(s) failed" in helm.ok("lint", "--strict", str(CHART), *helm.values_args(values))
    for kube_version in (OLDEST_KUBE, NEWEST_KUBE):
        objects = _receiver_objects(helm.template(values, kube_version=kube_version))
        expected = {"Deployment", "Service", "ServiceAccount"} | (
            {"Ingress", "NetworkPolicy", "Role", "RoleBinding"}
            if value_set != "enabled"
            else {"ClusterRole", "ClusterRoleBinding"}
        )
        assert {o["kind"] for o in objects} == expected
        for obj in objects:
            kubernetes_validate.validate(obj, kube_version, strict=True)


@pytest.mark.parametrize("value_set", sorted(WEBHOOK_SETS))
def test_the_receiver_is_granted_exactly_what_it_calls(helm: Helm, value_set: str) -> None:
    objects = helm.template(WEBHOOK_SETS[value_set])
    account = ServiceAccount(RELEASE_NAMESPACE, pod_spec_of(_deployment(objects))["serviceAccountName"])
    assert account.name == RECEIVER
    granted = Rbac(objects).granted(account)
    scopes = [WATCHED, "finance"] if value_set != "enabled" else [None]
    assert granted == {(scope, *grant) for scope in scopes for grant in RECEIVER_GRANTS}


@pytest.mark.parametrize("value_set", sorted(WEBHOOK_SETS))
def test_the_pod_is_restricted_reads_the_secret_and_its_flags_are_the_cli_s(helm: Helm, value_set: str) -> None:
    deployment = _deployment(helm.template(WEBHOOK_SETS[value_set]))
    template = deployment["spec"]["template"]
    assert restricted_violations(template) == []
    (container,) = pod_spec_of(deployment)["containers"]
    assert container["command"] == ["erp-sync"] and container["args"][0] == "webhooks"
    assert {
        "name": "authorization",
        "secret": {"secretName": "procore-hook", "items": [{"key": "authorization", "path": "authorization"}]},
    } in pod_spec_of(deployment)["volumes"]
    # Secrets only as files, never in the pod's spec: the environment says where the Procore credential is.
    assert ("env" in container) == (value_set == "procore")
    assert all("valueFrom" not in item for item in container.get("env", []))
    # Neither Deployment selects the other's pods.
    operator = next(
        o
        for o in of_kind(helm.template(WEBHOOK_SETS[value_set]), "Deployment")
        if o is not deployment and o["metadata"]["name"] != RECEIVER
    )
    assert not operator["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    assert (
        not deployment["spec"]["selector"]["matchLabels"].items()
        <= operator["spec"]["template"]["metadata"]["labels"].items()
    )
    result = subprocess.run(
        [str(OPERATOR_BINARY), *container["args"], "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_network_policy_lets_in_deliveries_and_out_only_dns_and_the_api_server(helm: Helm) -> None:
    (policy,) = [o for o in _receiver_objects(helm.template(WEBHOOK_SETS["full"])) if o["kind"] == "NetworkPolicy"]
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"][0] == {
        "ports": [{"port": "webhooks", "protocol": "TCP"}],
        "from": WEBHOOK_SETS["full"]["webhooks"]["networkPolicy"]["from"],
    }
    destinations = [peer for rule in spec["egress"] for peer in rule.get("to", [])]
    assert {"ipBlock": {"cidr": "10.0.0.1/32"}} in destinations
    assert all("ipBlock" not in peer or peer["ipBlock"]["cidr"] == "10.0.0.1/32" for peer in destinations)


def test_a_procore_credential_is_mounted_as_files_the_receiver_reads_and_procore_is_reachable(
    helm: Helm, tmp_path: Path
) -> None:
    objects = helm.template(WEBHOOK_SETS["procore"])
    deployment = _deployment(objects)
    (container,) = pod_spec_of(deployment)["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env == {
        "PROCORE_CREDENTIALS_DIR": "/etc/erp-sync-procore",
        "PROCORE_API_URL": "https://api.procore.com",
        "PROCORE_LOGIN_URL": "https://login.procore.com",
    }
    (volume,) = [v for v in pod_spec_of(deployment)["volumes"] if v["name"] == "procore-credentials"]
    assert volume["secret"]["secretName"] == "receiver-procore"
    mount = {"name": "procore-credentials", "mountPath": env["PROCORE_CREDENTIALS_DIR"], "readOnly": True}
    assert mount in container["volumeMounts"]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["erpsync.io/procore-credentials-secret"] == "receiver-procore/id/key"  # rolls the pods
    # What the kubelet would mount, read as the receiver reads it.
    secret = {"id": "client-from-secret", "key": "s3cret-from-secret"}
    for item in volume["secret"]["items"]:
        (tmp_path / item["path"]).write_text(secret[item["key"]])
    credential = credential_from_environment({**env, "PROCORE_CREDENTIALS_DIR": str(tmp_path)})
    assert credential is not None
    assert (credential.client_id, credential.client_secret) == ("client-from-secret", "s3cret-from-secret")
    (policy,) = [o for o in _receiver_objects(objects) if o["kind"] == "NetworkPolicy"]
    assert {"to": [{"ipBlock": {"cidr": "104.16.0.0/13"}}], "ports": [{"port": 443, "protocol": "TCP"}]} in policy[
        "spec"
    ]["egress"]
