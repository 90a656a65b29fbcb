"""Release basics: the licence, the changelog, one version everywhere, the chart's names."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import erpsync
import erpsync_worker
from tests.ship.helm import CHART, Helm, documents, only

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_licence_file_is_the_one_the_metadata_names() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:5] == ["Apache", "License", "Version", "2.0,", "January"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_one_version_everywhere() -> None:
    """pyproject.toml's version is the packages', `erp-sync version`'s, the chart's appVersion and the
    Dockerfile's label default (the built image's label: tests/ship/test_image.py)."""
    expected = PROJECT["version"]
    assert erpsync.__version__ == erpsync_worker.__version__ == expected
    shown = subprocess.run(
        [str(Path(sys.executable).with_name("erp-sync")), "version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout == f"erp-sync-operator {expected}\n"
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == expected
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(rf"^ARG VERSION={re.escape(expected)}$", dockerfile, re.MULTILINE)


def test_the_changelog_has_the_current_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert headings[0] == "Unreleased" and PROJECT["version"] in headings


@pytest.mark.parametrize(
    ("release", "name"),
    [
        ("erp-sync", "erp-sync-operator"),  # the README's install: the chart's name, not erp-sync-erp-sync-operator
        ("erp-sync-operator", "erp-sync-operator"),
        ("erp-sync-operator-prod", "erp-sync-operator-prod"),
        ("acme", "acme-erp-sync-operator"),
        ("erp", "erp-sync-operator"),
    ],
)
def test_the_chart_never_says_its_name_twice(release: str, name: str, tmp_path: Path) -> None:
    helm = Helm.make("helm4", tmp_path / "helm4")
    objects = documents(helm.ok("template", release, str(CHART), "--namespace", "erp-sync-system"))
    assert only(objects, "Deployment")["metadata"]["name"] == name
    assert only(objects, "ServiceAccount")["metadata"]["name"] == name
