"""The image, built from the Dockerfile (`make image`) and run with podman as a user would.

hadolint checks the Dockerfile's text; everything else is checked on the built image: who it runs as,
that it runs with a read-only root filesystem, what is installed in it (the product, pinned, and
nothing else), what the build context held, its labels, and that the commands the chart and the
operator give it parse. The worker and the operator in the container are tested beside their kin:
tests/worker/test_image.py (against the Procore emulator) and tests/operator/test_image.py (against
the real control plane).
"""

import json
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from erpsync_testbed import podman

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).with_name("hadolint")
BUILDER_IMAGE = "localhost/erp-sync-operator:dev-builder"
NON_ROOT = "65532"


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _constraint_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"constraints.txt pins with ==, not {line}"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _in_image(script: str) -> Any:
    """Run a Python script in the image; its JSON on stdout."""
    result = podman.run("python", "-c", script)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ---- the Dockerfile's text ------------------------------------------------------------------------


def _hadolint(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HADOLINT), "-"], input=text, capture_output=True, text=True, cwd=ROOT, check=False)


def test_hadolint_passes() -> None:
    """`make lint` runs the same linter on the file."""
    result = _hadolint((ROOT / "Dockerfile").read_text())
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("rule", "old", "new"),
    [
        ("DL3042", "pip install --no-cache-dir", "pip install"),
        ("DL3008", "binutils=2.40-2", "binutils"),
        ("DL3025", 'CMD ["erp-sync", "operator", "--all-namespaces"]', "CMD erp-sync operator --all-namespaces"),
    ],
)
def test_hadolint_catches(rule: str, old: str, new: str) -> None:
    """The linter is really run on the text: a broken copy fails with the rule expected."""
    text = (ROOT / "Dockerfile").read_text()
    assert old in text
    result = _hadolint(text.replace(old, new))
    assert result.returncode != 0 and rule in result.stdout, result.stdout


# ---- how it runs ------------------------------------------------------------------------------------


def test_runs_as_a_numeric_non_root_user_with_a_read_only_root(image: str) -> None:
    """Numeric, so Kubernetes' runAsNonRoot can verify it; nothing written to the root filesystem."""
    config = json.loads(subprocess.run(["podman", "image", "inspect", image], capture_output=True, check=True).stdout)
    assert config[0]["Config"]["User"] == f"{NON_ROOT}:{NON_ROOT}"
    result = podman.run("sh", "-c", "id -u; id -g; touch /opt/venv/written 2>&1 || echo refused")
    assert result.stdout.split() == [NON_ROOT, NON_ROOT, *result.stdout.split()[2:-1], "refused"], result.stdout
    assert "Read-only file system" in result.stdout


def test_default_command_and_the_commands_it_is_given_parse(image: str) -> None:
    """The image's CMD, the chart's Deployment command and every worker command `erp-sync render`
    makes for the examples are the image's console scripts and accept their arguments (--help stops there)."""
    config = json.loads(subprocess.run(["podman", "image", "inspect", image], capture_output=True, check=True).stdout)
    commands = {tuple(config[0]["Config"]["Cmd"])}
    rendered = subprocess.run(
        [str(Path(sys.executable).with_name("erp-sync")), "render", "-f", "examples/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for document in yaml.safe_load_all(rendered):
        if isinstance(document, dict) and document.get("kind") == "CronJob":
            for container in document["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]:
                commands.add((*container["command"], *container.get("args", ())))
    assert commands >= {("erp-sync", "operator", "--all-namespaces")}
    assert any(command[0] == "erp-sync-worker" for command in commands)
    for command in sorted(commands):
        result = podman.run(*command, "--help")
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert "Usage:" in result.stdout


def test_both_commands_answer(image: str) -> None:
    for command in ("erp-sync", "erp-sync-worker"):
        result = podman.run(command, "--help")
        assert result.returncode == 0 and f"Usage: {command}" in result.stdout, result.stderr
    version = podman.run("erp-sync", "--version")
    assert version.returncode == 0 and _pyproject()["project"]["version"] in version.stdout, version.stderr


def test_labels_are_the_projects(image: str) -> None:
    config = json.loads(subprocess.run(["podman", "image", "inspect", image], capture_output=True, check=True).stdout)
    labels = config[0]["Config"]["Labels"]
    project = _pyproject()["project"]
    assert labels["org.opencontainers.image.version"] == project["version"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]
    assert labels["org.opencontainers.image.title"] == project["name"]


# ---- what is in it ----------------------------------------------------------------------------------


def test_installed_is_the_product_pinned_and_nothing_else(image: str) -> None:
    """Every distribution in the virtualenv is pinned by constraints.txt at that version; the test support,
    the plugin's Kubernetes client, pip and setuptools are not installed."""
    found = _in_image(
        "import importlib.metadata as m, importlib.util as u, json\n"
        "print(json.dumps({'dists': {d.metadata['Name']: d.version for d in m.distributions()},\n"
        "  'modules': {n: u.find_spec(n) is not None for n in ('erpsync', 'erpsync_worker', 'erpsync_emulators',\n"
        "  'erpsync_testbed', 'kubernetes', 'pip', 'setuptools', 'rich')}}))"
    )
    pins = _constraint_pins()
    project = _pyproject()["project"]
    for name, version in found["dists"].items():
        if canonicalize_name(name) == canonicalize_name(project["name"]):
            assert version == project["version"]
        else:
            assert pins.get(canonicalize_name(name)) == version, f"{name}=={version} is not pinned in constraints.txt"
    assert found["modules"] == {
        "erpsync": True,
        "erpsync_worker": True,
        "erpsync_emulators": False,
        "erpsync_testbed": False,
        "kubernetes": False,
        "pip": False,
        "setuptools": False,
        "rich": False,
    }


def test_bytecode_is_compiled_at_build_time(image: str) -> None:
    """The root filesystem is read-only: every product module has its bytecode in the image already."""
    missing = _in_image(
        "import importlib.util, json, pathlib, erpsync, erpsync_worker\n"
        "print(json.dumps([str(p) for package in (erpsync, erpsync_worker)\n"
        "  for p in pathlib.Path(package.__file__).parent.rglob('*.py')\n"
        "  if not pathlib.Path(importlib.util.cache_from_source(str(p))).exists()]))"
    )
    assert missing == []


def test_no_build_tools_no_sources(image: str) -> None:
    result = podman.run("sh", "-c", "for t in strip gcc cc pip; do command -v $t; done; ls -d /src 2>/dev/null; true")
    assert result.stdout == "", f"in the final image: {result.stdout}"


def test_kubectl_plugin_says_what_it_lacks(image: str) -> None:
    """The plugin's console script is installed with the product, its client is not: one clear line."""
    result = podman.run("kubectl-erpsync", "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: kubectl erpsync needs the Kubernetes Python client, which this installation lacks: "
        "pip install 'erp-sync-operator[plugin]'"
    )


@cache
def _builder_sources() -> list[str]:
    """The files of /src in the builder stage: what the build context (after .dockerignore) gave the build."""
    subprocess.run(
        [
            "podman",
            "build",
            "--quiet",
            "--isolation=chroot",
            "--pull=never",
            "--target",
            "builder",
            "-t",
            BUILDER_IMAGE,
            ".",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=600,
    )
    listing = podman.run_command("find", "/src", "-type", "f", image=BUILDER_IMAGE)
    result = subprocess.run(listing, capture_output=True, text=True, check=True, timeout=120)
    return sorted(line.removeprefix("/src/") for line in result.stdout.splitlines())


def test_build_context_holds_only_what_the_build_reads(image: str) -> None:
    """The package roots as git tracks them and three files; no cache, no test, no local file.
    (pip's own build output, build/ and the egg-info, is made by the build inside /src.)"""
    tracked = subprocess.run(
        ["git", "ls-files", "operator", "sync-jobs"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    sources = [path for path in _builder_sources() if not path.startswith(("build/", "erp_sync_operator.egg-info/"))]
    assert sources == sorted([*tracked, "README.md", "constraints.txt", "pyproject.toml"])
