"""The real Helm 4 and Helm 3 binaries (made by `.ci/tools.sh`), run on the chart with isolated homes.

A missing binary fails the test with the command that makes it: these tests never skip silently.
Offline by default (no cluster reachable); `Helm.on_cluster(kubeconfig)` is the same helm aimed at a
real API server, for `helm install`, `upgrade` and `uninstall`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "erp-sync-operator"
TOOLS = REPO / ".tools"
HELM_BINARIES: Mapping[str, Path] = {"helm4": TOOLS / "helm4" / "helm", "helm3": TOOLS / "helm3" / "helm"}
RELEASE = "erp-sync-operator"  # holds the chart's name, so the objects are named erp-sync-operator
RELEASE_NAMESPACE = "erp-sync-system"


def helm_binary(name: str) -> Path:
    """The path of `helm4` or `helm3`; fails (not skips) when `.ci/tools.sh` has not made it."""
    binary = HELM_BINARIES[name]
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: run .ci/tools.sh (or `make tools`) to fetch the real Helm binaries")
    return binary


@dataclass(frozen=True)
class Helm:
    """One helm binary with its own cache, config and data directories (never the user's)."""

    name: str
    binary: Path
    home: Path
    # None: no cluster, helm must never reach one (a kubeconfig file that does not exist).
    kubeconfig: Path | None = None

    @classmethod
    def make(cls, name: str, home: Path) -> Helm:
        return cls(name, helm_binary(name), home)

    def on_cluster(self, kubeconfig: Path) -> Helm:
        """The same helm (binary and homes), talking to the cluster of `kubeconfig`."""
        return dataclasses.replace(self, kubeconfig=kubeconfig)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HELM_CACHE_HOME": str(self.home / "cache"),
            "HELM_CONFIG_HOME": str(self.home / "config"),
            "HELM_DATA_HOME": str(self.home / "data"),
            "KUBECONFIG": str(self.kubeconfig or self.home / "no-kubeconfig"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run helm; the caller checks the exit code (see `ok`)."""
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=self.env(), timeout=60, check=False
        )

    def ok(self, *args: str) -> str:
        """Run helm and return its standard output; fail with its error output when it fails."""
        result = self.run(*args)
        assert result.returncode == 0, f"{self.name} {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
        return result.stdout

    def values_args(self, values: Mapping[str, Any] | None, name: str = "values") -> list[str]:
        if not values:
            return []
        text = yaml.safe_dump(dict(values), sort_keys=False)
        path = self.home / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return ["--values", str(path)]

    def template_args(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        kube_version: str | None = None,
        include_crds: bool = False,
        extra: Sequence[str] = (),
    ) -> list[str]:
        args = ["template", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE, *self.values_args(values)]
        if kube_version:
            args += ["--kube-version", kube_version]
        if include_crds:
            args.append("--include-crds")
        return [*args, *extra]

    def template(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        kube_version: str | None = None,
        include_crds: bool = False,
        extra: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """`helm template` of the chart, as a list of objects."""
        text = self.ok(*self.template_args(values, kube_version=kube_version, include_crds=include_crds, extra=extra))
        return documents(text)


def documents(text: str) -> list[dict[str, Any]]:
    return [dict(doc) for doc in yaml.safe_load_all(text) if doc]


def of_kind(objects: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def only(objects: Iterable[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, found {[o['metadata']['name'] for o in found]}"
    return found[0]
