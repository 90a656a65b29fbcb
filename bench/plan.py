"""Benchmark of the planner: validate and plan N generated ErpSyncSchedules, as the operator does.

Run: .venv/bin/python bench/plan.py [--count 10000] [--seed 2026]

Each schedule is a manifest body (a dict, as the operator receives it from the API server) that is
validated (`validate_object`) and planned (`plan_schedule`); the times of both steps are reported
per schedule, with the total and the peak resident set size of the process.
"""

import argparse
import platform
import random
import resource
import sys
import time
from typing import Any

from erpsync.api.profiles import MODES, PROFILES
from erpsync.api.timezones import zone_names
from erpsync.api.validation import validate_object
from erpsync.api.vocabulary import ERP_NAMES, PROCORE_MODES, SYNC_NAMES
from erpsync.planning.plan import SchedulePlan, plan_schedule

_SYNC_FIELDS = {"vendors": "vendors", "jobs": "jobs", "jobCosts": "jobCosts", "invoicePayments": "invoicePayments"}


def generate(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` valid ErpSyncSchedule bodies: every profile and Procore mode, many zones, frequencies the
    profile offers in that mode, what starts the runs (runOn) where the mode has ERP Requests."""
    rng = random.Random(seed)
    zones = list(zone_names())
    bodies: list[dict[str, Any]] = []
    for index in range(count):
        erp = rng.choice(ERP_NAMES)
        mode = rng.choice(PROCORE_MODES)
        syncs: dict[str, Any] = {}
        for sync in SYNC_NAMES:
            offered = ("Never",) if sync in MODES[mode].impossible else PROFILES[erp].offer(sync).frequencies
            choice = rng.choice([None, *offered])
            if choice is None:
                continue
            settings: dict[str, Any] = {"frequency": choice}
            # runOn ErpRequests starts no scheduled runs: it goes with Never only.
            run_on = rng.choice([None, *MODES[mode].run_on])
            if run_on is not None and (run_on != "ErpRequests" or choice == "Never"):
                settings["runOn"] = run_on
            if choice == "Daily" and rng.random() < 0.3:
                settings["at"] = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
            if rng.random() < 0.1:
                settings["suspend"] = True
            syncs[_SYNC_FIELDS[sync]] = settings
        name = f"customer-{index}" + rng.choice(["", ".prod", "-" + "x" * rng.randrange(1, 60)])
        body: dict[str, Any] = {
            "apiVersion": "erpsync.io/v1alpha1",
            "kind": "ErpSyncSchedule",
            "metadata": {"name": name, "namespace": f"tenant-{index % 50}", "generation": 1},
            "spec": {
                "erp": erp,
                "timeZone": rng.choice(zones),
                "procore": {
                    "mode": mode,
                    "companyId": rng.randrange(1, 2**40),
                    "environment": rng.choice(["Production", "Sandbox", "MonthlySandbox"]),
                    "credentialsSecretRef": {"name": f"customer-{index}-procore"},
                },
                "erpConnection": {"secretRef": {"name": f"customer-{index}-erp"}},
                "syncs": syncs,
            },
        }
        if rng.random() < 0.2:
            body["spec"]["erpConnection"]["queriesConfigMapRef"] = {"name": f"customer-{index}-queries"}
        if rng.random() < 0.2:
            body["spec"]["worker"] = {
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                "tolerations": [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}],
            }
        bodies.append(body)
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=10_000, help="schedules to plan (default 10000)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated schedules")
    arguments = parser.parse_args()
    count: int = arguments.count

    bodies = generate(count, arguments.seed)
    validate_seconds = 0.0
    plan_seconds = 0.0
    cron_jobs = 0
    started = time.perf_counter()
    for body in bodies:
        before = time.perf_counter()
        validated = validate_object(body)
        middle = time.perf_counter()
        if validated.schedule is None:
            raise SystemExit(f"generated an invalid schedule: {validated.problems}")
        plan: SchedulePlan = plan_schedule(validated.schedule)
        after = time.perf_counter()
        validate_seconds += middle - before
        plan_seconds += after - middle
        cron_jobs += len(plan.cron_jobs)
    total = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    print(f"schedules:            {count} ({cron_jobs} CronJobs)")
    print(f"total:                {total:.3f} s")
    print(f"per schedule:         {total / count * 1e3:.3f} ms")
    print(f"  validate:           {validate_seconds / count * 1e3:.3f} ms")
    print(f"  plan:               {plan_seconds / count * 1e3:.3f} ms")
    print(f"peak RSS:             {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
