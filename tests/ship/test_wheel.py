"""The wheel, built as pip builds it: the product only, typed, with its commands and its extras.

Built from what the Dockerfile copies into its build stage (pyproject.toml, README.md, operator/,
sync-jobs/), in a temporary folder so that no `build/` left in the clone can slip stale files in,
with the virtualenv's setuptools (the dev extra's; no build isolation, so nothing is downloaded).
What the built image can import is tested in tests/ship/test_image.py; this is the distribution itself.
"""

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path
from typing import Final

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.specs import REPOSITORY

BUILD_INPUTS: Final = ("pyproject.toml", "README.md", "operator", "sync-jobs")  # as the Dockerfile's COPY
PRODUCT: Final = {"erpsync", "erpsync_worker"}
COMMANDS: Final = {
    "erp-sync": "erpsync.cli:main",
    "erp-sync-worker": "erpsync_worker.cli:main",
    "kubectl-erpsync": "erpsync.kubectl_plugin:main",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in BUILD_INPUTS:
        path = REPOSITORY / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, source / name)
    pip = Path(sys.executable).with_name("pip")
    built = subprocess.run(
        [str(pip), "wheel", "--no-deps", "--no-build-isolation", "--quiet", str(source), "-w", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert built.returncode == 0, f"pip wheel failed (setuptools>=77 is in the dev extra):\n{built.stderr}"
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as opened:
        yield opened


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    """The text of one file of the wheel's .dist-info folder."""
    (member,) = [
        member
        for member in wheel.namelist()
        if member.split("/")[0].endswith(".dist-info") and member.endswith(f"/{name}")
    ]
    return wheel.read(member).decode("utf-8")


def test_the_wheel_holds_the_product_and_no_test_support(wheel: zipfile.ZipFile) -> None:
    top = {member.split("/")[0] for member in wheel.namelist() if not member.split("/")[0].endswith(".dist-info")}
    assert top == PRODUCT, f"top-level entries besides the product: {sorted(top - PRODUCT)}"
    assert _dist_info(wheel, "top_level.txt").split() == sorted(PRODUCT)


def test_the_packages_are_typed(wheel: zipfile.ZipFile) -> None:
    assert {f"{package}/py.typed" for package in PRODUCT} <= set(wheel.namelist())


def test_the_console_scripts_are_the_three_commands(wheel: zipfile.ZipFile) -> None:
    lines = _dist_info(wheel, "entry_points.txt").splitlines()
    section = lines[lines.index("[console_scripts]") + 1 :]
    scripts = dict(line.replace(" ", "").split("=", 1) for line in section if "=" in line)
    assert scripts == COMMANDS


def test_only_the_plugin_extra_brings_the_kubernetes_client(wheel: zipfile.ZipFile) -> None:
    """The operator and the workers (the image) do without it; `kubectl erpsync` needs it."""
    metadata = Parser().parsestr(_dist_info(wheel, "METADATA"))
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]

    def required(extra: str | None) -> set[str]:
        environment = {"extra": extra or ""}
        return {
            canonicalize_name(requirement.name)
            for requirement in requirements
            if requirement.marker is None or requirement.marker.evaluate(environment)
        }

    assert "kubernetes" not in required(None)
    assert "kubernetes" in required("plugin")
    assert {"kopf", "pydantic"} <= required(None)
