"""The object-metadata validation every API server applies, whatever the kind.

Generated names and labels are where operators most often break on a real cluster (a CronJob name over 52
characters, a label value over 63): those are refused here with 422 as they would be there, and so are the
CronJob and Job specs a real server refuses (schedule, time zone, restart policy, containers, immutable
Job fields). Other schemas (CRDs' openAPIV3Schema and CEL rules included) are *not* checked.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from croniter import croniter

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_RE = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
_DNS1123_LABEL_RE = re.compile(rf"^{_DNS1123_LABEL}$")
_DNS1035_LABEL_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_ANNOTATIONS_MAX_BYTES = 256 * 1024

# Kinds whose names are stricter than a DNS subdomain, as their registries validate them.
_LABEL_NAMED = {("", "namespaces")}
_DNS1035_NAMED = {("", "services")}
# A CronJob's Jobs are named NAME-<11 chars>, so CronJob names stop at 52; a Job's name becomes a label value.
_MAX_NAME_LENGTH = {("batch", "cronjobs"): 52, ("batch", "jobs"): 63}

Causes = list[tuple[str, str]]


def label_key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        return "prefix part must be non-empty"
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN_RE.match(prefix)):
        return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME_RE.match(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _LABEL_VALUE_RE.match(value):
        return (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def name_problem(group: str, plural: str, name: str) -> str | None:
    key = (group, plural)
    if key in _LABEL_NAMED:
        if len(name) > 63 or not _DNS1123_LABEL_RE.match(name):
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-' (at most 63)"
    elif key in _DNS1035_NAMED:
        if len(name) > 63 or not _DNS1035_LABEL_RE.match(name):
            return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with a letter"
    elif len(name) > 253 or not _DNS1123_SUBDOMAIN_RE.match(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character"
        )
    limit = _MAX_NAME_LENGTH.get(key)
    if limit is not None and len(name) > limit:
        return f"must be no more than {limit} characters"
    return None


def _string_map_problems(field: str, value: Any, check_values: bool) -> Causes:
    causes: Causes = []
    if value is None:
        return causes
    if not isinstance(value, Mapping):
        return [(field, "must be a map of strings")]
    for key, item in value.items():
        if not isinstance(item, str):
            causes.append((f"{field}[{key}]", f"Invalid value: {item!r}: must be a string"))
            continue
        if problem := label_key_problem(str(key)):
            causes.append((field, f'Invalid value: "{key}": {problem}'))
        if check_values and (problem := label_value_problem(item)):
            causes.append((field, f'Invalid value: "{item}": {problem}'))
    return causes


def metadata_problems(group: str, plural: str, obj: Mapping[str, Any]) -> Causes:
    """The field errors a real server reports for this object's metadata; empty when valid."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return [("metadata", "Required value")]
    causes: Causes = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif problem := name_problem(group, plural, name):
        causes.append(("metadata.name", f'Invalid value: "{name}": {problem}'))
    causes += _string_map_problems("metadata.labels", meta.get("labels"), check_values=True)
    annotations = meta.get("annotations")
    causes += _string_map_problems("metadata.annotations", annotations, check_values=False)
    if isinstance(annotations, Mapping) and len(json.dumps(annotations)) > _ANNOTATIONS_MAX_BYTES:
        causes.append(("metadata.annotations", "Too long: must have at most 262144 bytes"))
    finalizers = meta.get("finalizers") or []
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        causes.append(("metadata.finalizers", "must be a list of strings"))
    else:
        for finalizer in finalizers:
            if problem := label_key_problem(finalizer):
                causes.append(("metadata.finalizers", f'Invalid value: "{finalizer}": {problem}'))
    refs = meta.get("ownerReferences") or []
    if not isinstance(refs, list):
        causes.append(("metadata.ownerReferences", "must be a list"))
    else:
        controllers = 0
        for index, ref in enumerate(refs):
            field = f"metadata.ownerReferences[{index}]"
            if not isinstance(ref, Mapping):
                causes.append((field, "must be an object"))
                continue
            for required in ("apiVersion", "kind", "name", "uid"):
                if not ref.get(required):
                    causes.append((f"{field}.{required}", "Required value"))
            controllers += bool(ref.get("controller"))
        if controllers > 1:
            causes.append(
                ("metadata.ownerReferences", "Invalid value: only one reference can have Controller set to true")
            )
    return causes


def crd_name_problem(crd: Mapping[str, Any]) -> str | None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    expected = f"{names.get('plural')}.{spec.get('group')}"
    actual = (crd.get("metadata") or {}).get("name")
    if actual != expected:
        return f'Invalid value: "{actual}": must be spec.names.plural+"."+spec.group'
    return None


_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_JOB_RESTART_POLICIES = ("OnFailure", "Never")
_CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")


def _pod_template_problems(field: str, template: Any, restart_policies: tuple[str, ...]) -> Causes:
    spec = template.get("spec") if isinstance(template, Mapping) else None
    if not isinstance(spec, Mapping):
        return [(f"{field}.spec", "Required value")]
    causes: Causes = []
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append((f"{field}.spec.containers", "Required value"))
    else:
        for index, container in enumerate(containers):
            where = f"{field}.spec.containers[{index}]"
            name = container.get("name") if isinstance(container, Mapping) else None
            if not isinstance(name, str) or not _DNS1123_LABEL_RE.match(name) or len(name) > 63:
                causes.append((f"{where}.name", f"Invalid value: {name!r}: must be a lowercase RFC 1123 label"))
            if not isinstance(container, Mapping) or not container.get("image"):
                causes.append((f"{where}.image", "Required value"))
    policy = spec.get("restartPolicy")
    if policy not in restart_policies:
        supported = ", ".join(f'"{p}"' for p in restart_policies)
        causes.append((f"{field}.spec.restartPolicy", f'Unsupported value: "{policy}": supported values: {supported}'))
    return causes


def _schedule_problem(schedule: Any) -> str | None:
    if not isinstance(schedule, str) or not schedule.strip():
        return "Required value"
    if "TZ=" in schedule:
        return f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'
    text = schedule.strip()
    if text.startswith("@"):
        return None if text in _CRON_DESCRIPTORS or text.startswith("@every ") else f'Invalid value: "{text}"'
    fields = text.split()
    if len(fields) != 5 or not croniter.is_valid(text):
        return f'Invalid value: "{text}": unparseable cron schedule (5 fields expected)'
    return None


def _time_zone_problem(zone: Any) -> str | None:
    if zone is None:
        return None
    try:
        zoneinfo.ZoneInfo(str(zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f'Invalid value: "{zone}": unknown time zone {zone}'
    return None


def workload_problems(group: str, plural: str, obj: Mapping[str, Any]) -> Causes:
    """The spec checks of the CronJob and Job registries that an operator can trip over (after defaulting)."""
    spec = obj.get("spec")
    if (group, plural) not in {("batch", "cronjobs"), ("batch", "jobs")}:
        return []
    if not isinstance(spec, Mapping):
        return [("spec", "Required value")]
    if plural == "jobs":
        return _pod_template_problems("spec.template", spec.get("template"), _JOB_RESTART_POLICIES)
    causes: Causes = []
    if problem := _schedule_problem(spec.get("schedule")):
        causes.append(("spec.schedule", problem))
    if problem := _time_zone_problem(spec.get("timeZone")):
        causes.append(("spec.timeZone", problem))
    if spec.get("concurrencyPolicy") not in _CONCURRENCY_POLICIES:
        causes.append(("spec.concurrencyPolicy", f'Unsupported value: "{spec.get("concurrencyPolicy")}"'))
    job_template = spec.get("jobTemplate")
    job_spec = job_template.get("spec") if isinstance(job_template, Mapping) else None
    if not isinstance(job_spec, Mapping):
        causes.append(("spec.jobTemplate.spec", "Required value"))
    else:
        causes += _pod_template_problems(
            "spec.jobTemplate.spec.template", job_spec.get("template"), _JOB_RESTART_POLICIES
        )
    return causes


def immutable_problems(group: str, plural: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Causes:
    """Fields a Job does not let change once created."""
    if (group, plural) != ("batch", "jobs"):
        return []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    return [
        (f"spec.{field}", "Invalid value: field is immutable")
        for field in ("selector", "template", "completionMode")
        if old_spec.get(field) != new_spec.get(field)
    ]
