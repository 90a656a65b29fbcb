"""The Kubernetes API emulator over real sockets: the kubernetes client, raw HTTP and the real kubectl.

Each test pins one behaviour a real API server has and KMock alone lacks, so that an operator test that
passes on the emulator does not fail on a cluster for want of it.
"""

from __future__ import annotations

import copy
import json
import signal
import statistics
import subprocess
import sys
import time
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any

import kubernetes.client
import kubernetes.watch
import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from erpsync_emulators.kube import EmulatorServer
from tests.emulators.kube.helpers import (
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    Http,
    Kubectl,
    Watch,
    configmap,
    cronjob,
    owner_ref,
    schedule,
    wait_for,
)

ESS = "/apis/erpsync.io/v1alpha1/namespaces/erp/erpsyncschedules"
CJ = "/apis/batch/v1/namespaces/erp/cronjobs"
JOBS = "/apis/batch/v1/namespaces/erp/jobs"
CM = "/api/v1/namespaces/erp/configmaps"
REPO = Path(__file__).resolve().parents[3]
NOW = "2026-01-01T00:00:00Z"
OPEN_SCHEMA = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _reason(exc: ApiException) -> str:
    return str(json.loads(exc.body or "{}")["reason"])


def _names(items: list[Any]) -> set[str]:
    """Names of typed kubernetes-client objects (their metadata is Optional in the models)."""
    return {str(item.metadata.name) for item in items}


def _gone(http: Http, path: str) -> bool:
    return http.get(path).status == 404


# Discovery ---------------------------------------------------------------------------------------------


def test_discovery_serves_builtins_and_the_crd(http: Http, kubectl: Kubectl) -> None:
    core = http.get("/api/v1").data
    assert core["groupVersion"] == "v1"  # KMock said "/v1"
    assert {"namespaces", "configmaps", "pods", "events"} <= {r["name"] for r in core["resources"]}

    ours = http.get("/apis/erpsync.io/v1alpha1").data
    entries = {r["name"]: r for r in ours["resources"]}
    assert entries["erpsyncschedules"]["shortNames"] == ["erpsync"]
    assert entries["erpsyncschedules"]["kind"] == "ErpSyncSchedule"
    assert entries["erpsyncschedules"]["namespaced"] is True
    assert "shortNames" not in entries["erpsyncschedules/status"]  # KMock copied the parent's
    assert "erpsync.io" in {g["name"] for g in http.get("/apis").data["groups"]}
    autoscaling = http.get("/apis/autoscaling").data
    assert autoscaling["preferredVersion"]["version"] == "v2"  # GA v2 over v1: deterministic
    version = http.get("/version").data
    assert (version["major"], version["minor"]) == ("1", "32")

    resources = kubectl("api-resources").stdout
    assert "erpsyncschedules" in resources and "cronjobs" in resources
    result = kubectl("get", "erpsync", "-n", "erp")
    assert "could also match" not in result.stderr  # no shortName clash with the status subresource


def test_crd_posted_to_apiextensions_becomes_served(http: Http, kubectl: Kubectl) -> None:
    widgets_crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": OPEN_SCHEMA}}],
        },
    }
    assert http.get("/apis/example.com/v1").status == 404
    kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(widgets_crd))
    kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=5s")
    assert http.get("/apis/example.com/v1").status == 200
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 1}}
    created = http.post("/apis/example.com/v1/namespaces/erp/widgets", widget)
    assert created.status == 201
    assert created.data["metadata"]["generation"] == 1
    assert "w1" in kubectl("get", "wd", "-n", "erp").stdout

    kubectl("delete", "crd", "widgets.example.com")
    assert http.get("/apis/example.com/v1").status == 404
    assert http.get("/apis/example.com/v1/namespaces/erp/widgets/w1").status == 404


def test_namespaces_are_served_and_seeded(k8s: kubernetes.client.ApiClient, kubectl: Kubectl, http: Http) -> None:
    core = kubernetes.client.CoreV1Api(k8s)
    assert {"default", "kube-system", "erp"} <= _names(core.list_namespace().items)
    default: Any = core.read_namespace("default")
    assert default.status.phase == "Active"

    manifest = kubectl("create", "namespace", "extra", "--dry-run=client", "-o", "yaml").stdout
    kubectl("apply", "--validate=false", "-f", "-", stdin=manifest)
    assert http.get("/api/v1/namespaces/extra").status == 200
    assert http.get("/api/v1/namespaces/extra/status").data["status"]["phase"] == "Active"
    assert "extra" in kubectl("get", "ns").stdout


# Create --------------------------------------------------------------------------------------------------


def test_create_fills_server_fields(k8s: kubernetes.client.ApiClient, http: Http) -> None:
    custom = kubernetes.client.CustomObjectsApi(k8s)
    body = schedule("alpha")
    del body["metadata"]["namespace"]  # taken from the URL
    body["status"] = {"phase": "made up"}  # dropped: status belongs to the status subresource
    first: Any = custom.create_namespaced_custom_object("erpsync.io", "v1alpha1", "erp", "erpsyncschedules", body)
    meta = first["metadata"]
    assert meta["namespace"] == "erp"
    assert len(meta["uid"]) == 36 and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert first["status"] == {"observedGeneration": -1}  # "made up" dropped; the CRD's status default

    bare = {"metadata": {"name": "beta"}, "spec": {"erp": "Generic"}}  # no apiVersion/kind: filled in
    second = http.post(ESS, bare).data
    assert (second["apiVersion"], second["kind"]) == ("erpsync.io/v1alpha1", "ErpSyncSchedule")
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert second["metadata"]["uid"] != meta["uid"]

    job = http.post(CJ, cronjob("nightly")).data
    assert job["metadata"]["generation"] == 1 and job["status"] == {}
    cm = http.post(CM, configmap("plain")).data
    assert "generation" not in cm["metadata"]  # built-ins without generation, as Kubernetes does

    duplicate = http.post(ESS, schedule("alpha"))
    assert (duplicate.status, duplicate.reason) == (409, "AlreadyExists")
    missing = http.post("/api/v1/namespaces/nowhere/configmaps", configmap("x", namespace="nowhere"))
    assert (missing.status, missing.reason) == (404, "NotFound")
    assert "nowhere" in missing.data["message"]
    wrong_ns = http.post(CM, configmap("y", namespace="other"))
    assert wrong_ns.status == 400


def test_custom_resources_are_pruned_and_defaulted_from_the_crd_schema(http: Http) -> None:
    body = schedule("alpha", unknownField=1, syncs={"vendors": {"frequency": "Hourly", "typo": True}})
    stored = http.post(ESS, body).data
    spec = stored["spec"]
    assert "unknownField" not in spec and "typo" not in spec["syncs"]["vendors"]  # pruned, as on a cluster
    assert set(spec["syncs"]) == {"vendors", "jobs", "jobCosts", "invoicePayments"}  # each sync defaults to {}
    assert spec["syncs"]["jobCosts"]["costCodes"] == "StandardAndProject"
    assert (spec["suspend"], spec["worker"]["concurrencyPolicy"]) == (False, "Forbid")
    unknown_status = http.patch(f"{ESS}/alpha/status", {"status": {"anything": {"kept": 1}}}).data
    assert unknown_status["status"]["anything"] == {"kept": 1}  # status preserves unknown fields
    removed = http.patch(f"{ESS}/alpha", {"spec": {"suspend": None}}).data  # defaulted again: no change
    assert removed["metadata"]["resourceVersion"] == unknown_status["metadata"]["resourceVersion"]


def test_generate_name_and_name_validation(http: Http) -> None:
    generated = http.post("/api/v1/namespaces/erp/events", {"metadata": {"generateName": "kopf-event-"}})
    assert generated.status == 201 and generated.data["metadata"]["name"].startswith("kopf-event-")
    too_long = http.post(CJ, cronjob("x" * 53))  # CronJob names stop at 52 characters
    assert (too_long.status, too_long.reason) == (422, "Invalid")
    assert http.post(CJ, cronjob("x" * 52)).status == 201
    bad_label = http.post(CM, configmap("labelled", labels={"app": "v" * 64}))
    assert (bad_label.status, bad_label.reason) == (422, "Invalid")
    upper = http.post(CM, configmap("Upper"))
    assert upper.status == 422


def test_cronjobs_and_jobs_are_defaulted_and_validated_as_on_a_cluster(http: Http, kubectl: Kubectl) -> None:
    created = http.post(CJ, cronjob("nightly")).data
    spec = created["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    assert spec["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    pod = spec["jobTemplate"]["spec"]["template"]
    assert pod["metadata"] == {"creationTimestamp": None}
    assert (pod["spec"]["dnsPolicy"], pod["spec"]["terminationGracePeriodSeconds"]) == ("ClusterFirst", 30)
    (container,) = pod["spec"]["containers"]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert (container["imagePullPolicy"], container["resources"]) == ("IfNotPresent", {})
    # Removing a defaulted field is a no-op: it is defaulted again, as on a real server.
    again = http.patch(f"{CJ}/nightly", {"spec": {"concurrencyPolicy": None}}).data
    assert again["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    def invalid(change: dict[str, Any]) -> int:
        body = cronjob("broken")
        body["spec"].update(change)
        return http.post(CJ, body).status

    assert invalid({"schedule": "CRON_TZ=UTC 0 * * * *"}) == 422
    assert invalid({"schedule": "every hour"}) == 422
    assert invalid({"timeZone": "Mars/Olympus_Mons"}) == 422
    assert invalid({"timeZone": "America/Chicago"}) == 201
    no_restart_policy = cronjob("no-restart-policy")
    del no_restart_policy["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"]  # defaults to Always
    assert http.post(CJ, no_restart_policy).status == 422

    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i:latest"}], "restartPolicy": "Never"}}},
    }
    made = http.post(JOBS, job).data
    uid = made["metadata"]["uid"]
    assert made["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert made["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "once"
    assert (made["spec"]["backoffLimit"], made["spec"]["completions"]) == (6, 1)
    assert made["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # :latest
    changed = http.patch(
        f"{JOBS}/once", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "j"}]}}}}
    )
    assert (changed.status, changed.reason) == (422, "Invalid")
    assert http.patch(f"{JOBS}/once", {"spec": {"suspend": True}}).status == 200
    shown = kubectl.json("get", "cronjob", "nightly", "-n", "erp")
    assert shown["spec"]["concurrencyPolicy"] == "Allow"


# Update and patch ------------------------------------------------------------------------------------


def test_stale_resource_version_is_a_conflict(k8s: kubernetes.client.ApiClient, http: Http) -> None:
    created = http.post(ESS, schedule("alpha")).data
    stale = created["metadata"]["resourceVersion"]
    moved = http.patch(f"{ESS}/alpha", {"metadata": {"labels": {"a": "1"}}}).data
    assert moved["metadata"]["resourceVersion"] != stale

    merge = http.patch(f"{ESS}/alpha", {"metadata": {"resourceVersion": stale}, "spec": {"erp": "Xero"}})
    assert (merge.status, merge.reason) == (409, "Conflict")
    json_patch = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": stale},
        {"op": "replace", "path": "/spec/erp", "value": "Xero"},
    ]
    assert http.patch(f"{ESS}/alpha", json_patch, JSON_PATCH).status == 409
    replaced = copy.deepcopy(created)
    replaced["spec"]["erp"] = "Xero"
    assert http.put(f"{ESS}/alpha", replaced).status == 409
    custom = kubernetes.client.CustomObjectsApi(k8s)
    with pytest.raises(ApiException) as conflict:
        custom.replace_namespaced_custom_object("erpsync.io", "v1alpha1", "erp", "erpsyncschedules", "alpha", replaced)
    assert (conflict.value.status, _reason(conflict.value)) == (409, "Conflict")
    assert http.get(f"{ESS}/alpha").data["spec"]["erp"] == "Generic"  # nothing was written

    current = moved["metadata"]["resourceVersion"]
    ok = http.patch(f"{ESS}/alpha", {"metadata": {"resourceVersion": current}, "spec": {"erp": "Xero"}})
    assert ok.status == 200 and ok.data["spec"]["erp"] == "Xero"


def test_put_replaces_and_requires_a_resource_version_for_custom_resources(http: Http, kubectl: Kubectl) -> None:
    created = http.post(ESS, schedule("alpha", procore={"companyId": 7})).data
    unconditional = copy.deepcopy(created)
    del unconditional["metadata"]["resourceVersion"]
    assert http.put(f"{ESS}/alpha", unconditional).status == 422  # CRs allow no unconditional update
    # kubectl replace fills in the current resourceVersion itself (as against a real server), so it works.
    kubectl("replace", "--validate=false", "-f", "-", stdin=yaml.safe_dump(unconditional))
    created = http.get(f"{ESS}/alpha").data

    replacement = copy.deepcopy(created)
    replacement["spec"] = {"erp": "Xero", "timeZone": "UTC"}
    replacement["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z"  # system field: ignored
    replaced = http.put(f"{ESS}/alpha", replacement).data
    assert replaced["spec"]["erp"] == "Xero" and "procore" not in replaced["spec"]  # a replace, not a merge
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    assert replaced["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert replaced["metadata"]["generation"] == 2
    renamed = copy.deepcopy(replaced)
    renamed["metadata"]["name"] = "other"
    assert http.put(f"{ESS}/alpha", renamed).status == 400


def test_generation_moves_only_on_real_spec_changes(k8s: kubernetes.client.ApiClient, http: Http) -> None:
    custom = kubernetes.client.CustomObjectsApi(k8s)
    args = ("erpsync.io", "v1alpha1", "erp", "erpsyncschedules", "alpha")
    http.post(ESS, schedule("alpha"))

    def patch(body: Any, content_type: str = MERGE) -> dict[str, Any]:
        result: Any = custom.patch_namespaced_custom_object(*args, body, _content_type=content_type)
        return dict(result)

    labelled = patch({"metadata": {"labels": {"team": "a"}}})
    assert labelled["metadata"]["generation"] == 1  # metadata only
    changed = patch({"spec": {"erp": "Xero"}})
    assert changed["metadata"]["generation"] == 2
    assert int(changed["metadata"]["resourceVersion"]) > int(labelled["metadata"]["resourceVersion"])
    same = patch({"spec": {"erp": "Xero"}})
    assert same["metadata"]["generation"] == 2
    json_changed = patch([{"op": "add", "path": "/spec/suspend", "value": True}], JSON_PATCH)
    assert json_changed["metadata"]["generation"] == 3
    status: Any = custom.patch_namespaced_custom_object_status(*args, {"status": {"observedGeneration": 3}})
    assert status["metadata"]["generation"] == 3

    cj = http.post(CJ, cronjob("nightly")).data
    assert http.patch(f"{CJ}/nightly", {"metadata": {"labels": {"x": "y"}}}).data["metadata"]["generation"] == 1
    suspended = http.patch(f"{CJ}/nightly", {"spec": {"suspend": True}}, STRATEGIC).data
    assert suspended["metadata"]["generation"] == 2
    assert suspended["metadata"]["uid"] == cj["metadata"]["uid"]


def test_noop_patch_changes_nothing_and_sends_no_event(server: EmulatorServer, http: Http, kubectl: Kubectl) -> None:
    created = http.post(ESS, schedule("alpha", labels={"app": "erp"})).data
    rv = created["metadata"]["resourceVersion"]
    with Watch(server.url, ESS, resourceVersion=rv) as watch:
        noop = http.patch(f"{ESS}/alpha", {"spec": {"erp": "Generic"}, "metadata": {"labels": {"app": "erp"}}})
        assert noop.data["metadata"]["resourceVersion"] == rv
        noop_json = http.patch(f"{ESS}/alpha", [{"op": "replace", "path": "/spec/erp", "value": "Generic"}], JSON_PATCH)
        assert noop_json.data["metadata"]["resourceVersion"] == rv
        status_only_on_main = http.patch(f"{ESS}/alpha", {"status": {"ignored": True}})
        assert status_only_on_main.data["metadata"]["resourceVersion"] == rv
        unchanged = kubectl(
            "patch", "erpsync", "alpha", "-n", "erp", "--type=merge", "-p", '{"spec":{"erp":"Generic"}}'
        )
        assert "(no change)" in unchanged.stdout  # kubectl compares the object before and after
        real = http.patch(f"{ESS}/alpha", {"spec": {"erp": "Xero"}}).data
        event = watch.next()
        assert event is not None
        assert event["type"] == "MODIFIED"  # the first event is the real change: the no-ops sent none
        assert event["object"]["metadata"]["resourceVersion"] == real["metadata"]["resourceVersion"]


def test_status_subresource_is_kept_apart_both_ways(kubectl: Kubectl, http: Http) -> None:
    http.post(ESS, schedule("alpha"))
    main = http.patch(f"{ESS}/alpha", {"spec": {"erp": "Xero"}, "status": {"phase": "Ready"}}).data
    assert main["spec"]["erp"] == "Xero" and main["status"] == {"observedGeneration": -1}

    status = http.patch(f"{ESS}/alpha/status", {"spec": {"erp": "Cmic"}, "status": {"phase": "Ready"}}).data
    assert status["spec"]["erp"] == "Xero" and status["status"] == {"observedGeneration": -1, "phase": "Ready"}
    labels = http.patch(f"{ESS}/alpha/status", {"metadata": {"labels": {"x": "y"}}}).data
    assert "labels" not in labels["metadata"]

    again = http.patch(f"{ESS}/alpha", {"spec": {"erp": "Cmic"}, "status": {"phase": "Overwritten"}}).data
    assert again["spec"]["erp"] == "Cmic" and again["status"]["phase"] == "Ready"  # status survives main writes
    replaced = {**again, "status": None}
    assert http.put(f"{ESS}/alpha", replaced).data["status"]["phase"] == "Ready"

    kubectl(
        "patch", "erpsync", "alpha", "-n", "erp", "--subresource=status", "--type=merge", "-p", '{"status":{"n":1}}'
    )
    fetched = kubectl.json("get", "erpsync", "alpha", "-n", "erp")
    assert fetched["status"] == {"observedGeneration": -1, "phase": "Ready", "n": 1}
    assert http.get(f"{ESS}/alpha/status").data["status"]["n"] == 1
    assert http.patch(f"{CM}/none/status", {"status": {}}).status == 404


def test_strategic_merge_is_a_merge_without_directive_keys(http: Http) -> None:
    http.post(CJ, cronjob("nightly"))
    patch = {
        "metadata": {"labels": {"tier": "b"}, "$setElementOrder/finalizers": [{"x": 1}]},
        "spec": {"$retainKeys": ["schedule", "jobTemplate"], "schedule": "5 * * * *"},
    }
    patched = http.patch(f"{CJ}/nightly", patch, STRATEGIC).data
    assert patched["metadata"]["labels"] == {"app": "erp-sync", "tier": "b"}
    assert patched["spec"]["schedule"] == "5 * * * *"
    assert not any(key.startswith("$") for key in json.dumps(patched).split('"') if key)
    assert http.patch(f"{CJ}/nightly", {"spec": {}}, "text/plain").status == 415


def test_kubectl_patches_built_ins_with_strategic_merge(http: Http, kubectl: Kubectl) -> None:
    http.post(CJ, cronjob("nightly"))
    kubectl("patch", "cronjob", "nightly", "-n", "erp", "-p", '{"spec":{"suspend":true}}')  # strategic by default
    patched = http.get(f"{CJ}/nightly").data
    assert patched["spec"]["suspend"] is True and patched["metadata"]["generation"] == 2
    kubectl("annotate", "cronjob", "nightly", "-n", "erp", "erpsync.io/sync-now=t1")
    annotated = http.get(f"{CJ}/nightly").data
    assert annotated["metadata"]["annotations"] == {"erpsync.io/sync-now": "t1"}
    assert annotated["metadata"]["generation"] == 2


# Lists and selectors --------------------------------------------------------------------------------


def test_lists_filter_by_label_and_field_selectors(
    k8s: kubernetes.client.ApiClient, kubectl: Kubectl, http: Http
) -> None:
    for name, labels in {
        "a": {"app": "erp", "tier": "db"},
        "b": {"app": "erp", "tier": "web"},
        "c": {"app": "other"},
        "d": {},
    }.items():
        http.post(CM, configmap(name, labels=labels))
    core = kubernetes.client.CoreV1Api(k8s)

    def names(selector: str) -> set[str]:
        return _names(core.list_namespaced_config_map("erp", label_selector=selector).items)

    assert names("app=erp") == {"a", "b"}
    assert names("app==erp,tier!=db") == {"b"}
    assert names("tier in (db, web)") == {"a", "b"}
    assert names("app notin (erp)") == {"c", "d"}
    assert names("tier") == {"a", "b"}
    assert names("!tier") == {"c", "d"}
    assert names("app!=erp") == {"c", "d"}
    assert names("") == {"a", "b", "c", "d"}
    http.patch(f"{CM}/d", {"metadata": {"labels": {"app": "erp"}}})
    http.patch(f"{CM}/a", {"metadata": {"labels": {"app": None}}})
    assert names("app=erp") == {"b", "d"}  # selectors follow label changes
    assert names("app in (erp, other)") == {"b", "c", "d"}
    by_name = core.list_namespaced_config_map("erp", field_selector="metadata.name=c").items
    assert _names(by_name) == {"c"}
    everywhere = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=erp").items
    assert _names(everywhere) == {"a", "b", "c", "d"}

    assert kubectl("get", "cm", "-n", "erp", "-l", "tier in (web)", "-o", "name").stdout.split() == ["configmap/b"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_config_map("erp", label_selector="tier in (db")
    assert bad.value.status == 400
    with pytest.raises(ApiException) as unsupported:
        core.list_namespaced_config_map("erp", field_selector="data.k=v")
    assert unsupported.value.status == 400


def test_lists_carry_kind_api_version_and_resource_version(http: Http, kubectl: Kubectl) -> None:
    http.post(ESS, schedule("alpha"))
    last = http.post(ESS, schedule("beta")).data
    listed = http.get(ESS).data
    assert (listed["kind"], listed["apiVersion"]) == ("ErpSyncScheduleList", "erpsync.io/v1alpha1")
    assert listed["metadata"]["resourceVersion"] == last["metadata"]["resourceVersion"]
    assert [item["metadata"]["name"] for item in listed["items"]] == ["alpha", "beta"]
    assert http.get("/api/v1/namespaces").data["kind"] == "NamespaceList"
    page = http.get(f"{ESS}?limit=1").data
    assert len(page["items"]) == 1 and page["metadata"]["continue"]
    rest = http.get(f"{ESS}?limit=1&continue={page['metadata']['continue']}").data
    assert [item["metadata"]["name"] for item in rest["items"]] == ["beta"]
    assert kubectl.json("get", "erpsync", "-n", "erp")["kind"] == "List"  # kubectl decodes it


# Watches ----------------------------------------------------------------------------------------------


def test_watch_is_json_and_resumes_from_a_resource_version(server: EmulatorServer, http: Http) -> None:
    with Watch(server.url, ESS) as first:  # the first request this emulator serves: no header set before
        assert first.headers["Content-Type"] == "application/json"  # KMock sent application/octet-stream
    http.post(ESS, schedule("alpha"))
    middle = http.post(ESS, schedule("beta")).data["metadata"]["resourceVersion"]
    http.post(ESS, schedule("gamma"))
    with Watch(server.url, ESS) as watch:
        assert watch.headers["Content-Type"].startswith("application/json")
        initial = watch.events(3)
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in initial] == [
            ("ADDED", "alpha"),
            ("ADDED", "beta"),
            ("ADDED", "gamma"),
        ]
    with Watch(server.url, ESS, resourceVersion=middle) as resumed:
        (event,) = resumed.events(1)
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "gamma")
        http.delete(f"{ESS}/alpha")
        deleted = resumed.next()
        assert deleted is not None and (deleted["type"], deleted["object"]["metadata"]["name"]) == ("DELETED", "alpha")


def test_watch_too_old_resource_version_gets_410(crd: dict[str, Any]) -> None:
    with EmulatorServer(crds=[crd], seed_namespaces=("erp",), journal_size=3) as small:
        http = Http(small.url)
        first = http.post(CM, configmap("c0")).data["metadata"]["resourceVersion"]
        for index in range(1, 10):
            http.post(CM, configmap(f"c{index}"))
        with Watch(small.url, CM, resourceVersion=first) as watch:
            event = watch.next()
            assert event is not None and event["type"] == "ERROR"
            assert event["object"]["code"] == 410
        http.close()


def test_watch_bookmarks_and_timeout(server: EmulatorServer, http: Http) -> None:
    http.post(ESS, schedule("alpha"))
    with Watch(server.url, ESS, allowWatchBookmarks="true", timeoutSeconds="2") as watch:
        added, end_of_initial = watch.events(2)
        assert added["type"] == "ADDED"
        assert end_of_initial["type"] == "BOOKMARK"
        assert end_of_initial["object"]["kind"] == "ErpSyncSchedule"
        assert end_of_initial["object"]["metadata"]["resourceVersion"] == str(
            added["object"]["metadata"]["resourceVersion"]
        )
        periodic = watch.next(timeout=2)  # bookmark_interval is 0.2 s in these tests
        assert periodic is not None and periodic["type"] == "BOOKMARK"
        deadline = time.monotonic() + 5  # bookmarks keep coming until the server's timeout ends the stream
        while watch.next(timeout=3) is not None:
            assert time.monotonic() < deadline, "timeoutSeconds=2 did not end the stream"
    with Watch(server.url, ESS, sendInitialEvents="true", allowWatchBookmarks="true") as initial:
        _, bookmark = initial.events(2)
        assert bookmark["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    with Watch(server.url, ESS, timeoutSeconds="1") as quiet:
        quiet.events(1)
        assert quiet.next(timeout=3) is None  # no bookmarks unless asked for


def test_watch_selectors_turn_modifications_into_added_and_deleted(
    k8s: kubernetes.client.ApiClient, http: Http
) -> None:
    http.post(CM, configmap("a", labels={"app": "erp"}))
    http.post(CM, configmap("b"))
    core = kubernetes.client.CoreV1Api(k8s)
    stream = kubernetes.watch.Watch().stream(  # type: ignore[no-untyped-call]
        core.list_namespaced_config_map, "erp", label_selector="app=erp", timeout_seconds=3
    )
    seen: list[tuple[str, str]] = []
    for event in stream:
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            http.patch(f"{CM}/b", {"metadata": {"labels": {"app": "erp"}}})  # into the selector
            http.patch(f"{CM}/a", {"metadata": {"labels": {"app": "gone"}}})  # out of it
            http.patch(f"{CM}/c-missing", {"data": {}})  # 404, no event
            http.patch(f"{CM}/b", {"data": {"k": "2"}})
        if len(seen) == 4:
            break
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a"), ("MODIFIED", "b")]


def test_kubectl_get_watch_and_wait_for_a_condition(server: EmulatorServer, kubectl: Kubectl, http: Http) -> None:
    kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(schedule("alpha")))
    waiter = subprocess.Popen(
        [
            "/usr/bin/kubectl",
            "wait",
            "--for=condition=Ready",
            "erpsync/alpha",
            "-n",
            "erp",
            "--timeout=10s",
        ],
        env=kubectl.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: server.watch_count() > 0, what="kubectl wait to watch")
    # kubectl wait also wants status.observedGeneration to have caught up (the CRD defaults it to -1).
    ready = {
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled", "lastTransitionTime": NOW}],
        }
    }
    http.patch(f"{ESS}/alpha/status", ready)
    out, err = waiter.communicate(timeout=15)
    assert waiter.returncode == 0, err
    assert "condition met" in out


# Delete, finalizers, garbage collection --------------------------------------------------------------


def test_finalizers_hold_the_deletion_until_removed(server: EmulatorServer, http: Http) -> None:
    created = http.post(ESS, {**schedule("alpha"), "metadata": {"name": "alpha", "finalizers": ["x.io/hold"]}}).data
    with Watch(server.url, ESS, resourceVersion=created["metadata"]["resourceVersion"]) as watch:
        pending = http.delete(f"{ESS}/alpha")
        assert pending.status == 202 and pending.data["metadata"]["deletionTimestamp"]
        modified = watch.next()
        assert modified is not None and modified["type"] == "MODIFIED"
        assert http.get(f"{ESS}/alpha").data["metadata"]["deletionTimestamp"]
        refused = http.patch(f"{ESS}/alpha", {"metadata": {"finalizers": ["x.io/hold", "y.io/new"]}})
        assert (refused.status, refused.reason) == (422, "Invalid")
        spec_change = http.patch(f"{ESS}/alpha", {"spec": {"erp": "Xero"}})
        assert spec_change.status == 200  # still writable while it waits
        watch.next()
        done = http.patch(f"{ESS}/alpha", {"metadata": {"finalizers": None}})
        assert done.status == 200
        deleted = watch.next()
        assert deleted is not None and deleted["type"] == "DELETED"
    assert _gone(http, f"{ESS}/alpha")


def test_garbage_collection_is_background_and_recursive(http: Http) -> None:
    owner = http.post(ESS, schedule("alpha")).data
    cj = http.post(CJ, cronjob("alpha-vendors", owners=[owner])).data
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "alpha-vendors-1", "ownerReferences": [owner_ref(cj)]},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}], "restartPolicy": "Never"}}},
    }
    http.post(JOBS, job)
    unrelated = http.post(CJ, cronjob("unrelated")).data
    deleted = http.delete(f"{ESS}/alpha")
    assert deleted.status == 200
    wait_for(lambda: _gone(http, f"{CJ}/alpha-vendors") and _gone(http, f"{JOBS}/alpha-vendors-1"), what="GC")
    assert http.get(f"{CJ}/unrelated").data["metadata"]["uid"] == unrelated["metadata"]["uid"]


def test_garbage_collection_after_the_owner_finalizer_is_removed(http: Http) -> None:
    owner = http.post(ESS, {**schedule("alpha"), "metadata": {"name": "alpha", "finalizers": ["x.io/hold"]}}).data
    http.post(CJ, cronjob("alpha-vendors", owners=[owner]))
    http.delete(f"{ESS}/alpha")
    time.sleep(0.05)  # give the collector a chance to (wrongly) act on a pending owner
    assert http.get(f"{CJ}/alpha-vendors").status == 200  # the owner still exists
    http.patch(f"{ESS}/alpha", [{"op": "remove", "path": "/metadata/finalizers"}], JSON_PATCH)
    wait_for(lambda: _gone(http, f"{CJ}/alpha-vendors"), what="GC after the finalizer")


def test_garbage_collection_with_several_owners_and_absent_owners(http: Http) -> None:
    first = http.post(ESS, schedule("first")).data
    second = http.post(ESS, schedule("second")).data
    http.post(CJ, cronjob("shared", owners=[first, second]))
    http.delete(f"{ESS}/first")
    wait_for(lambda: len(http.get(f"{CJ}/shared").data["metadata"]["ownerReferences"]) == 1, what="dangling ref")
    assert http.get(f"{CJ}/shared").data["metadata"]["ownerReferences"][0]["name"] == "second"
    http.delete(f"{ESS}/second")
    wait_for(lambda: _gone(http, f"{CJ}/shared"), what="GC of the last owner")

    ghost = {"apiVersion": "erpsync.io/v1alpha1", "kind": "ErpSyncSchedule", "metadata": {"name": "ghost", "uid": "0"}}
    assert http.post(CJ, cronjob("orphaned-at-birth", owners=[ghost])).status == 201
    wait_for(lambda: _gone(http, f"{CJ}/orphaned-at-birth"), what="GC of a dependent without owner")


def test_orphan_and_foreground_propagation(http: Http, kubectl: Kubectl) -> None:
    owner = http.post(ESS, schedule("alpha")).data
    http.post(CJ, cronjob("kept", owners=[owner]))
    assert http.delete(f"{ESS}/alpha?propagationPolicy=Orphan").status == 202
    wait_for(lambda: _gone(http, f"{ESS}/alpha"), what="owner deleted")
    assert "ownerReferences" not in http.get(f"{CJ}/kept").data["metadata"]

    owner = http.post(ESS, schedule("beta")).data
    http.post(CJ, cronjob("first-out", owners=[owner]))
    kubectl("delete", "erpsync", "beta", "-n", "erp", "--cascade=foreground", "--wait=true", "--timeout=10s")
    assert _gone(http, f"{CJ}/first-out") and _gone(http, f"{ESS}/beta")


def test_namespace_deletion_removes_its_objects(http: Http) -> None:
    http.post("/api/v1/namespaces", {"metadata": {"name": "doomed"}})
    http.post("/api/v1/namespaces/doomed/configmaps", configmap("c", namespace="doomed"))
    terminating = http.delete("/api/v1/namespaces/doomed")
    assert terminating.data["status"]["phase"] == "Terminating"
    wait_for(lambda: _gone(http, "/api/v1/namespaces/doomed"), what="namespace deleted")
    assert http.get("/api/v1/namespaces/doomed/configmaps/c").status == 404


def test_delete_preconditions(http: Http) -> None:
    created = http.post(CM, configmap("c")).data
    stale = http.delete(f"{CM}/c", {"preconditions": {"uid": "not-the-uid"}})
    assert (stale.status, stale.reason) == (409, "Conflict")
    assert http.delete(f"{CM}/c", {"preconditions": {"uid": created["metadata"]["uid"]}}).status == 200


# Dry run, media types ------------------------------------------------------------------------------


def test_dry_run_answers_without_storing(http: Http, kubectl: Kubectl) -> None:
    created = http.post(f"{ESS}?dryRun=All", schedule("alpha"))
    assert created.status == 201 and created.data["metadata"]["uid"]
    assert _gone(http, f"{ESS}/alpha")
    stored = http.post(ESS, schedule("alpha")).data
    rv = stored["metadata"]["resourceVersion"]
    patched = http.patch(f"{ESS}/alpha?dryRun=All", {"spec": {"erp": "Xero"}})
    assert patched.data["spec"]["erp"] == "Xero"
    assert http.get(f"{ESS}/alpha").data["metadata"]["resourceVersion"] == rv
    assert http.delete(f"{ESS}/alpha", {"dryRun": ["All"]}).status == 200
    assert http.get(f"{ESS}/alpha").status == 200

    changed = yaml.safe_dump(schedule("alpha", erp="Cmic"))
    kubectl("apply", "--validate=false", "--dry-run=server", "-f", "-", stdin=changed)
    diff = kubectl("diff", "-f", "-", stdin=changed, check=False)
    assert diff.returncode == 1 and "Cmic" in diff.stdout
    assert http.get(f"{ESS}/alpha").data["spec"]["erp"] == "Generic"
    assert http.get(f"{ESS}/alpha").data["metadata"]["resourceVersion"] == rv


def test_protobuf_is_refused_with_a_clear_message(http: Http, kubectl: Kubectl) -> None:
    reply = http.request("POST", CM, raw_body=b"k8s\x00\x0a", content_type="application/vnd.kubernetes.protobuf")
    assert reply.status == 415 and reply.reason == "UnsupportedMediaType"
    assert "--dry-run=client -o yaml" in reply.data["message"]
    typed = kubectl("create", "namespace", "typed", check=False)
    assert typed.returncode != 0 and "JSON bodies only" in typed.stderr


# Accounting, faults ----------------------------------------------------------------------------------


def test_request_log_is_bounded_and_the_create_rate_stays_flat(server: EmulatorServer, http: Http) -> None:
    started = time.perf_counter()
    for index in range(1000):
        assert http.post(CM, configmap(f"cm-{index:04d}")).status == 201
    elapsed = time.perf_counter() - started
    log = server.request_log()
    assert len(log) == 1000  # the configured bound: older requests are not kept
    assert server.call(lambda emulator: len(emulator._requests)) == 0  # KMock's list: only those in flight

    # Server-side time per create, early versus late. Medians: the machine is shared, so single requests
    # can stall; KMock's own log would make the late ones ~9x slower (13/s after 600 objects vs 114/s).
    durations = [entry.duration for entry in log if entry.verb == "create"]
    early, late = statistics.median(durations[:200]), statistics.median(durations[-200:])
    print(
        f"\n1,000 creates in {elapsed:.2f}s ({1000 / elapsed:.0f}/s over HTTP); server time per create: "
        f"first 200 {early * 1e3:.2f} ms, last 200 {late * 1e3:.2f} ms (median)"
    )
    assert late < 2.5 * early


def test_counters_by_verb_and_resource(server: EmulatorServer, http: Http, kubectl: Kubectl) -> None:
    server.reset_counters()
    http.post(ESS, schedule("alpha"))
    http.patch(f"{ESS}/alpha", {"spec": {"erp": "Xero"}})
    http.patch(f"{ESS}/alpha/status", {"status": {"a": 1}})
    http.get(ESS)
    kubectl("get", "cronjobs", "-n", "erp")
    counts = server.request_counts()["byVerbAndResource"]
    assert counts["create erpsyncschedules.erpsync.io"] == 1
    assert counts["patch erpsyncschedules.erpsync.io"] == 1
    assert counts["patch erpsyncschedules.erpsync.io/status"] == 1
    assert counts["list erpsyncschedules.erpsync.io"] == 1
    assert counts["list cronjobs.batch"] == 1
    assert counts["nonresource"] >= 2  # kubectl's discovery
    over_http = http.get("/_emulator/stats").data
    assert over_http["byVerb"]["patch"] == 2


def test_fault_injection_answers_then_recovers(
    server: EmulatorServer, http: Http, k8s: kubernetes.client.ApiClient
) -> None:
    http.post(ESS, schedule("alpha"))
    server.inject_fault("patch", "erpsyncschedules", 409, count=2)
    assert [http.patch(f"{ESS}/alpha", {"spec": {"erp": "Xero"}}).status for _ in range(3)] == [409, 409, 200]
    server.inject_fault("list", "cronjobs.batch", 500)
    batch = kubernetes.client.BatchV1Api(k8s)
    with pytest.raises(ApiException) as failed:
        batch.list_namespaced_cron_job("erp")
    assert (failed.value.status, _reason(failed.value)) == (500, "InternalError")
    assert batch.list_namespaced_cron_job("erp").items == []
    server.inject_fault("patch", "erpsyncschedules/status", 500)
    assert http.patch(f"{ESS}/alpha/status", {"status": {"a": 1}}).status == 500
    assert http.patch(f"{ESS}/alpha/status", {"status": {"a": 1}}).status == 200
    server.inject_fault("create", "configmaps", 429, retry_after=1)
    throttled = http.post(CM, configmap("c"))
    assert (throttled.status, throttled.headers["Retry-After"]) == (429, "1")
    assert throttled.data["details"]["retryAfterSeconds"] == 1
    assert _gone(http, f"{CM}/c")  # a faulted request changes nothing
    http.post("/_emulator/faults", {"verb": "get", "resource": "configmaps.v1", "status": 500})
    assert http.post(CM, configmap("c")).status == 201


def test_dropping_watch_streams(server: EmulatorServer) -> None:
    with Watch(server.url, ESS, allowWatchBookmarks="true") as clean, Watch(server.url, CJ) as cut:
        clean.events(1)  # the initial bookmark: the stream is live
        wait_for(lambda: server.watch_count() == 2, what="two watches")
        assert server.drop_watches("erpsync.io/v1alpha1/erpsyncschedules") == 1
        assert clean.next() is None
        clean.conn.request("GET", "/version")  # ended cleanly: the keep-alive connection still works
        assert clean.conn.getresponse().status == 200

        assert server.drop_watches(abrupt=True) == 1
        assert cut.next() is None
        cut.conn.request("GET", "/version")
        with pytest.raises(RemoteDisconnected):  # cut: the server closed the connection
            cut.conn.getresponse()
    wait_for(lambda: server.watch_count() == 0, what="watches gone")


# CLI and kopf --------------------------------------------------------------------------------------------


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "erpsync_emulators.kube",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            "--crd",
            "crds",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        kubectl = Kubectl(kubeconfig, tmp_path / "cache")
        assert "erpsyncschedules" in kubectl("api-resources").stdout
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


SMOKE_OPERATOR = Path(__file__).with_name("kopf_smoke_operator.py")


def test_kopf_operator_sees_a_schedule_and_patches_its_status(
    server: EmulatorServer, kubectl: Kubectl, http: Http
) -> None:
    env = {**kubectl.env(), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    operator = subprocess.Popen(
        [sys.executable, "-m", "kopf", "run", "--standalone", "-n", "erp", "--verbose", str(SMOKE_OPERATOR)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        kubectl("apply", "--validate=false", "-f", "-", stdin=yaml.safe_dump(schedule("smoke", erp="Xero")))

        def handled() -> dict[str, Any] | None:
            status = http.get(f"{ESS}/smoke").data.get("status") or {}
            return status.get("smoke") if isinstance(status.get("smoke"), dict) else None

        assert wait_for(handled, timeout=30, what="kopf to patch the status") == {"seenErp": "Xero"}
        fetched = http.get(f"{ESS}/smoke").data
        assert fetched["metadata"]["generation"] == 1  # kopf's writes are metadata and status only
    finally:
        operator.send_signal(signal.SIGINT)
        try:
            output, _ = operator.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            operator.kill()
            output, _ = operator.communicate()
    assert "Traceback" not in output, output


def test_unexpected_errors_stay_empty_for_odd_requests(server: EmulatorServer, http: Http) -> None:
    assert http.get("/apis/nothing.io/v1/things").status == 404
    assert http.get("/api/v1/namespaces/erp/nothings").status == 404
    assert http.request("POST", CM, raw_body=b"{not json").status == 400
    assert http.request("PUT", CM).status == 405
    assert http.get("/openapi/v2").status == 404
    assert http.request("POST", "/_emulator/faults", raw_body=b"{").status == 400
    assert http.post("/_emulator/faults", {"verb": "get"}).status == 400
    assert server.unexpected_errors() == []
