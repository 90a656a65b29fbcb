"""The examples' schedules for the planner and CLI tests, through the same validation path as `erp-sync validate`."""

from pathlib import Path
from typing import Final

from erpsync.api.manifests import read_manifests
from erpsync.api.models import ErpSyncSchedule
from erpsync.api.validation import is_schedule
from tests.support.specs import EXAMPLES, REPOSITORY, validated

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
        schedules.append(validated(document.body))
    return schedules
