"""Read a config directory into a checked ``Config``, reporting every problem at once.

YAML is read with ruamel.yaml so that each error can name the line of the bad field.
Shape errors come from pydantic, cross-file rules from ``domain.config_checks``; both
become ``ConfigProblem``s carrying file, line, field path, value and a hint.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from carepath.domain.config import Clinic, Config, MeasuresFile, Pathway
from carepath.domain.config_checks import Finding, check_all
from carepath.errors import ConfigError, ConfigProblem

MAX_CONFIG_BYTES = 1_000_000


class _Document:
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


def load_config(directory: Path) -> Config:
    """Load and check ``clinic.yaml``, ``measures.yaml`` and ``pathways/*.yaml``.

    Raises ``ConfigError`` listing every problem found, never the first one only.
    """
    problems: list[ConfigProblem] = []
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(str(directory), None, "(directory)", None,
                                         "config directory not found",
                                         "pass the folder holding clinic.yaml, or set "
                                         "CAREPATH_CONFIG_DIR")])
    docs: dict[str, _Document] = {}
    clinic = _load_model(directory, "clinic", Clinic, docs, problems)
    measures_file = _load_model(directory, "measures", MeasuresFile, docs, problems)
    pathways: dict[str, Pathway] = {}
    pathway_dir = directory / "pathways"
    files = sorted(pathway_dir.glob("*.yaml")) if pathway_dir.is_dir() else []
    if not files:
        problems.append(ConfigProblem(_display(directory, "pathways"), None, "(directory)", None,
                                      "no pathway files found",
                                      "add at least one pathways/<id>.yaml"))
    for file in files:
        label = f"pathways/{file.stem}"
        pathway = _load_model(directory, label, Pathway, docs, problems)
        if pathway is not None:
            pathways[file.stem] = pathway
    measures = measures_file.measures if measures_file is not None else None
    for finding in check_all(clinic, measures, pathways):
        problems.append(_from_finding(directory, finding, docs))
    if problems:
        raise ConfigError(problems)
    assert clinic is not None and measures is not None
    return Config(clinic=clinic, measures=dict(measures), pathways=pathways)


def _display(directory: Path, label: str) -> str:
    return str(directory / label)


def _read_yaml(path: Path, label: str, problems: list[ConfigProblem]) -> Any:
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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problems.append(ConfigProblem(shown, None, "(file)", None,
                                      f"not UTF-8 text (byte {error.start})",
                                      "save the file as UTF-8"))
        return None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problems.append(ConfigProblem(shown, line, "(yaml)", None,
                                      f"not valid YAML: {error.problem or error.context}",
                                      "check indentation, colons and quotes on that line"))
        return None


def _load_model(
    directory: Path, label: str, model: type[BaseModel], docs: dict[str, _Document],
    problems: list[ConfigProblem],
) -> Any:
    path = directory / f"{label}.yaml"
    data = _read_yaml(path, label, problems)
    if data is None:
        return None
    doc = _Document(label, data)
    docs[label] = doc
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(path), 1, "(top level)", None,
                                      "expected a mapping of keys to values",
                                      "start the file with key: value lines"))
        return None
    try:
        return model.model_validate(_plain(data))
    except ValidationError as error:
        for detail in error.errors():
            problems.append(_from_pydantic(path, doc, model, detail))
        return None


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers → plain dicts and lists for pydantic."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _from_pydantic(
    path: Path, doc: _Document, model: type[BaseModel], detail: ErrorDetails
) -> ConfigProblem:
    loc = tuple(part for part in detail["loc"] if not _is_validator_tag(part))
    field = _dotted(loc) or "(top level)"
    line = doc.line_of(loc)
    kind = detail["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
        return ConfigProblem(str(path), line, field, None, "unknown key", hint)
    if kind == "missing":
        return ConfigProblem(str(path), line, field, None, "required field is missing",
                             f"add {loc[-1]}: …")
    message = detail["msg"].removeprefix("Value error, ")
    value = doc.value_at(loc)
    return ConfigProblem(str(path), line, field, value, message, _hint_for(kind))


def _is_validator_tag(part: str | int) -> bool:
    return isinstance(part, str) and (part.startswith("function-") or "[" in part)


def _hint_for(kind: str) -> str:
    return {
        "string_pattern_mismatch": "use lower-case letters, digits, - and _ for ids; "
        "a plain single line for names; name@host.tld for emails",
        "int_parsing": "write a whole number",
        "float_parsing": "write a number",
        "date_from_datetime_parsing": "write a date as YYYY-MM-DD",
        "date_parsing": "write a date as YYYY-MM-DD",
        "time_parsing": "write a time as HH:MM",
        "literal_error": "use one of the values listed",
        "greater_than_equal": "raise the value",
        "less_than_equal": "lower the value",
    }.get(kind, "")


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts, for a did-you-mean hint."""
    current: Any = model
    for part in loc:
        current = _step_into(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or name for name, f in current.model_fields.items())
    return []


def _step_into(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if part in (name, field.alias):
                return _unwrap(field.annotation)
        return None
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return _unwrap(typing.get_args(annotation)[-1])
    return None


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        real = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(real[0]) if len(real) == 1 else annotation
    return annotation


def _from_finding(directory: Path, finding: Finding, docs: dict[str, _Document]) -> ConfigProblem:
    doc = docs.get(finding.file)
    line = doc.line_of(finding.path) if doc else None
    return ConfigProblem(str(directory / f"{finding.file}.yaml"), line, _dotted(finding.path),
                         finding.value, finding.message, finding.hint)


