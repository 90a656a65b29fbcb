"""The chart's leader election and replicas (values `leaderElection`, `replicas`), rendered by the real Helm.

The operator's side is tests/controller/test_leader.py and tests/operator/test_leader_election.py; the
chart installed on a real control plane, the operator taking its Lease as the chart's ServiceAccount,
is test_chart_install.py.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from erpsync import cli
from erpsync.controller.leader import LeaderElection
from tests.ship.helm import RELEASE, RELEASE_NAMESPACE, Helm, of_kind, only
from tests.ship.rbac import Call, Rbac
from tests.ship.test_chart import NEWEST_KUBE, OLDEST_KUBE, operator_account, operator_container, pod_spec_of

LEASES = ("coordination.k8s.io", "leases")


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm.make("helm4", Path(tmp_path_factory.mktemp("helm-leader-election")))


def leader_election_of(objects: list[dict[str, Any]]) -> LeaderElection | None:
    """What the operator makes of the Deployment's arguments (its own parser: a refusal fails the test)."""
    args = operator_container(objects)["args"]
    params = cli.main.commands["operator"].make_context("operator", list(args[1:])).params
    if not params["leader_elect"]:
        return None
    return LeaderElection(params["leader_election_namespace"], params["leader_election_id"])


def test_by_default_one_replica_elects_itself_on_a_lease_of_its_own_namespace(helm: Helm) -> None:
    # One replica, rolled over, and no PodDisruptionBudget: test_chart.py (test_deployment_defaults and the kinds).
    objects = helm.template(kube_version=OLDEST_KUBE)
    assert leader_election_of(objects) == LeaderElection(RELEASE_NAMESPACE, RELEASE)
    env = {item["name"]: item for item in operator_container(objects)["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    role = only(objects, "Role")
    assert role["metadata"] == {
        **role["metadata"],
        "name": f"{RELEASE}-leader-election",
        "namespace": RELEASE_NAMESPACE,
    }
    # `create` cannot name the object; `get` and `update` name the release's Lease only.
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [RELEASE],
            "verbs": ["get", "update"],
        },
    ]


def test_the_operator_may_use_its_lease_and_no_other(helm: Helm) -> None:
    objects = helm.template({"watchNamespaces": ["erp-sync"]}, kube_version=OLDEST_KUBE)
    rbac, account = Rbac(objects), operator_account(objects)
    for verb in ("get", "update"):
        assert rbac.allows(account, Call(verb, *LEASES, RELEASE_NAMESPACE, RELEASE))
        assert not rbac.allows(account, Call(verb, *LEASES, RELEASE_NAMESPACE, "kube-controller-manager"))
        assert not rbac.allows(account, Call(verb, *LEASES, "erp-sync", RELEASE))  # not in a watched namespace
    assert rbac.allows(account, Call("create", *LEASES, RELEASE_NAMESPACE))
    for verb in ("list", "watch", "delete", "patch"):
        assert not rbac.allows(account, Call(verb, *LEASES, RELEASE_NAMESPACE, RELEASE)), verb


@pytest.mark.parametrize("kube_version", [OLDEST_KUBE, NEWEST_KUBE])
def test_two_replicas_get_a_pod_disruption_budget(helm: Helm, kube_version: str) -> None:
    objects = helm.template({"replicas": 2}, kube_version=kube_version)
    deployment = only(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    budget = only(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    selected: Mapping[str, str] = budget["spec"]["selector"]["matchLabels"]
    assert selected and selected.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for obj in (deployment, budget, only(objects, "Role"), only(objects, "RoleBinding")):
        kubernetes_validate.validate(obj, kube_version, strict=True)


def test_without_leader_election_one_replica_recreated_as_before(helm: Helm) -> None:
    objects = helm.template({"leaderElection": {"enabled": False}}, kube_version=OLDEST_KUBE)
    deployment = only(objects, "Deployment")
    assert (deployment["spec"]["replicas"], deployment["spec"]["strategy"]) == (1, {"type": "Recreate"})
    assert leader_election_of(objects) is None
    assert "--standalone" in operator_container(objects)["args"]
    assert "env" not in operator_container(objects)
    assert of_kind(objects, "Role") == [] and of_kind(objects, "PodDisruptionBudget") == []
    assert pod_spec_of(deployment)["serviceAccountName"] == RELEASE
