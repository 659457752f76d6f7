"""Reading one config file: bytes → text → YAML → plain dicts and lists, or one problem.

YAML is read with ruamel.yaml's round-trip loader so that every value keeps its line.
Hostile input stays harmless: YAML tags are refused (the round-trip loader never runs
them, but they are never meant), dates stay text until pydantic checks them (so
2027-02-30 is a message, not a crash), keys must be plain scalars, and alias expansion
is capped. Whatever goes wrong becomes one ``ConfigProblem`` with the line where known.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from carepath.config.files import MAX_CONFIG_BYTES
from carepath.errors import ConfigProblem

MAX_VALUES = 100_000  # after alias expansion; the example clinic has about 1,000
MAX_DEPTH = 40
_COMPLEX_KEY_HINT = "keys are plain words; look for a stray ? or bracket before a colon"


class _Constructor(RoundTripConstructor):
    """Round-trip loading, with dates left as text for pydantic to check and explain."""


_Constructor.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


class Unreadable(ValueError):
    """The YAML parsed, but is not plain data: a tag, or too big or deep once expanded."""

    def __init__(self, message: str, hint: str, line: int | None = None) -> None:
        super().__init__(message)
        self.hint, self.line = hint, line


class Document:
    """One parsed YAML file and how to find the line of a field path in it."""

    def __init__(self, label: str, data: Any) -> None:
        self.label, self.data = label, data

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        node, line = self.data, None
        for key in path:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        if line is None and isinstance(self.data, CommentedMap | CommentedSeq):
            line = self.data.lc.line + 1
        return line

    def value_at(self, path: tuple[str | int, ...]) -> object:
        node = self.data
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                return None
        return node if not isinstance(node, CommentedMap | CommentedSeq) else None


def read_yaml(path: Path, problems: list[ConfigProblem]) -> Any:
    shown = str(path)
    if not path.is_file():
        problems.append(ConfigProblem(shown, None, "(file)", None, "file not found",
                                      f"create {path.name}; see the example config"))
        return None
    if path.stat().st_size > MAX_CONFIG_BYTES:
        problems.append(ConfigProblem(shown, None, "(file)", None,
                                      f"file is larger than {MAX_CONFIG_BYTES} bytes",
                                      "a config file is a few kilobytes; check the path"))
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        problems.append(ConfigProblem(shown, raw[:error.start].count(b"\n") + 1, "(file)",
                                      None, f"not UTF-8 text (byte {error.start})",
                                      "save the file as UTF-8"))
        return None
    if not text.strip():
        problems.append(ConfigProblem(shown, None, "(file)", None, "the file is empty",
                                      "write the settings as key: value lines; see the "
                                      "example config"))
        return None
    return _parse(text, shown, problems)


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    return yaml


@lru_cache(maxsize=16)
def _parsed(text: str) -> Any:
    """The YAML of ``text``, parsed once per process: reloading a folder after one file was
    edited parses that file only (the round-trip parser is most of what loading costs).
    The result is shared, so it is only ever read; a text that fails is never cached."""
    return _round_trip().load(text)


def _parse(text: str, shown: str, problems: list[ConfigProblem]) -> Any:
    try:
        data = _parsed(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = str(error.problem or error.context)
        problems.append(ConfigProblem(shown, line, "(yaml)", None,
                                      f"not valid YAML: {reason}", _yaml_hint(reason)))
        return None
    except ReaderError as error:  # a character YAML does not allow, e.g. NUL
        code = error.character if isinstance(error.character, int) else ord(error.character)
        problems.append(ConfigProblem(shown, text[:max(error.position, 0)].count("\n") + 1,
                                      "(yaml)", None, f"not valid YAML: control character "
                                      f"U+{code:04X}", "remove it; config files are plain text"))
        return None
    except TypeError:  # ruamel cannot build a mapping whose key is a list or mapping
        problems.append(ConfigProblem(shown, _complex_key_line(text), "(yaml)", None,
                                      "not valid YAML: a key is a list or a mapping",
                                      _COMPLEX_KEY_HINT))
        return None
    except (YAMLError, ValueError, RecursionError) as error:
        problems.append(ConfigProblem(shown, None, "(yaml)", None,
                                      f"not valid YAML: {str(error).splitlines()[0][:120]}",
                                      "check the file against the example config"))
        return None
    if data is None:
        problems.append(ConfigProblem(shown, None, "(file)", None, "the file is empty",
                                      "write the settings as key: value lines; see the "
                                      "example config"))
    return data


def _complex_key_line(text: str) -> int | None:
    """The line of the first mapping key that is not a plain scalar."""
    pending = [_round_trip().compose(text)]
    while pending:
        node = pending.pop()
        if isinstance(node, MappingNode):
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    return int(key.start_mark.line) + 1
                pending.append(value)
        elif isinstance(node, SequenceNode):
            pending.extend(node.value)
    return None


def _yaml_hint(reason: str) -> str:
    if "\\t" in reason or "\t" in reason:
        return "indent with spaces: YAML does not allow tabs"
    if "duplicate key" in reason:
        return "keep one of the two keys"
    return ("check indentation, colons, brackets and quotes on that line and the lines "
            "above it (an unclosed quote is found only where it ends)")


def plain(node: Any) -> Any:
    """ruamel's round-trip containers → plain dicts and lists for pydantic, with limits."""
    budget = [MAX_VALUES]
    return _plain_node(node, budget, 0, None)


def _plain_node(node: Any, budget: list[int], depth: int, line: int | None) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise Unreadable(f"the file expands to more than {MAX_VALUES} values or "
                          f"{MAX_DEPTH} levels", "write the values out; avoid nested "
                          "YAML aliases (*name)")
    _refuse_tags(node, line)
    if isinstance(node, dict):
        return {_plain_key(k, node): _plain_node(v, budget, depth + 1, _line(node, k))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_node(v, budget, depth + 1, _line(node, i)) for i, v in enumerate(node)]
    return node


def _plain_key(key: Any, mapping: Any) -> str:
    if isinstance(key, str | int | float | bool) or key is None:
        return str(key)
    raise Unreadable("not valid YAML: a key is a list or a mapping", _COMPLEX_KEY_HINT,
                      _line(mapping, key))


def _line(container: Any, key: Any) -> int | None:
    if isinstance(container, CommentedMap):
        return int(container.lc.key(key)[0]) + 1
    if isinstance(container, CommentedSeq):
        return int(container.lc.item(key)[0]) + 1
    return None


def _refuse_tags(node: Any, line: int | None) -> None:
    tag = getattr(node, "tag", None)
    name = getattr(tag, "value", None) if tag is not None else None
    if isinstance(node, bytes | TaggedScalar) or name:
        shown = str(name or "!!binary").replace("tag:yaml.org,2002:", "!!")
        raise Unreadable(f"YAML tags are not allowed (found {shown})",
                          "remove the !tag; config values are plain text, numbers and "
                          "lists", line)
