"""`make mutation` runs the unit tests of the mutated modules: every unit test module that imports one is in
mutmut's test selection (pyproject.toml, [tool.mutmut]). A status test left outside it once let
controller/status.py fall from 97.6 % to 75.0 % unnoticed (docs/benchmarks.md, "Mutation testing")."""

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from tests.test_architecture import imports_of

ROOT: Final = Path(__file__).resolve().parents[1]
# The unit tests of the operator's pure modules; the worker's are named after theirs (test_rows, test_throttle).
UNIT_TEST_FOLDERS: Final = ("tests/planning", "tests/controller")


def _mutmut() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return config


def unselected(tests: Iterable[Path], mutated: set[str], selection: list[str]) -> list[str]:
    """The test modules that import a mutated module and that the selection leaves out."""
    missing = []
    for path in tests:
        name = path.relative_to(ROOT).as_posix()
        selected = any(name == entry or name.startswith(f"{entry}/") for entry in selection)
        module = name.removesuffix(".py").replace("/", ".")
        if not selected and any(found.imported in mutated for found in imports_of(module, path, ROOT, mutated)):
            missing.append(name)
    return missing


def _unit_tests() -> list[Path]:
    return sorted(path for folder in UNIT_TEST_FOLDERS for path in (ROOT / folder).glob("test_*.py"))


def _mutated() -> set[str]:
    return {path.removesuffix(".py").replace("/", ".") for path in _mutmut()["only_mutate"]}


def test_every_unit_test_of_a_mutated_module_is_selected() -> None:
    assert unselected(_unit_tests(), _mutated(), _mutmut()["pytest_add_cli_args_test_selection"]) == []


def test_a_unit_test_left_out_is_reported() -> None:
    selection = [entry for entry in _mutmut()["pytest_add_cli_args_test_selection"] if "unchanged_pass" not in entry]
    assert unselected(_unit_tests(), _mutated(), selection) == ["tests/controller/test_unchanged_pass.py"]
