"""Deterministic names and label values for the objects the operator creates.

CronJob names stay within 52 characters (the CronJob controller appends 11 to name its Jobs) and
are DNS labels; label values stay within 63 characters. When a name has to be shortened or
rewritten (dots are not allowed in a DNS label), a hash of the full original is appended, so two
schedules never end up with the same child name.
"""

import hashlib
import re
from typing import Final

from erpsync.api.models import DNS_LABEL_PATTERN, LABEL_VALUE_PATTERN
from erpsync.api.vocabulary import WORKER_SYNC_ARGUMENT, SyncName

CRONJOB_NAME_MAX: Final = 52
JOB_NAME_MAX: Final = 63
LABEL_VALUE_MAX: Final = 63
_HASH_LENGTH: Final = 8
# The API's own patterns (what the models and the CRD accept), so a name the planner keeps is one the API takes.
_DNS_LABEL: Final = re.compile(DNS_LABEL_PATTERN)
_LABEL_VALUE: Final = re.compile(LABEL_VALUE_PATTERN)


def stable_hash(*parts: str) -> str:
    """A hex digest of the parts that is the same in every process (unlike Python's `hash()`)."""
    return hashlib.sha256("/".join(parts).encode("utf-8")).hexdigest()


def stable_int(*parts: str) -> int:
    return int(stable_hash(*parts)[:16], 16)


def dns_label(text: str, max_length: int, *identity: str) -> str:
    """`text` when it is a DNS label of at most `max_length`; otherwise a rewritten, hashed form.

    `identity` is what the hash is taken of (the unshortened inputs), so different inputs that
    shorten to the same prefix still get different names.
    """
    if len(text) <= max_length and _DNS_LABEL.match(text):
        return text
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower())
    suffix = stable_hash(*(identity or (text,)))[:_HASH_LENGTH]
    prefix = cleaned[: max_length - _HASH_LENGTH - 1].strip("-")
    return f"{prefix}-{suffix}" if prefix else suffix


def cron_job_name(schedule_name: str, sync: SyncName) -> str:
    """The CronJob of one sync of one schedule (a DNS label of at most 52 characters)."""
    return dns_label(f"{schedule_name}-{WORKER_SYNC_ARGUMENT[sync]}", CRONJOB_NAME_MAX, schedule_name, sync)


def on_demand_job_name(schedule_name: str, sync: SyncName, token: str) -> str:
    """The Job of a sync-now request: the same schedule, sync and token always give the same name."""
    digest = stable_hash(schedule_name, sync, token)[:_HASH_LENGTH]
    base = cron_job_name(schedule_name, sync)
    return dns_label(f"{base}-now-{digest}", JOB_NAME_MAX, schedule_name, sync, token)


def label_value(value: str) -> str:
    """`value` when it is a valid label value; otherwise a shortened form with a hash."""
    if len(value) <= LABEL_VALUE_MAX and _LABEL_VALUE.match(value):
        return value
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)
    suffix = stable_hash(value)[:_HASH_LENGTH]
    prefix = cleaned[: LABEL_VALUE_MAX - _HASH_LENGTH - 1].strip("-_.")
    return f"{prefix}-{suffix}" if prefix else suffix
