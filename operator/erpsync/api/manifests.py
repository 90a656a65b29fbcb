"""Reading manifests the way kubectl does: YAML files, directories of them, multi-document streams.

PyYAML is a YAML 1.1 loader; kubectl's is not. The differences that matter here are handled:
duplicate keys are refused (the API server's strict decoding refuses them; PyYAML keeps the last),
decided on the keys as YAML types them (`yes` is a boolean, `1` an integer: two keys, not one);
and the source position of each document is kept so problems can name the file.

Every input is bounded before it is built into Python objects: a file is read up to
MAX_FILE_BYTES, and a first pass over the parser's events refuses a file nested deeper than
MAX_DEPTH or whose documents, aliases expanded, hold more than MAX_NODES nodes (a "billion laughs"
file of a few hundred bytes otherwise expands to millions of values), and refuses a recursive alias
(`&x [*x]`, which PyYAML builds into a value that contains itself). libyaml's parser is used where
PyYAML has it.
"""

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import yaml

MANIFEST_SUFFIXES: Final = (".yaml", ".yml", ".json")
MAX_FILE_BYTES: Final = 1024 * 1024
MAX_NODES: Final = 100_000
MAX_DEPTH: Final = 100

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ManifestError(Exception):
    """A file that cannot be read as YAML at all."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader (libyaml's where present) that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    seen: dict[tuple[str, object], yaml.Node] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a mapping key must be a scalar (a string, number or boolean), not a list or object",
                key_node.start_mark,
            )
        key = loader.construct_object(key_node, deep=deep)
        # The key as YAML types it: `yes` (a boolean) and `1` (an integer) differ though True == 1 in
        # Python; `1` and `0x1` are the same integer. A float by its text, so that two `.nan` collide.
        identity = (key_node.tag, repr(key) if isinstance(key, float) else key)
        first = seen.get(identity)
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key_node.value} (first at line {first.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[identity] = key_node
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Document:
    """One YAML document of a manifest file."""

    source: str
    index: int
    body: object


@dataclass
class ManifestFile:
    """What one file holds: its documents, or why it (or some of its documents) cannot be used."""

    source: str
    documents: list[Document] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _check_size(text: str, source: str) -> None:
    """Refuse a stream nested deeper than MAX_DEPTH, holding more than MAX_NODES values (aliases
    expanded) or with a recursive alias, before anything is built: one pass over the parser's events,
    in memory bounded by the depth and the anchors.

    An alias is recursive when its anchor names a collection still open: `&x [*x]`, `&a {k: *a}`.
    (An anchor defined twice is the loader's to refuse, as a duplicate: its alias is not taken for
    recursive when a complete node already has the name.)"""
    sizes: dict[str, int] = {}  # an anchor's value: how many values it expands to
    open_nodes: list[tuple[str | None, int]] = []  # each open collection's anchor and the count at its start
    open_anchors: set[str] = set()
    count = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            sizes.clear()
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise ManifestError(
                    f"{source}: {_line(event)}nested deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}"
                )
            open_nodes.append((event.anchor, count))
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            count += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = count - start
                open_anchors.discard(anchor)
        elif isinstance(event, yaml.ScalarEvent):
            count += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            anchor = event.anchor or ""
            if anchor in open_anchors and anchor not in sizes:
                raise ManifestError(
                    f"{source}: {_line(event)}recursive alias *{anchor[:40]}: an alias refers to the node "
                    "that contains it; allowed: aliases to nodes that end before them"
                )
            count += sizes.get(anchor, 1)  # undefined: the loader says so
        if count > MAX_NODES:
            raise ManifestError(
                f"{source}: {_line(event)}too large: more than {MAX_NODES} values "
                f"(aliases expanded); allowed: at most {MAX_NODES}"
            )


def _line(event: yaml.Event) -> str:
    return f"line {event.start_mark.line + 1}: " if event.start_mark is not None else ""


def _yaml_error(error: yaml.YAMLError, source: str) -> str:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = "; ".join(part for part in (error.context, error.problem) if part)
        return f"{source}: not valid YAML: {where}{what}"
    return f"{source}: not valid YAML: {error}".replace("\n", " ")


def parse_documents(text: str, source: str) -> ManifestFile:
    """Every non-empty document of a YAML stream, `kind: List` items flattened; a stream that is not
    YAML (or too large) gives one error, a document that is not an object one error each."""
    result = ManifestFile(source)
    try:
        _check_size(text, source)
        bodies = list(yaml.load_all(text, Loader=_StrictLoader))
    except ManifestError as error:
        result.errors.append(str(error))
        return result
    except yaml.YAMLError as error:
        result.errors.append(_yaml_error(error, source))
        return result
    except (ValueError, RecursionError) as error:  # a 5,000-digit integer
        result.errors.append(f"{source}: cannot be read: {type(error).__name__}: {str(error)[:200]}")
        return result
    for index, body in enumerate(bodies):
        where = f"{source}: document {index + 1}"
        if body is None:
            continue
        if not isinstance(body, dict):
            result.errors.append(f"{where}: expected an object (a Kubernetes manifest), got {_describe(body)}")
            continue
        if body.get("kind") == "List" and "items" in body:
            items = body["items"]
            if items is None:
                continue
            if not isinstance(items, list):
                result.errors.append(f"{where}: items: expected a list of objects, got {_describe(items)}")
                continue
            for position, item in enumerate(items):
                if isinstance(item, dict):
                    result.documents.append(Document(source, index, item))
                else:
                    result.errors.append(
                        f"{where}: items[{position}]: expected an object (a Kubernetes manifest), got {_describe(item)}"
                    )
            continue
        result.documents.append(Document(source, index, body))
    return result


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    if isinstance(value, str):
        kind = "the string"
    elif isinstance(value, bool):
        kind = "the boolean"
    elif isinstance(value, int | float):
        kind = "the number"
    else:
        kind = "the value"
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def load_documents(text: str, source: str) -> list[Document]:
    """Every non-empty document of a YAML stream; raises ManifestError for malformed YAML."""
    result = parse_documents(text, source)
    if result.errors:
        raise ManifestError(result.errors[0])
    return result.documents


def expand_paths(paths: list[Path], recursive: bool = False) -> Iterator[Path]:
    """Files named by `-f` arguments, as kubectl reads them: a file, or a directory's manifest files
    (and those of its subdirectories, symbolic links not followed, when `recursive`)."""
    for path in paths:
        if path.is_dir():
            if recursive:
                found: list[Path] = []
                for root, directories, files in os.walk(path):
                    directories.sort()
                    found.extend(Path(root) / name for name in files)
                candidates = sorted(found)
            else:
                candidates = sorted(path.iterdir())
            yield from (p for p in candidates if p.suffix in MANIFEST_SUFFIXES and p.is_file())
        else:
            yield path


def read_file(path: Path) -> ManifestFile:
    """One file (or '-', stdin) read and parsed; every problem is in the result, nothing raised."""
    source = str(path)
    try:
        if source == "-":
            data = _read_bounded(_stdin())
        else:
            with path.open("rb") as stream:
                data = _read_bounded(stream)
    except FileNotFoundError:
        return ManifestFile(source, errors=[f"{source}: no such file or directory"])
    except OSError as error:
        return ManifestFile(source, errors=[f"{source}: cannot be read: {error.strerror or error}"])
    if len(data) > MAX_FILE_BYTES:
        return ManifestFile(
            source, errors=[f"{source}: larger than {MAX_FILE_BYTES} bytes; allowed: at most {MAX_FILE_BYTES} bytes"]
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return ManifestFile(source, errors=[f"{source}: not UTF-8 text (byte {error.start + 1} cannot be decoded)"])
    return parse_documents(text, source)


def read_files(paths: list[Path], recursive: bool = False) -> list[ManifestFile]:
    """Every file named by `paths`, each with its documents or errors, in order."""
    return [read_file(path) for path in expand_paths(paths, recursive)]


def read_manifests(paths: list[Path]) -> list[Document]:
    """Every document of the files; raises ManifestError for the first file that cannot be used."""
    documents: list[Document] = []
    for result in read_files(paths):
        if result.errors:
            raise ManifestError(result.errors[0])
        documents.extend(result.documents)
    return documents


def _read_bounded(stream: BinaryIO) -> bytes:
    return stream.read(MAX_FILE_BYTES + 1)


def _stdin() -> BinaryIO:
    return sys.stdin.buffer


def dump_documents(bodies: list[dict[str, Any]]) -> str:
    """Multi-document YAML, without the `&id001` anchors PyYAML writes for shared objects."""

    class _NoAliasDumper(_BaseDumper):  # type: ignore[misc]
        def ignore_aliases(self, data: object) -> bool:
            return True

    return yaml.dump_all(
        bodies,
        Dumper=_NoAliasDumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        width=1000,
    )
