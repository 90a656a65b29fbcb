"""Reading manifests the way kubectl does: YAML files, directories of them, multi-document streams.

PyYAML is a YAML 1.1 loader; kubectl's is not. Two differences matter here and are handled:
duplicate keys are refused (the API server's strict decoding refuses them; PyYAML keeps the last),
and the source position of each document is kept so problems can name the file.
"""

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """A file that cannot be read as YAML at all."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Document:
    """One YAML document of a manifest file."""

    source: str
    index: int
    body: object


def load_documents(text: str, source: str) -> list[Document]:
    """Every non-empty document of a YAML stream; raises ManifestError for malformed YAML."""
    try:
        bodies = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.YAMLError as error:
        raise ManifestError(f"{source}: not valid YAML: {error}".replace("\n", " ")) from error
    except (ValueError, RecursionError) as error:  # a 5,000-digit integer, 1,000 levels of nesting
        raise ManifestError(f"{source}: cannot be read: {type(error).__name__}: {str(error)[:200]}") from error
    documents: list[Document] = []
    for index, body in enumerate(bodies):
        if body is None:
            continue
        if isinstance(body, dict) and body.get("kind") == "List" and isinstance(body.get("items"), list):
            documents.extend(Document(source, index, item) for item in body["items"])
        else:
            documents.append(Document(source, index, body))
    return documents


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files named by `-f` arguments, as kubectl reads them: a file, or a directory's manifest files."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
        else:
            yield path


def read_manifests(paths: list[Path]) -> list[Document]:
    documents: list[Document] = []
    for path in expand_paths(paths):
        try:
            text = path.read_text(encoding="utf-8") if str(path) != "-" else _read_stdin()
        except OSError as error:
            raise ManifestError(f"{path}: cannot be read: {error.strerror}") from error
        documents.extend(load_documents(text, str(path)))
    return documents


def _read_stdin() -> str:
    return sys.stdin.read()


def dump_documents(bodies: list[dict[str, Any]]) -> str:
    """Multi-document YAML, without the `&id001` anchors PyYAML writes for shared objects."""

    class _NoAliasDumper(yaml.SafeDumper):
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
