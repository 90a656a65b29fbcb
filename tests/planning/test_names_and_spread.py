"""Child-object names, label values, the spread of start times, and determinism across processes."""

import hashlib
import os
import random
import re
import string
import subprocess
from collections import Counter
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsync.api.models import DNS_SUBDOMAIN_PATTERN
from erpsync.api.vocabulary import SYNC_NAMES, Frequency, SyncName
from erpsync.planning.cron import cron_expression
from erpsync.planning.names import cron_job_name, dns_label, label_value, on_demand_job_name, stable_int
from erpsync.planning.plan import plan_schedule
from tests.planning.builders import ERP_CONNECTOR, ERP_SYNC, example_files, load_schedules
from tests.support.specs import EXAMPLES, REPOSITORY, make_schedule

DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# The API server's label-value rule (k8s.io/apimachinery validation.IsValidLabelValue).
LABEL_VALUE: Final = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_SUBDOMAIN: Final = re.compile(DNS_SUBDOMAIN_PATTERN)
HASH_SUFFIX: Final = re.compile(r"(^|-)[0-9a-f]{8}$")
WORKER_ARGUMENT: Final[dict[SyncName, str]] = {
    "vendors": "vendors",
    "jobs": "jobs",
    "jobCosts": "job-costs",
    "invoicePayments": "invoice-payments",
}

# --- Spread over 1,000 generated schedule names -----------------------------------------------

WORDS: Final = ("acme", "summit", "ridge", "harbour", "granite", "builders", "meridian", "north", "erp", "sync")


def generated_names(count: int) -> list[tuple[str, str]]:
    """(namespace, name) pairs as customers write them: similar, sequential, some with dots."""
    rng = random.Random(20260308)
    names: set[tuple[str, str]] = set()
    while len(names) < count:
        words = rng.sample(WORDS, rng.randint(1, 3))
        name = "-".join(words) + rng.choice(["", f"-{rng.randint(1, 999)}", f".{rng.choice(WORDS)}", "-prod"])
        names.add((rng.choice(["erp-sync", "default", f"tenant-{rng.randint(1, 40)}"]), name))
    return sorted(names)


SCHEDULES: Final = generated_names(1000)


def slot(frequency: Frequency, namespace: str, name: str, sync: SyncName) -> tuple[int, int]:
    """(minute, hour) of the first slot of the planner's schedule for one sync."""
    schedule = cron_expression(frequency, stable_int(namespace, name, sync))
    assert schedule is not None
    minute, hour = schedule.split()[:2]
    return int(minute), 0 if hour == "*" else int(hour.split("-")[0])


def test_hourly_minutes_are_spread_over_the_hour() -> None:
    minutes = Counter(slot("Hourly", ns, name, sync)[0] for ns, name in SCHEDULES for sync in SYNC_NAMES)
    mean = 4 * len(SCHEDULES) / 60
    assert set(minutes) == set(range(60)), f"unused minutes: {set(range(60)) - set(minutes)}"
    assert max(minutes.values()) <= 2 * mean, minutes.most_common(3)
    assert min(minutes.values()) >= mean / 2, minutes.most_common()[-3:]
    assert minutes[0] <= 2 * mean  # not everything at :00


@pytest.mark.parametrize(("frequency", "hours"), [("Every2Hours", 2), ("Every4Hours", 4), ("Daily", 2)])
def test_start_hours_are_spread(frequency: Frequency, hours: int) -> None:
    starts = Counter(slot(frequency, ns, name, sync)[1] for ns, name in SCHEDULES for sync in SYNC_NAMES)
    first_hour = 4 if frequency == "Daily" else 0
    assert set(starts) == set(range(first_hour, first_hour + hours))
    mean = 4 * len(SCHEDULES) / hours
    assert all(0.8 * mean <= count <= 1.2 * mean for count in starts.values()), starts


def test_the_syncs_of_one_schedule_get_independent_minutes() -> None:
    # The hash covers the sync: a schedule's four syncs do not all start at the same minute.
    same = sum(len({slot("Hourly", ns, name, sync)[0] for sync in SYNC_NAMES}) == 1 for ns, name in SCHEDULES)
    assert same <= 5
    collisions = sum(
        slot("Hourly", ns, name, "vendors")[0] == slot("Hourly", ns, name, "jobs")[0] for ns, name in SCHEDULES
    )
    assert collisions <= 3 * len(SCHEDULES) / 60


def test_namespace_is_part_of_the_hash() -> None:
    minutes = {slot("Hourly", f"tenant-{i}", "acme", "vendors")[0] for i in range(200)}
    assert len(minutes) > 40


# --- Names and label values for any schedule name -----------------------------------------------

_ALNUM: Final = string.ascii_lowercase + string.digits


def _repair(text: str) -> str:
    """`text` with every '.' or '-' that a DNS subdomain does not allow there replaced by 'a'."""
    chars = list(text)
    last = len(chars) - 1
    for i, char in enumerate(chars):
        before = chars[i - 1] if i > 0 else ""
        after = chars[i + 1] if i < last else ""
        edge = i in (0, last)
        if (char == "." and (edge or before in ".-" or after in ".-")) or (
            char == "-" and (edge or before == "." or after == ".")
        ):
            chars[i] = "a"
    return "".join(chars)


@st.composite
def _joined_names(draw: st.DrawFn) -> str:
    first = draw(st.text(_ALNUM, min_size=1, max_size=80))
    rest = draw(
        st.lists(
            st.tuples(st.sampled_from(["-", ".", "--", "---"]), st.text(_ALNUM, min_size=1, max_size=80)),
            max_size=6,
        )
    )
    return (first + "".join(separator + part for separator, part in rest))[:253]


@st.composite
def _long_names(draw: st.DrawFn) -> str:
    length = draw(st.integers(min_value=40, max_value=253))
    return draw(st.text(_ALNUM + "-.", min_size=length, max_size=length))


def schedule_names() -> st.SearchStrategy[str]:
    """Valid metadata.name values (DNS subdomains) up to 253 characters, dots and dashes included."""
    return st.one_of(_joined_names(), _long_names(), st.just("a" * 253), st.just("a." * 126 + "a")).map(_repair)


def test_generated_names_are_valid_and_reach_253() -> None:
    assert _repair("-a..b-.c-") == "aaa.ba.ca"
    seen: list[str] = []

    @settings(max_examples=300, database=None, derandomize=True)
    @given(name=schedule_names())
    def collect(name: str) -> None:
        assert DNS_SUBDOMAIN.match(name) and len(name) <= 253, name
        seen.append(name)

    collect()
    assert max(map(len, seen)) == 253
    assert any("." in name and len(name) > 52 for name in seen)
    assert any(len(name) <= 20 for name in seen)


def _is_hashed(result: str) -> bool:
    return HASH_SUFFIX.search(result) is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=schedule_names())
def test_cron_job_names_are_short_dns_labels(name: str) -> None:
    for sync in SYNC_NAMES:
        result = cron_job_name(name, sync)
        assert len(result) <= 52, result
        assert DNS_LABEL.match(result), result
        plain = f"{name}-{WORKER_ARGUMENT[sync]}"
        if result != plain:  # shortened or rewritten: a hash keeps it apart from every other name
            assert _is_hashed(result), (name, result)
        else:
            assert len(plain) <= 52 and "." not in plain
        assert cron_job_name(name, sync) == result  # deterministic


@settings(max_examples=300, deadline=None)
@given(names=st.lists(schedule_names(), min_size=2, max_size=6, unique=True))
def test_cron_job_names_are_distinct(names: list[str]) -> None:
    results = {cron_job_name(name, sync) for name in names for sync in SYNC_NAMES}
    assert len(results) == len(names) * len(SYNC_NAMES)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("acme.prod", "acme-prod"),  # rewritten vs. plain
        ("a" * 60 + "x", "a" * 60 + "y"),  # differ only after the cut
        ("a" * 200 + ".b", "a" * 200 + "-b"),
        ("x" * 43, "x" * 44),  # both shortened to the same prefix
        ("ab", "ab.vendors"),
    ],
)
def test_near_identical_names_never_collide(first: str, second: str) -> None:
    for sync in SYNC_NAMES:
        assert cron_job_name(first, sync) != cron_job_name(second, sync)
        for other in SYNC_NAMES:
            if other != sync:
                assert cron_job_name(first, sync) != cron_job_name(first, other)
    assert label_value(first) != label_value(second)


@settings(max_examples=400, deadline=None)
@given(name=schedule_names(), token=st.text(min_size=0, max_size=300))
def test_label_values_and_on_demand_job_names(name: str, token: str) -> None:
    value = label_value(name)
    assert len(value) <= 63 and LABEL_VALUE.match(value), value
    if value != name:
        assert len(name) > 63 and _is_hashed(value)
    for sync in SYNC_NAMES:
        job = on_demand_job_name(name, sync, token)
        assert len(job) <= 63 and DNS_LABEL.match(job), job
        assert job == on_demand_job_name(name, sync, token)
        assert job != on_demand_job_name(name, sync, token + "x")
        assert job != cron_job_name(name, sync)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(schedule_names(), min_size=2, max_size=6, unique=True))
def test_label_values_are_distinct(names: list[str]) -> None:
    assert len({label_value(name) for name in names}) == len(names)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=schedule_names())
def test_planned_objects_of_any_name_have_valid_names_and_labels(name: str) -> None:
    plan = plan_schedule(
        make_schedule(name=name, procore=ERP_CONNECTOR, syncs={"invoicePayments": {"frequency": "Hourly"}})
    )
    assert len(plan.cron_jobs) == 4
    for cron_job in plan.cron_jobs:
        metadata = cron_job["metadata"]
        assert len(metadata["name"]) <= 52 and DNS_LABEL.match(metadata["name"])
        label_sets = [
            metadata["labels"],
            cron_job["spec"]["jobTemplate"]["metadata"]["labels"],
            cron_job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
        ]
        for labels in label_sets:
            for value in labels.values():
                assert len(value) <= 63 and LABEL_VALUE.match(value), value


# --- Determinism -----------------------------------------------------------------------------


def _run_with_hash_seed(seed: str, *arguments: str) -> bytes:
    environment = {**os.environ, "PYTHONHASHSEED": seed}
    completed = subprocess.run(
        [str(ERP_SYNC), *arguments], capture_output=True, env=environment, cwd=REPOSITORY, check=True, timeout=60
    )
    return completed.stdout


@pytest.mark.skipif(not ERP_SYNC.exists(), reason="the erp-sync console script is not installed")
@pytest.mark.parametrize(
    "arguments",
    [
        ("render", "-f", str(EXAMPLES)),
        ("plan", "-f", str(EXAMPLES), "-o", "json", "--now", "2026-03-08T06:00:00Z"),
    ],
    ids=["render", "plan"],
)
def test_output_is_byte_identical_across_hash_seeds(arguments: tuple[str, ...]) -> None:
    first = _run_with_hash_seed("1", *arguments)
    second = _run_with_hash_seed("4242", *arguments)
    assert first, "no output"
    assert first == second


# Changing the hash or the spread moves every customer's sync times on upgrade: pin them.
PINNED_SCHEDULES: Final = {
    ("granite-cmic", "jobCosts"): "43 0-23/2 * * *",
    ("acme-generic", "vendors"): "18 * * * *",
    ("acme-generic", "jobs"): "10 0-23/4 * * *",
    ("acme-generic", "jobCosts"): "44 0-23/2 * * *",
    ("acme-generic", "invoicePayments"): "30 18 * * *",
    ("summit-netsuite", "jobCosts"): "15 6 * * *",
    ("builders-qbd", "vendors"): "25 * * * *",
    ("builders-qbd", "jobs"): "9 * * * *",
    ("builders-qbd", "jobCosts"): "44 1-23/2 * * *",
    ("builders-qbd", "invoicePayments"): "37 0-23/4 * * *",
    ("ridge-spectrum", "vendors"): "14 1-23/4 * * *",
    ("ridge-spectrum", "jobs"): "38 * * * *",
    ("ridge-spectrum", "jobCosts"): "27 4 * * *",
    ("harbour-xero", "vendors"): "7 * * * *",
    ("harbour-xero", "jobs"): "47 * * * *",
    ("harbour-xero", "invoicePayments"): "1 4 * * *",
}


def test_schedules_of_the_examples_are_pinned() -> None:
    planned = {
        (plan.name, sync.sync): sync.schedule
        for path in example_files()
        for schedule in load_schedules(path)
        for plan in [plan_schedule(schedule)]
        for sync in plan.syncs
        if sync.schedule is not None
    }
    assert planned == PINNED_SCHEDULES


# --- Shortened names keep a readable prefix -----------------------------------------------------


def _hash(*parts: str) -> str:
    """The hash in names, spelled out: changing it would rename every customer's CronJobs on upgrade."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


@pytest.mark.parametrize(
    ("schedule_name", "sync", "expected"),
    [
        ("acme", "jobCosts", "acme-job-costs"),
        ("a" * 44, "vendors", "a" * 44 + "-vendors"),  # exactly 52 characters: kept
        ("a" * 45, "vendors", "a" * 43 + "-" + _hash("a" * 45, "vendors")),  # 53: cut to 52 with a hash
        ("acme.prod", "vendors", "acme-prod-vendors-" + _hash("acme.prod", "vendors")),  # a dot is rewritten
        ("a" * 42 + "-b" * 10, "jobs", "a" * 42 + "-" + _hash("a" * 42 + "-b" * 10, "jobs")),  # no dash before the hash
        ("acme..prod", "jobs", "acme-prod-jobs-" + _hash("acme..prod", "jobs")),
    ],
)
def test_cron_job_names_keep_their_readable_prefix(schedule_name: str, sync: SyncName, expected: str) -> None:
    assert cron_job_name(schedule_name, sync) == expected


def test_a_name_with_nothing_readable_is_its_hash() -> None:
    assert dns_label("---", 52) == _hash("---")
    assert dns_label("Acme", 52, "acme", "x") == "acme-" + _hash("acme", "x")


def test_on_demand_job_names_are_the_cronjob_name_and_a_hash_of_the_token() -> None:
    assert on_demand_job_name("acme", "vendors", "t1") == "acme-vendors-now-" + _hash("acme", "vendors", "t1")
    long_name = on_demand_job_name("a" * 60, "vendors", "t1")
    base = cron_job_name("a" * 60, "vendors")
    assert long_name == f"{base}-n-{_hash('a' * 60, 'vendors', 't1')}" and len(long_name) == 63


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.prod_1", "acme.prod_1"),
        ("a" * 63, "a" * 63),
        ("a" * 64, "a" * 54 + "-" + _hash("a" * 64)),
        ("Acme Prod/East", "Acme-Prod-East-" + _hash("Acme Prod/East")),  # capitals are allowed in label values
        ("_acme_", "acme-" + _hash("_acme_")),
        ("a" * 53 + ".b" * 10, "a" * 53 + "-" + _hash("a" * 53 + ".b" * 10)),
        ("///", _hash("///")),
        ("X" * 70, "X" * 54 + "-" + _hash("X" * 70)),  # capitals are not cut off the prefix
    ],
)
def test_label_values_keep_their_readable_prefix(value: str, expected: str) -> None:
    assert label_value(value) == expected
