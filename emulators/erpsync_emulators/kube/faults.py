"""Fault injection: make the next N matching requests fail the way a busy or unhappy API server does.

409 (a lost optimistic-concurrency race), 500, 429 with Retry-After; a faulted request is answered
before it reaches the store, so it changes nothing. Dropping watch streams is `KubeEmulator.drop_watches`.
"""

from __future__ import annotations

import attrs


@attrs.define
class Fault:
    """The next `count` requests matching verb and resource answer `status` instead of being served."""

    verb: str  # a k8s verb, or "*"
    resource: str  # "cronjobs", "cronjobs.batch", "erpsyncschedules/status", or "*"
    status: int
    count: int = 1
    namespace: str | None = None
    name: str | None = None
    retry_after: int | None = None  # for 429: sent as Retry-After and details.retryAfterSeconds
    message: str = ""
    hits: int = 0

    def matches(self, verb: str, resources: tuple[str, ...], namespace: str | None, name: str | None) -> bool:
        return (
            self.count > 0
            and self.verb in ("*", verb)
            and (self.resource == "*" or self.resource in resources)
            and self.namespace in (None, namespace)
            and self.name in (None, name)
        )


@attrs.define
class Faults:
    rules: list[Fault] = attrs.field(factory=list)

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def take(self, verb: str, resources: tuple[str, ...], namespace: str | None, name: str | None) -> Fault | None:
        for fault in self.rules:
            if fault.matches(verb, resources, namespace, name):
                fault.count -= 1
                fault.hits += 1
                if fault.count <= 0:
                    self.rules.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()
