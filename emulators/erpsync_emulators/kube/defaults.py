"""Kubernetes 1.32 defaulting for the kinds the operator writes: CronJob, Job and Pod (with their templates).

A real API server fills defaults into every object it stores (`concurrencyPolicy: Allow`,
`terminationMessagePath`, `imagePullPolicy`, `creationTimestamp: null` in templates, ...). An operator that
compares the CronJob it wants with the CronJob it reads, field for field, finds a difference on every pass
against a real cluster and patches forever, while against a server without defaults it looks economical.
So the emulator defaults these kinds as kube-apiserver does, on every write (after a patch is applied,
so a patch that removes a defaulted field gets it back, and changes nothing). Other kinds are stored as sent.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_MODE_0644 = 420


def _set(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _image_pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in _PROBE_DEFAULTS.items():
        _set(probe, key, value)
    if isinstance(probe.get("httpGet"), dict):
        _set(probe["httpGet"], "scheme", "HTTP")
        _set(probe["httpGet"], "path", "/")


def _container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    if isinstance(container.get("image"), str):
        _set(container, "imagePullPolicy", _image_pull_policy(container["image"]))
    _set(container, "resources", {})
    for port in container.get("ports") or ():
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
    for env in container.get("env") or ():
        field_ref = ((env or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))


def _volume(volume: Any) -> None:
    if not isinstance(volume, dict):
        return
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict):
            _set(volume[source], "defaultMode", _MODE_0644)


def pod_spec(spec: Any, *, pod: bool = False) -> None:
    if not isinstance(spec, dict):
        return
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    if pod:
        _set(spec, "enableServiceLinks", True)
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or ():
            _container(container)
    for volume in spec.get("volumes") or ():
        _volume(volume)


def pod_template(template: Any) -> None:
    if not isinstance(template, dict):
        return
    # ObjectMeta in a template is a struct, not a pointer: Go serialises its zero time as null.
    metadata = template.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.setdefault("creationTimestamp", None)
    pod_spec(template.get("spec"))


def job_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = spec["parallelism"] = 1
    _set(spec, "parallelism", 1)
    if spec.get("backoffLimitPerIndex") is None:
        _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    pod_template(spec.get("template"))


def cronjob_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict):
        metadata = job_template.setdefault("metadata", {})
        if isinstance(metadata, dict):
            metadata.setdefault("creationTimestamp", None)
        # The JobSpec inside a CronJob gets only the pod template's defaults, not the Job's own.
        if isinstance(job_template.get("spec"), dict):
            pod_template(job_template["spec"].get("template"))


def apply(group: str, plural: str, obj: Obj) -> None:
    """Fill the defaults of this kind into `obj`, in place."""
    spec = obj.get("spec")
    if (group, plural) == ("batch", "cronjobs"):
        cronjob_spec(spec)
    elif (group, plural) == ("batch", "jobs"):
        job_spec(spec)
    elif (group, plural) == ("", "pods"):
        pod_spec(spec, pod=True)
    elif (group, plural) == ("", "podtemplates"):
        pod_template(obj.get("template"))


def job_selector(obj: Obj) -> None:
    """What the Job registry adds on create unless `manualSelector`: a selector on the Job's uid, and the
    matching labels on its pod template (the Job controller finds its Pods by them)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict) or spec.get("manualSelector"):
        return
    uid, name = obj["metadata"]["uid"], obj["metadata"]["name"]
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
        labels = template["metadata"].setdefault("labels", {})
        labels.setdefault("batch.kubernetes.io/controller-uid", uid)
        labels.setdefault("batch.kubernetes.io/job-name", name)
        labels.setdefault("controller-uid", uid)
        labels.setdefault("job-name", name)
