"""The examples' schedules for the planner and CLI tests, through the same validation path as `erp-sync validate`."""

from pathlib import Path
from typing import Final

from erpsync.api.manifests import read_manifests
from erpsync.api.models import ErpSyncSchedule
from erpsync.api.validation import is_schedule
from tests.support.specs import EXAMPLES, REPOSITORY, validated

ERP_SYNC: Final = REPOSITORY / ".venv" / "bin" / "erp-sync"
# spec.procore without a mode (the default, PublicApi), and in ErpConnector mode, where every sync (jobCosts too)
# can be scheduled.
DEFAULT_MODE: Final = {"companyId": 42, "credentialsSecretRef": {"name": "procore-credentials"}}
ERP_CONNECTOR: Final = {**DEFAULT_MODE, "mode": "ErpConnector"}


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
