"""`kubectl erpsync logs`, against the real API server: it reads pods/log, which the API server fetches from the
kubelet of the Pod's Node. No kubelet runs in the test control plane, so a stand-in serving only container logs
(erpsync_testbed.fake_kubelet) is registered as a Node's kubelet and the run's Pod is bound to that Node: the
request goes plugin -> API server -> "kubelet" as in a cluster.
"""

from collections.abc import Iterator

import pytest

from erpsync_testbed.fake_kubelet import FakeKubelet
from tests.operator.conftest import Cluster, example, pod_of, run_job
from tests.ship.test_kubectl_plugin import ok, one_line_error, plugin, ready

WORKER_LOG = '{"level": "info", "msg": "read 3 vendors"}\n{"level": "info", "msg": "created 1"}\n'


@pytest.fixture
def kubelet(cluster: Cluster) -> Iterator[FakeKubelet]:
    with FakeKubelet(cluster.client) as started:
        started.register_node(f"node-{cluster.namespace}")
        yield started


def _scheduled_run(cluster: Cluster, sync: str, suffix: str) -> tuple[str, str, str]:
    """A run of the sync's CronJob as the CronJob controller starts it: (job, pod, container)."""
    job = run_job(cluster, f"acme-generic-{sync.lower()}", suffix)
    pod = pod_of(cluster, job)
    return job["metadata"]["name"], pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]


def test_logs_of_the_newest_run_and_of_a_named_one(cluster: Cluster, kubelet: FakeKubelet) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")
    node = f"node-{cluster.namespace}"

    older_job, older_pod, container = _scheduled_run(cluster, "vendors", "1")
    kubelet.bind(cluster.namespace, older_pod, node)
    kubelet.logs[(cluster.namespace, older_pod, container)] = "the older run\n"
    assert ok(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendors")) == "the older run\n"

    newer_job, newer_pod, _ = _scheduled_run(cluster, "vendors", "2")
    kubelet.bind(cluster.namespace, newer_pod, node)
    kubelet.logs[(cluster.namespace, newer_pod, container)] = WORKER_LOG
    # The newest run by default, through kubectl as a user runs it; the path the API server asked the kubelet for.
    assert ok(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendors", kubectl=True)) == WORKER_LOG
    assert kubelet.requests[-1].startswith(f"/containerLogs/{cluster.namespace}/{newer_pod}/{container}")
    assert ok(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendors", "--run", older_job)) == (
        "the older run\n"
    )
    last_line = WORKER_LOG.splitlines(keepends=True)[-1]
    assert ok(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendors", "--tail", "1")) == last_line
    assert newer_job != older_job


def test_logs_errors_are_one_line(cluster: Cluster, kubelet: FakeKubelet) -> None:
    kubeconfig = cluster.operator.kubeconfig
    namespace = cluster.namespace
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")

    assert one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "jobs")) == (
        f"error: {namespace}/acme-generic has no run of jobs: it has not run yet, or its Jobs are gone (history limits)"
    )
    assert one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendor"), 2) == (
        'error: unknown sync "vendor"; the syncs are: vendors, jobs, jobCosts, invoicePayments'
    )
    assert one_line_error(plugin(kubeconfig, "logs", "nope", "--sync", "jobs")) == (
        f'error: erpsyncschedules.erpsync.io "nope" not found in namespace "{namespace}"'
    )

    # A Pod no Node runs yet: the API server would answer an empty log; the plugin says why there is none.
    job, pod, container = _scheduled_run(cluster, "jobs", "1")
    assert one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "jobs")) == (
        f"error: pod {pod} has no logs: it is not scheduled to a node yet (phase Pending)"
    )
    assert one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "vendors", "--run", job)) == (
        f"error: job {job} is not a run of {namespace}/acme-generic's vendors sync"
    )
    assert one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "jobs", "--run", "gone")) == (
        f'error: run "gone" not found: no Job of that name in namespace {namespace}'
    )

    # On a Node now, but its container has not started: the kubelet's refusal, relayed by the API server.
    kubelet.bind(namespace, pod, f"node-{namespace}")
    waiting = f'container "{container}" in pod "{pod}" is waiting to start: ContainerCreating'
    kubelet.refusals[(namespace, pod, container)] = (400, waiting)
    error = one_line_error(plugin(kubeconfig, "logs", "acme-generic", "--sync", "jobs"))
    assert error == f"error: logs of pod {pod} unavailable: {waiting}"
