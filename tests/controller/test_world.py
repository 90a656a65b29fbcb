"""The World's index of children by schedule follows their labels from event to event."""

from typing import Any

from erpsync.controller.world import World

NAMESPACE = "erp"
SCHEDULE_UID = "uid-acme"


def _schedule(name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": name, "namespace": NAMESPACE, "uid": uid, "resourceVersion": "1"},
    }


def _cron_job(version: int, schedule: str | None = "acme", owner_uid: str = SCHEDULE_UID) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "erp-sync-operator"}
    if schedule is not None:
        labels["erpsync.io/schedule"] = schedule
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": "acme-jobs",
            "namespace": NAMESPACE,
            "resourceVersion": str(version),
            "labels": labels,
            "ownerReferences": [{"kind": "ErpSyncSchedule", "name": "acme", "uid": owner_uid, "controller": True}],
        },
        "spec": {"schedule": "0 1 * * *"},
    }


def _world() -> World:
    world = World()
    world.apply("schedules", "ADDED", _schedule("acme", SCHEDULE_UID))
    world.apply("schedules", "ADDED", _schedule("beta", "uid-beta"))
    return world


def _observed_names(world: World, name: str, uid: str) -> set[str]:
    observed, _ = world.observe(_schedule(name, uid))
    return set(observed.cron_jobs) | set(observed.unmanaged_cron_jobs)


def test_a_child_whose_schedule_label_is_removed_is_no_longer_grouped_under_it() -> None:
    world = _world()
    world.apply("cronjobs", "ADDED", _cron_job(10))
    assert _observed_names(world, "acme", SCHEDULE_UID) == {"acme-jobs"}
    world.apply("cronjobs", "MODIFIED", _cron_job(11, schedule=None))  # managed-by kept: still in the watch
    assert _observed_names(world, "acme", SCHEDULE_UID) == set()
    assert world.children == {}  # no stale entry left behind


def test_a_child_moved_to_another_schedule_label_is_relinked() -> None:
    world = _world()
    world.apply("cronjobs", "ADDED", _cron_job(10))
    world.apply("cronjobs", "MODIFIED", _cron_job(11, schedule="beta"))
    assert _observed_names(world, "acme", SCHEDULE_UID) == set()
    assert _observed_names(world, "beta", "uid-beta") == {"acme-jobs"}  # acme's controller: unmanaged for beta
    world.apply("cronjobs", "MODIFIED", _cron_job(12))
    assert _observed_names(world, "acme", SCHEDULE_UID) == {"acme-jobs"}
    assert _observed_names(world, "beta", "uid-beta") == set()


def test_a_deleted_event_unlinks_where_the_child_was_linked_whatever_labels_it_carries() -> None:
    # Leaving a label selector arrives as DELETED; its body may lack the labels the child was grouped by.
    world = _world()
    world.apply("cronjobs", "ADDED", _cron_job(10))
    assert world.apply("cronjobs", "DELETED", _cron_job(11, schedule=None)) is True
    assert world.get("cronjobs", (NAMESPACE, "acme-jobs")) is None
    assert world.children == {}


def test_a_relabel_concerns_the_schedule_left_and_the_schedule_joined() -> None:
    world = _world()
    assert world.apply_child("cronjobs", "ADDED", _cron_job(10)) == [(NAMESPACE, "acme")]
    assert world.apply_child("cronjobs", "MODIFIED", _cron_job(11, schedule="beta")) == [
        (NAMESPACE, "acme"),
        (NAMESPACE, "beta"),
    ]
    assert world.apply_child("cronjobs", "MODIFIED", _cron_job(12, schedule=None)) == [(NAMESPACE, "beta")]
    world.apply_child("cronjobs", "MODIFIED", _cron_job(13))
    assert world.apply_child("cronjobs", "DELETED", _cron_job(14, schedule=None)) == [(NAMESPACE, "acme")]
    assert world.apply_child("cronjobs", "MODIFIED", _cron_job(13)) == [(NAMESPACE, "acme")]  # back: a new object
    assert world.apply_child("cronjobs", "MODIFIED", _cron_job(13)) == []  # a replay tells nothing new


def test_a_deleted_event_older_than_what_is_known_is_dropped() -> None:
    # "Left the selector" (version 11) arriving after the write-through of the repair (version 12).
    world = _world()
    world.apply("cronjobs", "ADDED", _cron_job(10))
    world.apply("cronjobs", "MODIFIED", _cron_job(12))
    assert world.apply("cronjobs", "DELETED", _cron_job(11, schedule=None)) is False
    assert _observed_names(world, "acme", SCHEDULE_UID) == {"acme-jobs"}
    assert world.apply("cronjobs", "DELETED", _cron_job(13)) is True  # a real deletion comes after


def test_a_cronjob_seen_in_the_watch_is_no_longer_remembered_as_foreign() -> None:
    world = _world()
    world.foreign_cron_jobs.add((NAMESPACE, "acme-jobs"))
    world.apply("cronjobs", "ADDED", _cron_job(10, owner_uid="someone-else"))
    assert world.foreign_cron_jobs == set()
    observed, _ = world.observe(_schedule("acme", SCHEDULE_UID))
    assert observed.unmanaged_cron_jobs == ["acme-jobs"]


def test_creating_and_deleting_schedules_leaves_nothing_behind_in_the_index() -> None:
    # A deleted schedule's group must go with its last child, or memory grows with every create and delete.
    world = World()
    for round_ in range(50):
        schedule = _schedule("acme", f"uid-{round_}")
        schedule["metadata"]["resourceVersion"] = str(10 * round_ + 1)
        world.apply("schedules", "ADDED", schedule)
        child = _cron_job(10 * round_ + 2, owner_uid=f"uid-{round_}")
        world.apply_child("cronjobs", "ADDED", child)
        world.apply("schedules", "DELETED", schedule)
        world.apply_child(
            "cronjobs", "DELETED", {**child, "metadata": {**child["metadata"], "resourceVersion": str(10 * round_ + 3)}}
        )
    assert dict(world.children) == {}
    assert world.schedule_keys() == []
    assert not any(world.objects[kind] for kind in ("schedules", "cronjobs", "jobs", "pods"))
