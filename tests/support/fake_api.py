"""An API server stand-in for reconcile passes without a control plane: creates and merge patches answered
from memory as kube-apiserver answers them (a new resourceVersion each)."""

import copy
from collections.abc import Callable
from typing import Any, cast

from erpsync.controller.kubeapi import CRONJOBS, SCHEDULES, ApiError, KubeApi, Resource
from erpsync.controller.world import Kind
from tests.support.merge_patch import apply_merge_patch


def _no_problems(_: dict[str, Any]) -> list[str]:
    return []


class ApiServer(KubeApi):
    """CronJobs named in `failing` are refused with 500; a status patch whose result `status_problems` finds
    fault with is refused with 422, as kube-apiserver refuses a status that breaks the CRD's schema."""

    def __init__(
        self, schedule: dict[str, Any], status_problems: Callable[[dict[str, Any]], list[str]] = _no_problems
    ) -> None:
        super().__init__(self._no_login)
        self.schedule = schedule
        self.cron_jobs: dict[str, dict[str, Any]] = {}
        self.created: list[tuple[Kind, dict[str, Any]]] = []  # (plural, answer) of every create
        self.failing: set[str] = set()
        self.calls: list[str] = []  # "create cronjobs", "patch cronjobs", "patch status"
        self.status_patches: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self._status_problems = status_problems
        self._version = 100

    @staticmethod
    async def _no_login() -> None:
        return None

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    async def create(self, resource: Resource, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(f"create {resource.plural}")
        name = body["metadata"]["name"]
        if name in self.failing:
            raise ApiError(500, "InternalError", "etcdserver: request timed out")
        answer = copy.deepcopy(body)
        answer["metadata"].update(namespace=namespace, uid=f"uid-{name}", resourceVersion=self._next_version())
        if resource == CRONJOBS:
            self.cron_jobs[name] = answer
        self.created.append((cast(Kind, resource.plural), answer))
        return copy.deepcopy(answer)

    async def merge_patch(
        self, resource: Resource, namespace: str, name: str, patch: object, subresource: str | None = None
    ) -> dict[str, Any]:
        assert isinstance(patch, dict)
        if resource == CRONJOBS:
            self.calls.append("patch cronjobs")
            answer = apply_merge_patch(self.cron_jobs[name], patch)
            answer["metadata"]["resourceVersion"] = self._next_version()
            self.cron_jobs[name] = answer
            return copy.deepcopy(answer)
        assert (resource, subresource) == (SCHEDULES, "status")
        self.calls.append("patch status")
        self.status_patches.append(patch["status"])
        status = apply_merge_patch(self.schedule.get("status") or {}, patch["status"])
        problems = self._status_problems(status)
        if problems:
            self.refusals.append("; ".join(problems))
            raise ApiError(422, "Invalid", "; ".join(problems)[:1000])
        self.schedule = {**self.schedule, "status": status}
        self.schedule["metadata"] = {**self.schedule["metadata"], "resourceVersion": self._next_version()}
        return copy.deepcopy(self.schedule)
