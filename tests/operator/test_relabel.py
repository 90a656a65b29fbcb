"""A managed CronJob whose labels are changed by hand is found and put back, even outside the watch.

The operator lists and watches its children with a server-side label selector (managed-by), so a
CronJob whose managed-by label is removed or changed leaves its watch. It must still be repaired, and
recreated if then deleted, with or without a restart in between; and the schedule must come back to
Ready=True rather than wait forever for the CronJob to reappear in the watch.
"""

import urllib.parse
from typing import Any, Final

import pytest

from erpsync_testbed.client import ApiError
from tests.operator.conftest import Cluster, wait_for

SCHEDULE: Final = "acme-generic"
VICTIM: Final = "acme-generic-jobs"
MANAGED_BY: Final = "app.kubernetes.io/managed-by"
SELECTOR: Final = "app.kubernetes.io/managed-by=erp-sync-operator"
CHILD_RESOURCES: Final = ("cronjobs", "jobs", "pods")

# The hand edits, as merge patches of the labels.
RELABELS: Final = {
    "managed-by removed": {MANAGED_BY: None},
    "managed-by changed": {MANAGED_BY: "someone-else"},
    "schedule label removed": {"erpsync.io/schedule": None},  # still in the watch, no longer grouped
}


def _cron_job(cluster: Cluster, name: str = VICTIM) -> dict[str, Any] | None:
    try:
        return cluster.call("GET", cluster.path("cronjobs", name))
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def _relabel(cluster: Cluster, labels: dict[str, str | None]) -> None:
    cluster.call("PATCH", cluster.path("cronjobs", VICTIM), {"metadata": {"labels": labels}})


def _ready_victim(cluster: Cluster) -> dict[str, Any]:
    """The victim CronJob, once the schedule is Ready."""
    cluster.apply_ready("generic")
    victim = _cron_job(cluster)
    assert victim is not None
    return victim


def _restored(cluster: Cluster, labels: dict[str, str]) -> dict[str, Any] | None:
    """The victim, once it has its planned labels again."""
    cron_job = _cron_job(cluster)
    return cron_job if cron_job is not None and cron_job["metadata"].get("labels") == labels else None


def _assert_ready_again(cluster: Cluster) -> None:
    wait_for("Ready=True", lambda: cluster.ready(SCHEDULE))
    assert cluster.condition(SCHEDULE, "Reconciling") is None  # not retrying, not waiting for anything


@pytest.mark.parametrize("restart", [False, True], ids=["operator-running", "changed-while-the-operator-is-down"])
@pytest.mark.parametrize("labels", RELABELS.values(), ids=RELABELS.keys())
def test_a_label_changed_by_hand_is_put_back(cluster: Cluster, labels: dict[str, str | None], restart: bool) -> None:
    before = _ready_victim(cluster)
    if restart:
        cluster.operator.kill()
    _relabel(cluster, labels)  # a restarted operator's list never shows it (or not under its schedule)
    if restart:
        cluster.operator.start()
    after = wait_for("labels restored", lambda: _restored(cluster, before["metadata"]["labels"]))
    assert after["metadata"]["uid"] == before["metadata"]["uid"]  # repaired in place, not recreated
    _assert_ready_again(cluster)


def test_a_cronjob_unlabelled_and_then_deleted_is_recreated(cluster: Cluster) -> None:
    before = _ready_victim(cluster)
    _relabel(cluster, {MANAGED_BY: None})
    cluster.call("DELETE", cluster.path("cronjobs", VICTIM))
    after = wait_for("recreated", lambda: _restored(cluster, before["metadata"]["labels"]))
    assert after["metadata"]["uid"] != before["metadata"]["uid"]
    assert after["metadata"]["ownerReferences"] == before["metadata"]["ownerReferences"]
    _assert_ready_again(cluster)


def test_a_cronjob_unlabelled_while_the_operator_is_down_and_then_deleted_is_recreated(cluster: Cluster) -> None:
    before = _ready_victim(cluster)
    cluster.operator.kill()
    _relabel(cluster, {MANAGED_BY: None})
    cluster.operator.start()
    wait_for("labels restored", lambda: _restored(cluster, before["metadata"]["labels"]))
    cluster.call("DELETE", cluster.path("cronjobs", VICTIM))
    wait_for(
        "recreated",
        lambda: (
            (cj := _restored(cluster, before["metadata"]["labels"]))
            and cj["metadata"]["uid"] != before["metadata"]["uid"]
        ),
    )
    _assert_ready_again(cluster)


def _selectors_sent(cluster: Cluster) -> dict[tuple[str, str], list[str | None]]:
    """The labelSelector of each list and watch of the children by the operator, from the audit log."""
    sent: dict[tuple[str, str], list[str | None]] = {}
    for event in cluster.operator_calls():
        resource = event.get("objectRef", {}).get("resource")
        if event["verb"] in ("list", "watch") and resource in CHILD_RESOURCES:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(event["requestURI"]).query)
            sent.setdefault((event["verb"], resource), []).extend(query.get("labelSelector", [None]))
    return sent


def test_every_list_and_watch_of_the_children_carries_the_managed_by_selector(cluster: Cluster) -> None:
    cluster.apply_ready("generic")
    cluster.operator.stop()
    cluster.mark_calls()  # from here, the restarted operator's calls (the audit log tells its identity)
    cluster.operator.start()
    before = _cron_job(cluster)
    assert before is not None
    cluster.call("DELETE", cluster.path("cronjobs", VICTIM))  # proof that the restarted operator watches and acts
    wait_for("recreated", lambda: (cj := _cron_job(cluster)) and cj["metadata"]["uid"] != before["metadata"]["uid"])

    def every_watch_logged() -> dict[tuple[str, str], list[str | None]] | None:
        found = _selectors_sent(cluster)
        return found if all(("watch", resource) in found for resource in CHILD_RESOURCES) else None

    sent = wait_for("the operator's watches in the audit log", every_watch_logged)
    for (verb, resource), selectors in sent.items():
        assert selectors == [SELECTOR] * len(selectors), f"a {verb} of {resource} without the selector"
