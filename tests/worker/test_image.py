"""The sync worker in the built image (`make image`), as its CronJob runs it: `erp-sync-worker run vendors`
as uid 65532 with a read-only root filesystem, against the Procore emulator on the host's loopback and the
ERP database (SQLite mounted from the test's folder; PostgreSQL over loopback when there is a server)."""

import json
from pathlib import Path

import sqlalchemy

from erpsync_testbed import podman
from tests.worker.conftest import World


def _run_in_container(world: World, tmp_path: Path) -> tuple[int, dict[str, object], str]:
    env = world.env()
    volumes: list[tuple[Path, str]] = []
    database = sqlalchemy.make_url(world.erp_url).database
    if world.erp_url.startswith("sqlite") and database:
        # The same path inside, so the URL is unchanged; readable by the image's user, not writable.
        folder = Path(database).parent
        folder.chmod(0o755)
        Path(database).chmod(0o644)
        volumes.append((folder, f"{folder}:ro"))
    result = podman.run("erp-sync-worker", "run", "vendors", env=env, volumes=volumes, host_network=True, timeout=120)
    summary_lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert summary_lines, f"no JSON summary on stdout:\n{result.stdout}\n{result.stderr}"
    return result.returncode, json.loads(summary_lines[-1]), result.stderr


def test_vendors_sync_in_the_image(image: str, world: World, tmp_path: Path) -> None:
    exit_code, summary, logs = _run_in_container(world, tmp_path)
    # The demo ERP data has three good vendors and two bad rows: a partial failure, exit code 2.
    assert exit_code == 2, logs
    assert summary["result"] == "PartiallyFailed"
    assert (summary["read"], summary["created"], summary["failed"]) == (5, 3, 2), summary
    assert {v["origin_id"] for v in world.table("vendors")} >= {"V100", "V200", "V300"}
    # JSON log lines on stderr, none carrying the client secret.
    assert logs and all(json.loads(line) for line in logs.splitlines())
    assert world.env()["PROCORE_CLIENT_SECRET"] not in logs

    exit_code, again, _ = _run_in_container(world, tmp_path)
    assert exit_code == 2
    assert (again["created"], again["updated"], again["unchanged"], again["failed"]) == (0, 0, 3, 2), again
