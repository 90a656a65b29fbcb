"""The smallest kopf operator for the emulator's smoke test: it records that it saw a schedule."""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.watching.server_timeout = 30  # exercise the emulator's timeoutSeconds too


@kopf.on.create("erpsync.io", "v1alpha1", "erpsyncschedules")
def seen(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
    patch.status["smoke"] = {"seenErp": spec.get("erp")}
