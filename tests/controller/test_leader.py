"""Leader election (controller/leader.py): the decisions on an injected clock, the loop on an in-memory Lease.

The in-memory Lease behaves as the API server's on the points that matter: a resourceVersion that every
write bumps, a 409 for an update that carries an old one, a 409 for a second create. The end-to-end
takeover on a real control plane is tests/operator/test_leader_election.py.
"""

import asyncio
import copy
import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from erpsync import cli
from erpsync.controller.kubeapi import ApiError
from erpsync.controller.leader import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    JITTER,
    LeaderElection,
    LeaderElector,
    LeaseRecord,
    Observed,
    claim,
    new_identity,
    observe,
)

WALL = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-01T00:00:09.000000Z"
# The worst case of a takeover after the leader dies: its last renewal seen up to one jittered retry
# period late, the lease counted from then, the first try after it ran out up to one period later.
WORST_TAKEOVER = DEFAULT_RETRY_PERIOD * (1 + JITTER) * 2 + DEFAULT_LEASE_DURATION


# The decisions ---------------------------------------------------------------------------------------------


HELD = Observed(LeaseRecord("b", 8, WALL, WALL, 4), since=100.0)
# A renewTime hours old (the holder's clock is behind) does not make a lease just seen expired.
STALE = observe(None, LeaseRecord("b", 8, "2020-01-01T00:00:00.000000Z", "2020-01-01T00:00:00.000000Z"), 5.0)


@pytest.mark.parametrize(
    ("seen", "now", "duration", "expected"),
    [
        (None, 0.0, 8, LeaseRecord("a", 8, WALL, WALL, 0)),
        (HELD, 107.9, 8, None),
        (HELD, 108.0, 8, LeaseRecord("a", 8, LATER, LATER, 5)),  # a new term: acquired now, one more transition
        # Its own lease however long since (the renew deadline, not this, decides when it stops).
        (Observed(LeaseRecord("a", 8, WALL, WALL, 2), since=0.0), 1000.0, 10, LeaseRecord("a", 10, WALL, LATER, 2)),
        (Observed(LeaseRecord("", 1, WALL, WALL, 3), since=50.0), 50.0, 8, LeaseRecord("a", 8, LATER, LATER, 4)),
        (STALE, 5.0, 8, None),
    ],
    ids=[
        "no-lease-created-with-this-holder",
        "held-by-another-not-yet-expired-by-this-process-count",
        "held-by-another-expired-taken",
        "own-lease-renewed-keeping-its-acquire-time",
        "released-taken-at-once",
        "the-other-holder-clock-never-trusted",
    ],
)
def test_claim(seen: Observed | None, now: float, duration: int, expected: LeaseRecord | None) -> None:
    wall_time = WALL if seen is None else LATER
    assert claim(seen, identity="a", now=now, wall_time=wall_time, duration_seconds=duration) == expected


def test_the_count_restarts_when_the_holder_renews_and_not_otherwise() -> None:
    first = observe(None, LeaseRecord("b", 8, WALL, WALL, 0), now=10.0)
    assert observe(first, LeaseRecord("b", 8, WALL, WALL, 0), now=17.0) is first  # unchanged: still from 10
    renewed = observe(first, LeaseRecord("b", 8, WALL, LATER, 0), now=17.0)
    assert renewed.since == 17.0
    assert claim(renewed, identity="a", now=24.0, wall_time=LATER, duration_seconds=8) is None


def test_a_lease_spec_reads_back_as_written() -> None:
    record = LeaseRecord("a_1", 8, WALL, LATER, 7)
    assert LeaseRecord.from_lease({"spec": record.as_spec()}) == record
    assert LeaseRecord.from_lease({"spec": {"leaseTransitions": True}}) == LeaseRecord("", 0, None, None, 0)
    assert LeaseRecord("", 1).as_spec()["holderIdentity"] is None


def test_a_candidate_without_an_identity_is_refused() -> None:
    with pytest.raises(ValueError, match="needs an identity"):
        LeaderElector(MemoryLease(), LeaderElection("ns"))


def test_identity_is_the_pod_name_and_a_random_suffix() -> None:
    first, second = new_identity({"POD_NAME": "operator-7d9f-abcde"}), new_identity({"POD_NAME": "operator-7d9f-abcde"})
    assert first.startswith("operator-7d9f-abcde_") and second.startswith("operator-7d9f-abcde_")
    assert first != second  # a restarted container is a new candidate


@pytest.mark.parametrize(
    ("lease", "renew", "retry", "problem"),
    [
        (8, 8, 2, "--leader-election-renew-deadline: 8 must be less than --leader-election-lease-duration (8)"),
        (8, 2.1, 2, "--leader-election-renew-deadline: 2.1 must be more than --leader-election-retry-period"),
        (8, 5, 0, "--leader-election-retry-period: 0 must be more than 0 seconds"),
        (0.5, 0.3, 0.1, "--leader-election-lease-duration: 0.5 must be at least 1 second"),
    ],
)
def test_timing_that_cannot_keep_two_leaders_apart_is_refused(
    lease: float, renew: float, retry: float, problem: str
) -> None:
    assert LeaderElection(None).timing_problem() is None
    found = LeaderElection(None, lease_duration=lease, renew_deadline=renew, retry_period=retry).timing_problem()
    assert found is not None and found.startswith(problem)


def test_the_cli_refuses_bad_timing_in_one_line_and_its_defaults_are_the_modules() -> None:
    result = CliRunner().invoke(
        cli.main, ["operator", "-A", "--leader-elect", "--leader-election-renew-deadline", "9"], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "--leader-election-renew-deadline: 9 must be less than --leader-election-lease-duration (8)" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli.main, ["operator", "-A", "--leader-elect", "--peering", "p"])
    assert result.exit_code == 2 and "--leader-elect and --peering exclude each other" in result.output
    params = {param.name: param.default for param in cli.operator.params}
    assert (
        params["leader_election_lease_duration"],
        params["leader_election_renew_deadline"],
        params["leader_election_retry_period"],
    ) == (DEFAULT_LEASE_DURATION, DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD)


# The loop, on an in-memory Lease and a fake clock ---------------------------------------------------------


class Clock:
    """Virtual time: `sleep` waits until `run_until` moves the clock past its wake-up time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    async def run_until(self, done: Callable[[], bool], limit: float = 3600.0) -> None:
        """Wake the sleepers in time order until `done()` (every runnable task runs in between)."""
        while True:
            for _ in range(50):  # let what was woken run until it sleeps again
                await asyncio.sleep(0)
            if done():
                return
            assert self._sleepers and self._sleepers[0][0] <= 1000.0 + limit, "nothing left to wake"
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():  # a cancelled sleeper (a killed task) is only dropped
                future.set_result(None)


class MemoryLease:
    """One Lease, as the API server keeps it; `fail` makes every call raise what it returns."""

    namespace = "erp-sync-system"
    name = "erp-sync-operator"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock
        self.written_at = 0.0  # the clock's time of the last write
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.fail: Callable[[], Exception] | None = None
        self.writes = 0

    async def _call(self) -> None:
        await asyncio.sleep(0)  # as a request would: others may run in between
        if self.fail is not None:
            raise self.fail()

    async def get(self) -> dict[str, Any] | None:
        await self._call()
        return copy.deepcopy(self.lease)

    async def create(self, spec: dict[str, Any]) -> dict[str, Any]:
        await self._call()
        if self.lease is not None:
            raise ApiError(409, "AlreadyExists", "leases.coordination.k8s.io already exists")
        return self._store({"metadata": {"name": self.name}, "spec": spec})

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]:
        await self._call()
        assert self.lease is not None
        if lease["metadata"]["resourceVersion"] != self.lease["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        return self._store(lease)

    def _store(self, lease: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        self.writes += 1
        self.written_at = self.clock.now if self.clock is not None else 0.0
        self.lease = copy.deepcopy(lease)
        self.lease["metadata"]["resourceVersion"] = str(self.version)
        return copy.deepcopy(self.lease)

    def holder(self) -> str:
        return LeaseRecord.from_lease(self.lease or {}).holder


def elector(store: MemoryLease, clock: Clock, identity: str, jitter: float = 1.0) -> LeaderElector:
    return LeaderElector(
        store,
        LeaderElection(store.namespace, store.name, identity),
        wall_clock=lambda: datetime.fromtimestamp(clock.now, UTC),
        monotonic=clock.monotonic,
        sleep=clock.sleep,
        jitter=lambda: jitter,  # the longest waits: the worst case
    )


def test_the_standby_takes_over_a_dead_leader_within_the_worst_case_and_not_before_the_lease_ran_out() -> None:
    store, clock = MemoryLease(), Clock()
    leader, standby = elector(store, clock, "a"), elector(store, clock, "b")

    async def scenario() -> float:
        await leader.acquire()
        assert store.holder() == "a"
        # The leader renews for a minute, the standby trying all along; both on the same clock.
        watching = asyncio.create_task(standby.acquire())
        renewing = asyncio.create_task(leader.hold())
        await clock.run_until(lambda: clock.now >= 1060)
        assert store.holder() == "a" and not watching.done()  # a renewed lease is never taken
        assert (
            LeaseRecord.from_lease(store.lease or {}).renew_time
            != LeaseRecord.from_lease(store.lease or {}).acquire_time
        )
        renewing.cancel()  # the leader is killed: no more renewals, no release
        killed_at = clock.now
        await clock.run_until(watching.done)
        return clock.now - killed_at

    took = asyncio.run(scenario())
    assert store.holder() == "b"
    assert DEFAULT_LEASE_DURATION <= took <= WORST_TAKEOVER, took
    assert LeaseRecord.from_lease(store.lease or {}).transitions == 1


def test_of_two_candidates_that_read_the_same_record_exactly_one_wins() -> None:
    for existing in (False, True):  # racing to create the Lease, or to update a released one
        store, clock = MemoryLease(), Clock()
        if existing:
            store._store({"metadata": {"name": store.name}, "spec": LeaseRecord("", 1).as_spec()})
        first, second = elector(store, clock, "a"), elector(store, clock, "b")

        async def race(a: LeaderElector = first, b: LeaderElector = second) -> list[bool]:
            return list(await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew()))

        assert sorted(asyncio.run(race())) == [False, True]
        assert store.holder() in ("a", "b")


@pytest.mark.parametrize(
    "failure",
    [lambda: TimeoutError(), lambda: ApiError(500, "InternalError", "etcd leader changed")],
    ids=["timeouts", "server-errors"],
)
def test_a_leader_that_cannot_renew_stops_after_the_renew_deadline(failure: Callable[[], Exception]) -> None:
    clock = Clock()
    store = MemoryLease(clock)
    leader = elector(store, clock, "a")

    async def scenario() -> tuple[float, float]:
        await leader.acquire()
        holding = asyncio.create_task(leader.hold())
        await clock.run_until(lambda: clock.now >= 1010)  # good renewals first
        assert store.writes > 3
        renewed_at = store.written_at
        store.fail = failure
        await clock.run_until(holding.done)  # returns: lost
        return renewed_at, clock.now

    renewed_at, stopped_at = asyncio.run(scenario())
    # Stopped by the renew deadline after its last renewal: before a standby may count the lease expired.
    assert stopped_at - renewed_at <= DEFAULT_RENEW_DEADLINE < DEFAULT_LEASE_DURATION


def test_a_leader_whose_lease_was_taken_stops_after_the_renew_deadline() -> None:
    store, clock = MemoryLease(), Clock()
    leader = elector(store, clock, "a")

    async def scenario() -> float:
        await leader.acquire()
        lease = copy.deepcopy(store.lease or {})
        lease["spec"] |= {"holderIdentity": "intruder", "leaseDurationSeconds": 3600}
        await store.replace(lease)
        taken_at = clock.now
        holding = asyncio.create_task(leader.hold())
        await clock.run_until(holding.done)
        return clock.now - taken_at

    assert asyncio.run(scenario()) <= DEFAULT_RENEW_DEADLINE
    assert store.holder() == "intruder"  # the leader never wrote over it


def test_a_hung_request_cannot_keep_a_leader_past_its_renew_deadline() -> None:
    """Real time, short timing: a request that never answers is abandoned at the deadline."""
    store = MemoryLease()
    leader = LeaderElector(store, LeaderElection(store.namespace, store.name, "a", 1, 0.3, 0.05))

    async def scenario() -> float:
        await leader.acquire()
        started = asyncio.get_running_loop().time()

        async def never(*_: Any) -> dict[str, Any]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        store.get = never  # type: ignore[method-assign]
        await asyncio.wait_for(leader.hold(), timeout=5)
        return asyncio.get_running_loop().time() - started

    assert asyncio.run(scenario()) < 0.3 + 0.05 + 0.2


def test_a_released_lease_goes_to_the_standby_at_its_next_try() -> None:
    store, clock = MemoryLease(), Clock()
    leader, standby = elector(store, clock, "a"), elector(store, clock, "b")

    async def scenario() -> None:
        await leader.acquire()
        assert not await standby.try_acquire_or_renew()
        await leader.release()
        released = LeaseRecord.from_lease(store.lease or {})
        assert (released.holder, released.duration_seconds, released.transitions) == ("", 1, 0)
        assert await standby.try_acquire_or_renew()  # no lease duration to wait
        writes = store.writes
        await leader.release()  # no longer its lease: nothing written
        assert store.writes == writes

    asyncio.run(scenario())
    assert store.holder() == "b"
