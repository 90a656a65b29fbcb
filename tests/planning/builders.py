"""Schedules for the planner and CLI tests, built through the same validation path as `erp-sync validate`."""

import copy
from pathlib import Path
from typing import Any, Final

from erpsync.api.manifests import read_manifests
from erpsync.api.models import ErpSyncSchedule
from erpsync.api.validation import is_schedule, validate_object

REPOSITORY: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = REPOSITORY / "examples"
CRD_FILE: Final = REPOSITORY / "crds" / "erpsyncschedules.erpsync.io.yaml"
ERP_SYNC: Final = REPOSITORY / ".venv" / "bin" / "erp-sync"


def example_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert files, f"no examples in {EXAMPLES}"
    return files


def load_schedules(path: Path) -> list[ErpSyncSchedule]:
    """Every ErpSyncSchedule of a manifest file; fails the test when one is invalid."""
    schedules: list[ErpSyncSchedule] = []
    for document in read_manifests([path]):
        if not is_schedule(document.body):
            continue
        validated = validate_object(document.body)
        assert validated.schedule is not None, f"{path}: {[str(p) for p in validated.problems]}"
        schedules.append(validated.schedule)
    return schedules


def schedule_body(name: str = "acme", namespace: str = "erp-sync", **spec: Any) -> dict[str, Any]:
    """A minimal valid ErpSyncSchedule (Generic profile) as a manifest; `spec` keys are merged in."""
    body: dict[str, Any] = {
        "apiVersion": "erpsync.io/v1alpha1",
        "kind": "ErpSyncSchedule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "erp": "Generic",
            "procore": {"companyId": 42, "credentialsSecretRef": {"name": "procore-credentials"}},
            "erpConnection": {"secretRef": {"name": "erp-database"}},
        },
    }
    body["spec"].update(copy.deepcopy(spec))
    return body


def make_schedule(name: str = "acme", namespace: str = "erp-sync", **spec: Any) -> ErpSyncSchedule:
    """`schedule_body` validated; fails the test when it is not valid."""
    validated = validate_object(schedule_body(name, namespace, **spec))
    assert validated.schedule is not None, [str(p) for p in validated.problems]
    return validated.schedule
