"""The architecture of docs/architecture.md, enforced: imports go down the layers, never up.

Every product module (`operator/`, `sync-jobs/`) is parsed with `ast`, never imported, and every import
it makes is collected: `import` and `from ... import` anywhere in the module (inside functions and
`if TYPE_CHECKING:` too), relative imports resolved, and `importlib.import_module("...")` /
`__import__("...")` with a literal name. The rules:

- the operator's layers, lowest first: the leaves (`erpsync`, the package root, and `erpsync.text_table`),
  `erpsync.api`, `erpsync.planning`, `erpsync.controller`, `erpsync.receiver`, `erpsync.cli`,
  `erpsync.kubectl_plugin`. A module imports modules of its own layer or lower ones, never a higher one; a
  new module or package of `erpsync` must be given a layer here first; the receiver sits beside the
  controller: only `erpsync.cli` imports it;
- the sync worker (`erpsync_worker`) may import the leaves and `erpsync.api` (the shared vocabulary),
  nothing of the operator above them; the operator never imports the worker (they meet through the
  CronJob: its arguments, environment and the termination message);
- product code never imports test support (`erpsync_emulators`, `erpsync_testbed`, `tests`).

The checker is a function of a folder, so the same code is shown to fail on small synthetic trees.
The last tests keep docs/architecture.md honest: every path, module and function it names exists.
"""

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[1]
ARCHITECTURE_DOC: Final = REPO / "docs" / "architecture.md"
PRODUCT_FOLDERS: Final = ("operator", "sync-jobs")  # folders holding the product's packages (not packages)

OPERATOR: Final = "erpsync"
WORKER: Final = "erpsync_worker"
TEST_SUPPORT: Final = ("erpsync_emulators", "erpsync_testbed", "tests")

# The operator's layers, lowest first (rank = position). Leaves are exact module names; the others are
# packages (or a module) with everything under them.
LEAVES: Final = ("erpsync", "erpsync.text_table")
LAYERS: Final = (
    ("leaves", LEAVES),
    ("api", ("erpsync.api",)),
    ("planning", ("erpsync.planning",)),
    ("controller", ("erpsync.controller",)),
    ("receiver", ("erpsync.receiver",)),  # beside the controller: imported by IMPORTED_ONLY_BY's modules alone
    ("cli", ("erpsync.cli",)),
    ("kubectl_plugin", ("erpsync.kubectl_plugin",)),
)
# Layers that only the named modules (and the layer itself) may import, although higher layers rank above them.
IMPORTED_ONLY_BY: Final = {"receiver": ("erpsync.cli",)}
WORKER_MAY_IMPORT: Final = "api"  # the highest operator layer the worker may import

# Imports that break a rule today and are accepted for now, each with its reason, as
# (importing module, imported module) pairs. Empty: the tree follows every rule. An entry that no
# longer matches a violation fails the test, so the list cannot outlive the problem.
KNOWN_EXCEPTIONS: Final[tuple[tuple[str, str], ...]] = ()


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path  # its file, relative to the root checked
    line: int
    imported: str  # the module imported, absolute
    statement: str  # the source line, for the message


@dataclass(frozen=True)
class Violation:
    where: Import
    rule: str

    def __str__(self) -> str:
        where = self.where
        if where.imported == where.module:  # the module itself breaks the rule, not one of its imports
            return f"{where.path}: {where.module}: {self.rule}"
        return f"{where.path}:{where.line}: {where.module} imports {where.imported} ({where.statement!r}): {self.rule}"


def product_modules(root: Path) -> dict[str, Path]:
    """Every product module under `root` by dotted name (a package by its name, from its __init__.py)."""
    modules: dict[str, Path] = {}
    for folder in PRODUCT_FOLDERS:
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if "__pycache__" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                modules[".".join(parts)] = path
    return modules


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    if level == 0:
        return name or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, *([name] if name else [])])


def _dynamic_import(node: ast.Call) -> str | None:
    """The literal name given to importlib.import_module(...) or __import__(...), if any."""
    function = node.func
    called = None
    if isinstance(function, ast.Attribute):
        called = function.attr
    elif isinstance(function, ast.Name):
        called = function.id
    if called not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and not first.value.startswith("."):
        return first.value
    return None


def imports_of(module: str, path: Path, root: Path, known: set[str]) -> Iterator[Import]:
    """Every import `module` makes, anywhere in its file."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    relative = path.relative_to(root)

    def found(node: ast.stmt | ast.expr, imported: str) -> Import:
        return Import(module, relative, node.lineno, imported, lines[node.lineno - 1].strip())

    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield found(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, _is_package(path), node.level, node.module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}" if base else alias.name
                # `from erpsync import cli` imports the module erpsync.cli; `from x import name`, x.
                yield found(node, submodule if submodule in known else base)
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            yield found(node, name)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> tuple[int, str] | None:
    """The rank and name of an operator module's layer; None for a module no layer holds."""
    for rank, (name, members) in enumerate(LAYERS):
        exact = name == "leaves"  # the leaves are single modules; a package of the root would hold everything
        if any(module == member or (not exact and _within(module, member)) for member in members):
            return rank, name
    return None


def _rank(layer: str) -> int:
    return [name for name, _ in LAYERS].index(layer)


def violations_of(found: Import) -> Iterator[str]:
    """The rules one import breaks (in words)."""
    importer, imported = found.module, found.imported
    top = imported.split(".")[0]
    if top in TEST_SUPPORT:
        yield f"product code must not import test support ({top})"
    if _within(importer, OPERATOR):
        if top == WORKER:
            yield "the operator must not import the sync worker (they meet through the CronJob only)"
        if top == OPERATOR:
            mine, theirs = layer_of(importer), layer_of(imported)
            if mine is None:
                yield f"{importer} belongs to no layer: give it one in LAYERS (tests/test_architecture.py)"
            elif theirs is None:
                yield f"{imported} belongs to no layer: give it one in LAYERS (tests/test_architecture.py)"
            elif mine[1] == "leaves" and imported != importer:
                yield f"the leaf {importer} must import nothing of erpsync"
            elif theirs[0] > mine[0]:
                yield f"layer {mine[1]} must not import the higher layer {theirs[1]}"
            elif theirs[1] in IMPORTED_ONLY_BY and mine[1] != theirs[1] and importer not in IMPORTED_ONLY_BY[theirs[1]]:
                yield f"only {', '.join(IMPORTED_ONLY_BY[theirs[1]])} may import the layer {theirs[1]}"
    elif _within(importer, WORKER) and top == OPERATOR:
        theirs = layer_of(imported)
        if theirs is None or theirs[0] > _rank(WORKER_MAY_IMPORT):
            layer = theirs[1] if theirs else "no layer"
            yield f"the sync worker may import erpsync up to {WORKER_MAY_IMPORT} only, not {layer}"


def check_layering(root: Path) -> list[Violation]:
    """Every broken rule in the product tree under `root` (a folder holding operator/ and sync-jobs/)."""
    modules = product_modules(root)
    known = set(modules)
    problems = [
        Violation(found, rule)
        for module, path in modules.items()
        for found in imports_of(module, path, root, known)
        for rule in violations_of(found)
    ]
    problems += [
        Violation(Import(module, path.relative_to(root), 1, module, ""), rule)
        for module, path in modules.items()
        if _within(module, OPERATOR) and layer_of(module) is None
        for rule in [f"{module} belongs to no layer: give it one in LAYERS (tests/test_architecture.py)"]
    ]
    return problems


# The real tree.


def test_the_product_follows_the_layering_rules() -> None:
    problems = check_layering(REPO)
    excepted = [p for p in problems if (p.where.module, p.where.imported) in KNOWN_EXCEPTIONS]
    unexcused = [p for p in problems if p not in excepted]
    assert not unexcused, "imports against docs/architecture.md's rules:\n" + "\n".join(map(str, unexcused))
    stale = set(KNOWN_EXCEPTIONS) - {(p.where.module, p.where.imported) for p in excepted}
    assert not stale, f"KNOWN_EXCEPTIONS that no longer match a violation, remove them: {sorted(stale)}"


def test_the_checker_sees_the_whole_product() -> None:
    """Guards the checker itself: it finds the packages and the imports a real module is known to make."""
    modules = product_modules(REPO)
    for package in [*(member for _, members in LAYERS for member in members), WORKER]:
        assert package in modules, f"{package} not found under {PRODUCT_FOLDERS}"
    assert all(layer_of(module) for module in modules if _within(module, OPERATOR))
    cli = modules["erpsync.cli"]
    imported = {found.imported for found in imports_of("erpsync.cli", cli, REPO, set(modules))}
    assert {"erpsync", "erpsync.api.crd", "erpsync.planning.plan", "erpsync.text_table"} <= imported
    assert "erpsync.controller.runner" in imported  # imported inside a function


# The checker, shown to fail: small synthetic trees with one offending import each.

CLEAN_TREE: Final = {
    "operator/erpsync/__init__.py": '__version__ = "0"\n',
    "operator/erpsync/text_table.py": "import re\n",
    "operator/erpsync/api/__init__.py": "",
    "operator/erpsync/api/models.py": "from erpsync import __version__\nfrom . import vocabulary\n",
    "operator/erpsync/api/vocabulary.py": "",
    "operator/erpsync/planning/__init__.py": "",
    "operator/erpsync/planning/plan.py": "from erpsync.api.models import X\nfrom ..api import vocabulary\n",
    "operator/erpsync/controller/__init__.py": "",
    "operator/erpsync/controller/status.py": "import erpsync.planning.plan\nfrom . import reconcile\n",
    "operator/erpsync/controller/reconcile.py": "from .status import build_status\n",
    "operator/erpsync/receiver/__init__.py": "",
    "operator/erpsync/receiver/service.py": "from erpsync.controller.status import x\nfrom . import deliveries\n",
    "operator/erpsync/receiver/deliveries.py": "from erpsync.api.vocabulary import SYNC_NAMES\n",
    "operator/erpsync/cli.py": (
        "from erpsync import text_table\n\ndef operator():\n    from erpsync.controller.status import x\n\n"
        "def webhooks():\n    from erpsync.receiver.service import run_receiver\n"
    ),
    "operator/erpsync/kubectl_plugin/__init__.py": "",
    "operator/erpsync/kubectl_plugin/cli.py": "from erpsync.cli import plan\nfrom erpsync.controller import status\n",
    "sync-jobs/erpsync_worker/__init__.py": "",
    "sync-jobs/erpsync_worker/summary.py": "from erpsync.api.vocabulary import SYNC_NAMES\nimport json\n",
    "sync-jobs/erpsync_worker/syncs/__init__.py": "",
    "sync-jobs/erpsync_worker/syncs/vendors.py": "from ..summary import Summary\n",
    "emulators/erpsync_emulators/__init__.py": "import erpsync.controller.status\nimport erpsync_worker\n",
}

CRD_MODULE: Final = "operator/erpsync/api/crd.py"
NAMES_MODULE: Final = "operator/erpsync/planning/names.py"
DRIFT_MODULE: Final = "operator/erpsync/controller/drift.py"
WORKER_CLI: Final = "sync-jobs/erpsync_worker/cli.py"


def higher(mine: str, theirs: str) -> str:
    return f"{mine} must not import the higher layer {theirs}"


def worker_may_not(layer: str) -> str:
    return f"worker may import erpsync up to api only, not {layer}"


TYPE_CHECKING_IMPORT: Final = (
    "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from erpsync.kubectl_plugin.cli import x\n"
)
# (file, source, the module reported, words of the rule broken); the offending import is the source's last line.
OFFENDING: Final = [
    (CRD_MODULE, "from erpsync.planning.plan import plan\n", "erpsync.planning.plan", higher("api", "planning")),
    (
        CRD_MODULE,
        "import json\nimport erpsync.controller.status\n",
        "erpsync.controller.status",
        higher("api", "controller"),
    ),
    (CRD_MODULE, "from erpsync import cli\n", "erpsync.cli", higher("api", "cli")),
    (CRD_MODULE, "from .. import kubectl_plugin\n", "erpsync.kubectl_plugin", higher("api", "kubectl_plugin")),
    (
        NAMES_MODULE,
        "from ..controller import status\n",
        "erpsync.controller.status",
        higher("planning", "controller"),
    ),
    (NAMES_MODULE, "def f():\n    from erpsync.cli import main\n", "erpsync.cli", higher("planning", "cli")),
    (DRIFT_MODULE, TYPE_CHECKING_IMPORT, "erpsync.kubectl_plugin.cli", higher("controller", "kubectl_plugin")),
    (DRIFT_MODULE, "from erpsync.cli import plan\n", "erpsync.cli", higher("controller", "cli")),
    (
        DRIFT_MODULE,
        "import importlib\n\nimportlib.import_module('erpsync.cli')\n",
        "erpsync.cli",
        higher("controller", "cli"),
    ),
    (
        "operator/erpsync/cli.py",
        "import erpsync.kubectl_plugin.cli as plugin\n",
        "erpsync.kubectl_plugin.cli",
        higher("cli", "kubectl_plugin"),
    ),
    (
        "operator/erpsync/text_table.py",
        "from erpsync.api import vocabulary\n",
        "erpsync.api.vocabulary",
        "the leaf erpsync.text_table must import nothing of erpsync",
    ),
    (
        "operator/erpsync/__init__.py",
        '__version__ = "0"\nfrom erpsync import text_table\n',
        "erpsync.text_table",
        "the leaf erpsync must import nothing of erpsync",
    ),
    (
        DRIFT_MODULE,
        "import erpsync_worker.summary\n",
        "erpsync_worker.summary",
        "the operator must not import the sync worker",
    ),
    (
        WORKER_CLI,
        "from erpsync.controller import status\n",
        "erpsync.controller.status",
        worker_may_not("controller"),
    ),
    (WORKER_CLI, "from erpsync.planning.cron import x\n", "erpsync.planning.cron", worker_may_not("planning")),
    (
        "sync-jobs/erpsync_worker/syncs/jobs.py",
        "import erpsync.kubectl_plugin\n",
        "erpsync.kubectl_plugin",
        worker_may_not("kubectl_plugin"),
    ),
    (
        CRD_MODULE,
        "from erpsync_emulators.procore import app\n",
        "erpsync_emulators.procore",
        "must not import test support (erpsync_emulators)",
    ),
    (WORKER_CLI, "import erpsync_testbed\n", "erpsync_testbed", "must not import test support (erpsync_testbed)"),
    (DRIFT_MODULE, "from tests.support import specs\n", "tests.support", "must not import test support (tests)"),
    (
        "operator/erpsync/controller/reconcile.py",
        "from erpsync.receiver import service\n",
        "erpsync.receiver.service",
        higher("controller", "receiver"),
    ),
    (
        "operator/erpsync/kubectl_plugin/cli.py",
        "from erpsync.receiver.deliveries import x\n",
        "erpsync.receiver.deliveries",
        "only erpsync.cli may import the layer receiver",
    ),
    ("operator/erpsync/newthing.py", "import json\n", "erpsync.newthing", "erpsync.newthing belongs to no layer"),
    (CRD_MODULE, "from erpsync.newthing import x\n", "erpsync.newthing", "erpsync.newthing belongs to no layer"),
]


def last_line(source: str) -> int:
    return source.count("\n")


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def test_the_checker_accepts_a_tree_that_follows_the_rules(tmp_path: Path) -> None:
    assert check_layering(_tree(tmp_path, CLEAN_TREE)) == []


@pytest.mark.parametrize(
    ("file", "source", "imported", "rule"),
    OFFENDING,
    ids=[f"{file.split('/', 1)[1]}:{last_line(source)}:{imported}" for file, source, imported, _ in OFFENDING],
)
def test_the_checker_reports_an_offending_import(
    tmp_path: Path, file: str, source: str, imported: str, rule: str
) -> None:
    """One offending import in an otherwise clean tree: reported with its file, line, module and rule."""
    line = last_line(source)
    problems = [str(problem) for problem in check_layering(_tree(tmp_path, {**CLEAN_TREE, file: source}))]
    module = file.split("/", 1)[1].removesuffix(".py").replace("/", ".")
    module = module.removesuffix(".__init__")
    # An import is named with its line; a module that belongs to no layer, by itself.
    expected = f"{file}: {module}: " if imported == module else f"{file}:{line}: {module} imports {imported} ("
    assert any(problem.startswith(expected) and rule in problem for problem in problems), (
        f"expected {expected}...: ...{rule}..., got {problems}"
    )
    assert all(problem.startswith(f"{file}:") for problem in problems), problems  # nothing else is blamed


# docs/architecture.md: every path, module and function it names exists.

_FENCE: Final = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN: Final = re.compile(r"`([^`\n]+)`")
_LINK: Final = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_PATH_ENDINGS: Final = (".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".json", ".lua", ".txt", "/")
_MODULE: Final = re.compile(r"\berpsync(?:_worker|_emulators|_testbed)?(?:\.[a-z_][a-z0-9_]*)*\b(?![/.\w-])")
_PACKAGE_FOLDERS: Final = {
    "erpsync": "operator",
    "erpsync_worker": "sync-jobs",
    "erpsync_emulators": "emulators",
    "erpsync_testbed": "testbed",
}
# `path.py` (`name`, `Class.method`): the names must be defined at the top of that module.
_PATH_WITH_NAMES: Final = re.compile(r"`([\w./-]+\.py)` \(((?:`[\w.]+`(?:, )?)+)\)")


def _is_path(span: str) -> bool:
    """A code span naming a file or folder (`erpsync.io/sync-now`, an annotation, is not one)."""
    return " " not in span and "/" in span and span.endswith(_PATH_ENDINGS) and "://" not in span


def _module_exists(root: Path, name: str) -> bool:
    base = root / _PACKAGE_FOLDERS[name.split(".")[0]] / Path(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _defined_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names |= {
                    f"{node.name}.{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                }
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


@dataclass(frozen=True)
class DocNames:
    paths: set[str]  # code spans naming files or folders, from the repository root
    links: set[str]  # relative link targets, from the document's folder
    modules: set[str]  # dotted module names, in code spans and in the mermaid diagrams
    functions: set[tuple[str, str]]  # (path.py, name) from `path.py` (`name`, ...)
    diagrams: int


def doc_names(text: str) -> DocNames:
    prose = _FENCE.sub("", text)
    mermaid = [body for language, body in _FENCE.findall(text) if language == "mermaid"]
    spans = _CODE_SPAN.findall(prose)
    return DocNames(
        paths={span for span in spans if _is_path(span)},
        links={link for link in _LINK.findall(prose) if "://" not in link},
        modules={span for span in spans if _MODULE.fullmatch(span)}
        | {name for block in mermaid for name in _MODULE.findall(block)},
        functions={
            (path, name) for path, names in _PATH_WITH_NAMES.findall(prose) for name in re.findall(r"`([\w.]+)`", names)
        },
        diagrams=len(mermaid),
    )


def doc_problems(text: str, doc_folder: Path, root: Path) -> list[str]:
    """What a document names that does not exist under `root`."""
    names = doc_names(text)
    problems = [f"no such path: {path}" for path in sorted(names.paths) if not (root / path).exists()]
    problems += [f"no such link target: {link}" for link in sorted(names.links) if not (doc_folder / link).exists()]
    problems += [f"no such module: {name}" for name in sorted(names.modules) if not _module_exists(root, name)]
    problems += [
        f"{path} defines no {name}"
        for path, name in sorted(names.functions)
        if (root / path).is_file() and name not in _defined_names(root / path)
    ]
    return problems


def test_the_architecture_doc_names_only_what_exists() -> None:
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    problems = doc_problems(text, ARCHITECTURE_DOC.parent, REPO)
    assert not problems, "docs/architecture.md is out of date with the tree:\n" + "\n".join(problems)


def test_the_architecture_doc_covers_the_product() -> None:
    """Guards the doc check against vacuity: the page has its diagrams and names what it should."""
    names = doc_names(ARCHITECTURE_DOC.read_text(encoding="utf-8"))
    assert names.diagrams >= 2, "a diagram of the packages and one of the data path"
    assert {member for _, members in LAYERS for member in members} | {WORKER, *TEST_SUPPORT[:2]} <= names.modules
    assert len(names.paths) > 30 and len(names.functions) > 30
    for sync in ("vendors", "jobs", "job_costs", "invoice_payments"):  # a row for each of the four syncs
        assert f"sync-jobs/erpsync_worker/syncs/{sync}.py" in names.paths


MINIMAL_DOC: Final = """# A page

```mermaid
flowchart TB
  api["erpsync.api"] --> leaves["erpsync"]
```

The CLI is `operator/erpsync/cli.py` (`plan`), see [operator.md](operator.md); the annotation
`erpsync.io/sync-now` is not a path.
"""


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ("`operator/erpsync/clii.py`", "no such path: operator/erpsync/clii.py"),
        ("`operator/erpsync/gone/`", "no such path: operator/erpsync/gone/"),
        ("[x](operators.md)", "no such link target: operators.md"),
        ("`erpsync.controller.diff_engine`", "no such module: erpsync.controller.diff_engine"),
        ("\n```mermaid\nflowchart TB\n  a[erpsync_worker.gone]\n```\n", "no such module: erpsync_worker.gone"),
        ("`operator/erpsync/cli.py` (`plan`, `no_such_command`)", "operator/erpsync/cli.py defines no no_such_command"),
        ("`operator/erpsync/controller/reconcile.py` (`Reconciler.gone`)", "defines no Reconciler.gone"),
    ],
    ids=["path", "folder", "link", "module", "module-in-mermaid", "function", "method"],
)
def test_the_doc_check_reports_what_does_not_exist(change: str, problem: str) -> None:
    assert doc_problems(MINIMAL_DOC, ARCHITECTURE_DOC.parent, REPO) == []
    problems = doc_problems(MINIMAL_DOC + change + "\n", ARCHITECTURE_DOC.parent, REPO)
    assert any(problem in found for found in problems), problems
