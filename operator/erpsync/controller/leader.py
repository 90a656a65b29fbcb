"""Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics (a hot standby).

Two replicas of the operator may run; the one holding the Lease reconciles, the other watches (its
watch cache stays warm) but has no queue: it makes no pass, no write and posts no Event. The rules are
client-go's `leaderelection` package, so `kubectl get lease` reads as it does for kube-controller-manager:

- the Lease's spec is the record: `holderIdentity`, `leaseDurationSeconds`, `acquireTime`, `renewTime`,
  `leaseTransitions` (counted each time the holder changes);
- a candidate never trusts another's clock: a lease is valid until `leaseDurationSeconds` after the
  moment *this* process first saw the record in its current form (`renewTime` is for people);
- writes are optimistic: an update carries the `resourceVersion` read, so of two candidates that
  read the same record, one update wins and the other gets a 409;
- the leader renews every retry period and stops (the process exits non-zero, `OnStoppedLeading` in
  client-go) once it has not renewed for the renew deadline, which is shorter than the lease: it has
  stopped before any candidate can count the lease as expired;
- a leader that stops on purpose (SIGTERM) releases the lease: no holder, a one-second duration, so a
  rolling update hands over at the standby's next try instead of a lease duration later.

`claim` and `observe` are the decisions (pure, on an injected clock); `LeaderElector` is the loop.
"""

import asyncio
import logging
import math
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import aiohttp

from erpsync.controller.kubeapi import ApiError, KubeApi, Resource

LEASES: Final = Resource("coordination.k8s.io", "v1", "leases")
DEFAULT_LEASE_NAME: Final = "erp-sync-operator"
# The timing (seconds), chosen so that a standby takes over within 15 s of the leader's SIGKILL:
# it first sees the leader's last renewal at most one retry period (with jitter) after it was written,
# counts the lease from then, and tries again at most one retry period after the lease ran out:
# 2.2 + 8 + 2.2 = 12.4 s at worst, about 10 s typically. The leader renews every 2 s and gives up
# 5 s after its last renewal was sent: 3 s before the earliest moment a standby may take the lease.
DEFAULT_LEASE_DURATION: Final = 8.0
DEFAULT_RENEW_DEADLINE: Final = 5.0
DEFAULT_RETRY_PERIOD: Final = 2.0
# Tries are spread over [retry, retry * (1 + JITTER)] so that candidates do not try in lockstep.
JITTER: Final = 0.1
# What a released lease says (client-go's `release`): nobody holds it, and it would expire at once.
RELEASED_DURATION_SECONDS: Final = 1
MICRO_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"  # metav1.MicroTime, as the API server writes it
logger = logging.getLogger("erpsync.leader")


@dataclass(frozen=True)
class LeaderElection:
    """What `erp-sync operator --leader-elect` was given: where the Lease is, who this process is, timing."""

    namespace: str | None  # None: the namespace the operator logged in with (its Pod's, its kubeconfig's)
    name: str = DEFAULT_LEASE_NAME
    identity: str = ""
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD

    def timing_problem(self) -> str | None:
        """Why the timing cannot keep two leaders apart (client-go's checks), or None."""
        if self.retry_period <= 0:
            return f"--leader-election-retry-period: {self.retry_period:g} must be more than 0 seconds"
        if self.lease_duration < 1:
            return f"--leader-election-lease-duration: {self.lease_duration:g} must be at least 1 second"
        if self.renew_deadline >= self.lease_duration:
            return (
                f"--leader-election-renew-deadline: {self.renew_deadline:g} must be less than "
                f"--leader-election-lease-duration ({self.lease_duration:g}): a leader must stop before "
                "a standby may take its lease"
            )
        if self.renew_deadline <= self.retry_period * (1 + JITTER):
            return (
                f"--leader-election-renew-deadline: {self.renew_deadline:g} must be more than "
                f"--leader-election-retry-period times {1 + JITTER:g} ({self.retry_period * (1 + JITTER):g}): "
                "the leader must get at least one more try"
            )
        return None


def new_identity(env: Mapping[str, str] = os.environ) -> str:
    """The Pod's name (POD_NAME from the downward API, else the host name, which in a Pod is the Pod's
    name) and a random suffix: a restarted container is a new candidate, never the old holder."""
    pod = env.get("POD_NAME", "").strip() or socket.gethostname()
    return f"{pod}_{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class LeaseRecord:
    """A Lease's spec, as client-go's LeaderElectionRecord. An empty holder: nobody leads."""

    holder: str
    duration_seconds: int
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any]) -> "LeaseRecord":
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_seconds=_int(spec.get("leaseDurationSeconds")),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=_int(spec.get("leaseTransitions")),
        )

    def as_spec(self) -> dict[str, Any]:
        return {
            "holderIdentity": self.holder or None,
            "leaseDurationSeconds": self.duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class Observed:
    """A record and when (this process's monotonic clock) it was first seen in that form."""

    record: LeaseRecord
    since: float


def observe(previous: Observed | None, record: LeaseRecord, now: float) -> Observed:
    """The observation after reading `record` at `now`: its clock restarts only when the record changed."""
    if previous is not None and previous.record == record:
        return previous
    return Observed(record, now)


def claim(
    observed: Observed | None, *, identity: str, now: float, wall_time: str, duration_seconds: int
) -> LeaseRecord | None:
    """May `identity` take or renew the lease now? The record to write, or None: another holds it.

    `observed` is None when no Lease exists (the record is created). `now` is the monotonic clock of
    `observed.since`; `wall_time` is what goes in acquireTime and renewTime.
    """
    if observed is None:
        return LeaseRecord(identity, duration_seconds, wall_time, wall_time, 0)
    current = observed.record
    if current.holder == identity:  # renewing: the same term
        return replace(current, duration_seconds=duration_seconds, renew_time=wall_time)
    if current.holder and now < observed.since + current.duration_seconds:
        return None  # held, and not yet expired by this process's own count
    return LeaseRecord(identity, duration_seconds, wall_time, wall_time, current.transitions + 1)


class LeaseClient(Protocol):
    """Where the Lease is read and written (the API server; an in-memory fake in the unit tests)."""

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...

    async def get(self) -> dict[str, Any] | None: ...  # None: no Lease

    async def create(self, spec: dict[str, Any]) -> dict[str, Any]: ...

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]: ...  # 409 when resourceVersion is old


@dataclass(frozen=True)
class ApiLeaseClient:
    """The Lease `namespace/name` through the operator's client."""

    api: KubeApi
    namespace: str
    name: str

    async def get(self) -> dict[str, Any] | None:
        try:
            return await self.api.get(LEASES, self.namespace, self.name)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def create(self, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": spec,
        }
        return await self.api.create(LEASES, self.namespace, body)

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]:
        return await self.api.request("PUT", LEASES.path(self.namespace, self.name), body=lease)


def micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(MICRO_TIME_FORMAT)


class LeaderElector:
    """One candidate for the lease: `acquire`, then `hold` until lost; `release` when stopping."""

    def __init__(
        self,
        client: LeaseClient,
        election: LeaderElection,
        *,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,  # spreads tries; not security
    ) -> None:
        if not election.identity:  # an empty identity would read a released lease (no holder) as its own
            raise ValueError("a leader-election candidate needs an identity")
        self._client = client
        self.election = election
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._jitter = jitter
        self._observed: Observed | None = None
        self._renewed_at: float | None = None  # when the last successful write was sent
        self._last_problem = ""
        self._last_holder: str | None = None

    @property
    def where(self) -> str:
        return f"{self._client.namespace}/{self._client.name}"

    async def try_acquire_or_renew(self) -> bool:
        """One try (client-go's tryAcquireOrRenew): True when this process holds the lease now."""
        try:
            lease = await self._client.get()
            # Seen now, after the answer: a candidate counts another's lease from as late as it can.
            seen_at = sent_at = self._monotonic()
            duration = math.ceil(self.election.lease_duration)  # whole seconds, never shorter than asked
            wall_time = micro_time(self._wall_clock())
            if lease is None:
                record = claim(
                    None, identity=self.election.identity, now=seen_at, wall_time=wall_time, duration_seconds=duration
                )
                assert record is not None
                await self._client.create(record.as_spec())
            else:
                self._observed = observe(self._observed, LeaseRecord.from_lease(lease), seen_at)
                record = claim(
                    self._observed,
                    identity=self.election.identity,
                    now=seen_at,
                    wall_time=wall_time,
                    duration_seconds=duration,
                )
                if record is None:
                    self._note_holder(self._observed.record.holder)
                    return False
                sent_at = self._monotonic()  # the leader counts its term from before its write, as early as it can
                await self._client.replace({**lease, "spec": {**(lease.get("spec") or {}), **record.as_spec()}})
        except ApiError as error:
            # 409: another candidate wrote first (or created the Lease first): it won this round.
            if error.status != 409:
                self._note_problem(f"{error}")
            return False
        except (aiohttp.ClientError, TimeoutError) as error:
            self._note_problem(f"{type(error).__name__}: {error}")
            return False
        self._observed = Observed(record, sent_at)
        self._renewed_at = sent_at
        self._last_problem = ""
        return True

    async def acquire(self) -> None:
        """Return once this process holds the lease: try every retry period (with jitter)."""
        logger.info("leader election: candidate %s for the lease %s", self.election.identity, self.where)
        while not await self.try_acquire_or_renew():
            await self._sleep(self.election.retry_period * (1 + JITTER * self._jitter()))
        logger.info("leader election: %s holds the lease %s; reconciling", self.election.identity, self.where)

    async def hold(self) -> None:
        """Renew every retry period; return when no renewal succeeded for the renew deadline (lost)."""
        while True:
            await self._sleep(self.election.retry_period)
            if not await self._renew_before_the_deadline():
                return

    async def _renew_before_the_deadline(self) -> bool:
        assert self._renewed_at is not None, "hold() before acquire()"
        deadline = self._renewed_at + self.election.renew_deadline
        while (remaining := deadline - self._monotonic()) > 0:
            try:
                async with asyncio.timeout(remaining):  # a hung request must not outlive the deadline
                    if await self.try_acquire_or_renew():
                        return True
            except TimeoutError:
                return False
            await self._sleep(min(self.election.retry_period, max(0.0, deadline - self._monotonic())))
        return False

    async def release(self) -> None:
        """Give the lease up if this process holds it (read again: a try cancelled mid-way may have won)."""
        try:
            lease = await self._client.get()
            if lease is None or LeaseRecord.from_lease(lease).holder != self.election.identity:
                return
            now = micro_time(self._wall_clock())
            spec = {
                **(lease.get("spec") or {}),
                "holderIdentity": None,
                "leaseDurationSeconds": RELEASED_DURATION_SECONDS,
                "acquireTime": now,
                "renewTime": now,
            }
            await self._client.replace({**lease, "spec": spec})
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            logger.warning("leader election: releasing the lease %s: %s; it expires by itself", self.where, error)
            return
        self._observed = None
        logger.info("leader election: %s released the lease %s", self.election.identity, self.where)

    def _note_holder(self, holder: str) -> None:
        if holder != self._last_holder:
            self._last_holder = holder
            logger.info("leader election: the lease %s is held by %s; standing by", self.where, holder)

    def _note_problem(self, problem: str) -> None:
        if problem != self._last_problem:  # once per distinct problem: a standby tries every 2 s
            self._last_problem = problem
            logger.warning("leader election: the lease %s: %s", self.where, problem)
