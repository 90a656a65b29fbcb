"""Each benchmark of bench/ still runs, at a size that takes seconds, and still meets the floors it prints.

The figures are measured by running the benchmarks (docs/benchmarks.md), not here: these tests only keep
them from breaking unnoticed, as bench/plan.py once did when the Procore modes made some of its generated
schedules invalid. What they assert is not a time: the planner planned every schedule, the worker used
exactly the minimum of requests, the operator created each schedule's CronJobs once and wrote statuses again
only for next-run times, the image started both commands.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_bench(script: str, *arguments: str, timeout: float) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def figure(output: str, pattern: str) -> str:
    found = re.search(pattern, output, re.MULTILINE)
    assert found is not None, f"{pattern!r} is not in the output:\n{output}"
    return found.group(1)


def test_the_planner_benchmark_validates_and_plans_every_schedule_it_generates() -> None:
    output = run_bench("plan.py", "--count", "300", timeout=120)
    assert figure(output, r"^schedules:\s+(\d+) \(\d+ CronJobs\)") == "300"


def test_the_worker_benchmark_syncs_with_the_minimum_of_requests() -> None:
    output = run_bench("worker_vendors.py", "--sizes", "2500", timeout=300)
    first = re.search(r"first run: (\d+) requests \(minimum (\d+),", output)
    again = re.search(r"run again \(all unchanged\): (\d+) requests \(minimum (\d+)\)", output)
    assert first is not None and again is not None, output
    # 2,500 vendors: a token, three vendors/sync batches and the two (empty) vendor lists; then a token, three
    # pages of vendors and the inactive list.
    assert (first.groups(), again.groups()) == (("6", "6"), ("5", "5"))


def test_the_operator_benchmark_creates_each_schedules_cron_jobs_once() -> None:
    output = run_bench("operator_scale.py", "--sizes", "10", "--idle", "1", "--resync", "3", timeout=300)
    assert figure(output, r"^operator writes per schedule: .*CronJobs ([\d.]+),") == "4.00"
    # A status is written again only when a next run time passes: how often depends on when the test runs, so
    # only the reason is asserted.
    for phase in ("restart, nothing changed", "full resync"):
        changed = re.search(rf"^{phase}.*statuses changed (\d+), of which in next-run times alone (\d+)", output, re.M)
        assert changed is not None and changed.group(1) == changed.group(2), output


@pytest.mark.usefixtures("image")
def test_the_image_benchmark_starts_the_worker_and_the_operator() -> None:
    output = run_bench("image.py", "--runs", "1", timeout=600)
    for command in ("erp-sync-worker run vendors", "erp-sync operator"):
        assert re.search(rf"^  {re.escape(command)}\s+median\s+[\d.]+ s", output, re.MULTILINE), output
