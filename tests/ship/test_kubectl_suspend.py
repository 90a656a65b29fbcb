"""Who owns `suspend` (docs/gitops.md): `kubectl erpsync suspend` writes the erpsync.io/suspend annotation, never
the spec, so a pause survives `kubectl apply` and server-side apply of the manifest from Git; resume refuses what
the spec suspends; and suspend says whether the CronJobs carry it. Real kubectl, API server and operator."""

import json
from typing import Any

import yaml

from tests.operator.conftest import Cluster, example, wait_for
from tests.ship.test_kubectl_plugin import SYNCS, annotation, ok, one_line_error, plugin, ready, suspended

OBJECT = "erpsyncschedule.erpsync.io"
ANNOTATION = "erpsync.io/suspend"
GIT_ADVICE = "change the manifest in Git (or wherever it is applied from)"


def _manifest(cluster: Cluster, name: str, **syncs: dict[str, Any]) -> str:
    body = example(name)
    body["metadata"]["namespace"] = cluster.namespace
    for sync, settings in syncs.items():
        body["spec"]["syncs"][sync].update(settings)
    return yaml.safe_dump(body)


def _status_suspension(cluster: Cluster, schedule: str) -> dict[str, tuple[bool, list[str] | None]]:
    syncs = cluster.schedule(schedule)["status"]["syncs"]
    return {sync: (entry["suspended"], entry.get("suspendedBy")) for sync, entry in syncs.items()}


def _annotation(cluster: Cluster, schedule: str) -> str | None:
    return annotation(cluster, schedule, ANNOTATION)


def test_a_plugin_suspension_survives_kubectl_apply_and_server_side_apply(cluster: Cluster) -> None:
    kubeconfig, kubectl = cluster.operator.kubeconfig, cluster.kubectl
    manifest = _manifest(cluster, "generic")
    assert "suspend" not in manifest  # what Git holds says nothing about suspension
    kubectl("apply", "-f", "-", input=manifest)  # client-side: the last-applied annotation is recorded
    ready(cluster, "acme-generic")

    assert (
        ok(plugin(kubeconfig, "suspend", "acme-generic", kubectl=True))
        == f"{OBJECT}/acme-generic suspended (in effect)\n"
    )
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, True)  # in effect: the CronJobs say so
    body = cluster.schedule("acme-generic")
    assert body["spec"].get("suspend") in (None, False)  # the spec is left to Git
    assert body["metadata"]["annotations"][ANNOTATION] == "all"
    owners = [
        entry["manager"]
        for entry in body["metadata"]["managedFields"]
        if f"f:{ANNOTATION}" in json.dumps(entry.get("fieldsV1", {}))
    ]
    assert owners == ["kubectl-erpsync"]  # the field manager docs/gitops.md names
    assert _status_suspension(cluster, "acme-generic") == dict.fromkeys(SYNCS, (True, ["Annotation"]))
    updated = [event for event in cluster.events() if event["reason"] == "CronJobsUpdated"]
    assert any("(spec.suspend)" in event["message"] for event in updated)  # a request, not a repair
    assert not [event for event in cluster.events() if event["reason"] == "CronJobsRepaired"]

    # Git changes the schedule; `kubectl apply` of a manifest without `suspend` keeps the pause.
    changed = _manifest(cluster, "generic", jobs={"frequency": "Daily"})
    assert "configured" in kubectl("apply", "-f", "-", input=changed).stdout
    assert _annotation(cluster, "acme-generic") == "all"
    body = ready(cluster, "acme-generic")
    assert body["status"]["syncs"]["jobs"]["frequency"] == "Daily"  # the new generation is applied...
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, True)  # ...and nothing resumed
    assert _status_suspension(cluster, "acme-generic") == dict.fromkeys(SYNCS, (True, ["Annotation"]))

    # Flux's convention: server-side apply as kustomize-controller, forcing conflicts.
    flux = ("apply", "--server-side", "--field-manager", "kustomize-controller", "--force-conflicts", "-f", "-")
    kubectl(*flux, input=_manifest(cluster, "generic", jobs={"frequency": "Hourly"}))
    assert _annotation(cluster, "acme-generic") == "all"
    body = ready(cluster, "acme-generic")
    assert body["status"]["syncs"]["jobs"]["frequency"] == "Hourly"
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, True)

    # resume without --sync ends everything the plugin suspended.
    assert ok(plugin(kubeconfig, "resume", "acme-generic")) == f"{OBJECT}/acme-generic resumed (in effect)\n"
    assert _annotation(cluster, "acme-generic") is None
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, False)
    assert _status_suspension(cluster, "acme-generic") == dict.fromkeys(SYNCS, (False, None))


def test_resume_refuses_what_the_spec_suspends(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.kubectl("apply", "-f", "-", input=_manifest(cluster, "generic", vendors={"suspend": True}))
    ready(cluster, "acme-generic")
    output = ok(plugin(kubeconfig, "suspend", "acme-generic", "--sync", "jobs"))
    assert output == f"{OBJECT}/acme-generic suspended: jobs (in effect)\n"
    assert _status_suspension(cluster, "acme-generic") == {
        "vendors": (True, ["Sync"]),
        "jobs": (True, ["Annotation"]),
        "jobCosts": (False, None),
        "invoicePayments": (False, None),
    }

    # Named with --sync: the plugin does not pretend, and names the field to change in Git.
    refused = one_line_error(plugin(kubeconfig, "resume", "acme-generic", "--sync", "vendors"))
    assert refused == (
        "error: acme-generic: still suspended by its spec (spec.syncs.vendors.suspend: true), which the plugin "
        f"does not change; {GIT_ADVICE}"
    )
    assert _annotation(cluster, "acme-generic") == "jobs"

    # Without --sync: what the plugin suspended resumes; what the spec suspends is noted, not resumed.
    resumed = plugin(kubeconfig, "resume", "acme-generic")
    assert ok(resumed) == f"{OBJECT}/acme-generic resumed (in effect)\n"
    assert resumed.stderr == (
        f"note: acme-generic: still suspended by its spec (spec.syncs.vendors.suspend); {GIT_ADVICE}\n"
    )
    assert suspended(cluster, "acme-generic") == {**dict.fromkeys(SYNCS, False), "vendors": True}
    assert _annotation(cluster, "acme-generic") is None

    # Nothing of the plugin's left: resume says only the manifest can.
    nothing = one_line_error(plugin(kubeconfig, "resume", "acme-generic", kubectl=True))
    assert nothing.startswith("error: acme-generic: still suspended by its spec (spec.syncs.vendors.suspend: true)")


def test_suspend_several_schedules_and_refuse_a_sync_the_profile_lacks(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    cluster.apply(example("viewpoint-spectrum"))
    ready(cluster, "acme-generic")
    ready(cluster, "ridge-spectrum")

    refused = one_line_error(plugin(kubeconfig, "suspend", "ridge-spectrum", "--sync", "vendors,invoicePayments"))
    assert refused == (
        "error: ridge-spectrum: invoicePayments not offered by ViewpointSpectrum; its syncs: vendors, jobs, "
        "jobCosts (nothing changed)"
    )
    assert _annotation(cluster, "ridge-spectrum") is None

    both = plugin(kubeconfig, "suspend", "acme-generic", "ridge-spectrum", "--sync", "vendors", kubectl=True)
    assert ok(both) == (
        f"{OBJECT}/acme-generic suspended: vendors (in effect)\n"
        f"{OBJECT}/ridge-spectrum suspended: vendors (in effect)\n"
    )
    for name in ("acme-generic", "ridge-spectrum"):
        assert _annotation(cluster, name) == "vendors"
        assert suspended(cluster, name)["vendors"] is True

    # One name unknown: the others are handled, the error is told, the exit code is 1.
    mixed = plugin(kubeconfig, "resume", "nope", "acme-generic")
    assert mixed.returncode == 1
    assert mixed.stdout == f"{OBJECT}/acme-generic resumed (in effect)\n"
    assert mixed.stderr == f'error: erpsyncschedules.erpsync.io "nope" not found in namespace "{cluster.namespace}"\n'
    assert _annotation(cluster, "ridge-spectrum") == "vendors"


def test_suspend_tells_a_request_not_yet_in_effect(cluster: Cluster) -> None:
    kubeconfig = cluster.operator.kubeconfig
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")
    cluster.operator.stop()

    late = plugin(kubeconfig, "suspend", "acme-generic", "--sync", "vendors,jobs", "--timeout", "1")
    assert late.returncode == 1
    assert late.stdout == f"{OBJECT}/acme-generic suspended: vendors, jobs (requested; not yet in effect)\n"
    assert late.stderr == (
        "error: acme-generic: not yet in effect after 1s: CronJob acme-generic-vendors still suspend: false; "
        "CronJob acme-generic-jobs still suspend: false; "
        f"is the operator running and watching namespace {cluster.namespace}?\n"
    )
    assert _annotation(cluster, "acme-generic") == "vendors,jobs"  # the request stays
    assert suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, False)

    queued = ok(plugin(kubeconfig, "suspend", "acme-generic", "--sync", "jobCosts", "--no-wait"))
    assert queued == f"{OBJECT}/acme-generic suspended: jobCosts (requested)\n"

    cluster.operator.start()  # the operator applies what was asked while it was away
    expected = {**dict.fromkeys(SYNCS, True), "invoicePayments": False}
    wait_for("the requests in effect", lambda: suspended(cluster, "acme-generic") == expected)
    now = ok(plugin(kubeconfig, "suspend", "acme-generic", "--sync", "vendors"))
    assert now == f"{OBJECT}/acme-generic suspended: vendors (in effect)\n"


def test_a_hand_written_annotation_is_read_leniently_and_its_typos_reported_once(cluster: Cluster) -> None:
    cluster.apply(example("generic"))
    ready(cluster, "acme-generic")
    target = ("annotate", "-n", cluster.namespace, "erpsync/acme-generic", "--overwrite")
    cluster.kubectl(*target, f"{ANNOTATION}=vendors, vendor ,true")
    only_vendors = {**dict.fromkeys(SYNCS, False), "vendors": True}
    wait_for("vendors suspended, the typos ignored", lambda: suspended(cluster, "acme-generic") == only_vendors)

    def warnings() -> list[str]:
        return [event["message"] for event in cluster.events() if event["reason"] == "InvalidSuspendAnnotation"]

    assert wait_for("the Warning", warnings) == [
        f'{ANNOTATION}: ignored "vendor", "true"; allowed: all, or syncs separated by commas: '
        "vendors, jobs, jobCosts, invoicePayments"
    ]
    cluster.patch_spec("acme-generic", {"syncs": {"jobs": {"frequency": "Daily"}}})  # another pass, same value
    assert ready(cluster, "acme-generic")["status"]["syncs"]["jobs"]["frequency"] == "Daily"
    assert len(warnings()) == 1  # posted before the status write of the pass that reads it
    cluster.kubectl(*target, f"{ANNOTATION}=all")
    wait_for("every sync suspended", lambda: suspended(cluster, "acme-generic") == dict.fromkeys(SYNCS, True))
    assert len(warnings()) == 1
