"""Read a config directory into a checked ``Config``, reporting every problem at once.

Files are read by ``config_yaml`` (which keeps each value's line), shapes checked by
pydantic (worded for admins by ``config_messages``), cross-file rules by
``domain.config_checks``; all become ``ConfigProblem``s carrying file, line, field path,
value and a hint. A file that cannot be read at all (not UTF-8, not YAML, empty) is one
problem; the other files are still checked, and a clinic with a shape error still lends
its readable sections to the cross-checks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from carepath.config.files import Fingerprint, fingerprint, pathway_files
from carepath.config.messages import dotted, problems_from, shown_value
from carepath.config.yaml_source import (
    Document,
    Unreadable,
    plain,
    read_yaml,
)
from carepath.domain.config.checks import ClinicParts, Finding, check_all, clinic_parts
from carepath.domain.config.models import Clinic, Config, MeasuresFile, Pathway
from carepath.errors import ConfigError, ConfigProblem


def load_config(directory: Path) -> Config:
    """Load and check ``clinic.yaml``, ``measures.yaml`` and ``pathways/*.yaml``.

    Raises ``ConfigError`` listing every problem found, never the first one only. A folder
    whose files are byte for byte those of an earlier call in this process gives that call's
    ``Config`` (frozen) without parsing again: serve, the web app and a test run open the app
    many times, and parsing YAML is most of what opening costs. Errors are never cached.
    """
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(str(directory), None, "(directory)", None,
                                         "config directory not found",
                                         "pass the folder holding clinic.yaml, or set "
                                         "CAREPATH_CONFIG_DIR")])
    return _load_unchanged(directory, fingerprint(directory))


@lru_cache(maxsize=8)
def _load_unchanged(directory: Path, files: Fingerprint) -> Config:
    del files  # the cache key: the same bytes give the same Config
    return _load(directory)


def _load(directory: Path) -> Config:
    problems: list[ConfigProblem] = []
    docs: dict[str, Document] = {}
    clinic = _load_model(directory, "clinic", Clinic, docs, problems)
    measures_file = _load_model(directory, "measures", MeasuresFile, docs, problems)
    pathways, stems = _load_pathways(directory, docs, problems)
    measures = measures_file.measures if measures_file is not None else None
    findings = check_all(clinic if clinic is not None else _clinic_parts(docs),
                         measures if measures is not None else _measure_ids(docs),
                         pathways, known_pathways=stems)
    problems += [_from_finding(directory, finding, docs) for finding in findings]
    if problems:
        raise ConfigError(sorted(problems, key=_reading_order))
    assert clinic is not None and measures is not None
    return Config(clinic=clinic, measures=dict(measures), pathways=pathways)


def _reading_order(problem: ConfigProblem) -> tuple[int, str, int]:
    """Clinic, then measures, then pathways by name; within a file, top to bottom."""
    name = Path(problem.file).name
    group = {"clinic.yaml": 0, "measures.yaml": 1}.get(name, 2)
    return group, problem.file, problem.line or 0


def _load_pathways(
    directory: Path, docs: dict[str, Document], problems: list[ConfigProblem]
) -> tuple[dict[str, Pathway], list[str]]:
    pathway_dir = directory / "pathways"
    files = pathway_files(directory)
    if not files:
        problems.append(ConfigProblem(str(pathway_dir), None, "(directory)", None,
                                      "no pathway files found",
                                      "add at least one pathways/<id>.yaml"))
    pathways: dict[str, Pathway] = {}
    for file in files:
        pathway = _load_model(directory, f"pathways/{file.stem}", Pathway, docs, problems)
        if pathway is not None:
            pathways[file.stem] = pathway
    return pathways, [file.stem for file in files]


def _clinic_parts(docs: dict[str, Document]) -> ClinicParts | None:
    """What a clinic.yaml with a shape error can still tell the cross-checks."""
    doc = docs.get("clinic")
    return clinic_parts(plain(doc.data)) if doc and isinstance(doc.data, dict) else None


def _measure_ids(docs: dict[str, Document]) -> list[str] | None:
    """The measure ids of a measures.yaml with a shape error: its keys are still the ids."""
    doc = docs.get("measures")
    if doc and isinstance(doc.data, dict) and isinstance(doc.data.get("measures"), dict):
        return [str(key) for key in doc.data["measures"]]
    return None


def _load_model(
    directory: Path, label: str, model: type[BaseModel], docs: dict[str, Document],
    problems: list[ConfigProblem],
) -> Any:
    path = directory / f"{label}.yaml"
    data = read_yaml(path, problems)
    if data is None:
        return None
    doc = Document(label, data)
    if not isinstance(data, dict):
        problems.append(ConfigProblem(str(path), 1, "(top level)", None,
                                      "expected a mapping of keys to values",
                                      "start the file with key: value lines"))
        return None
    try:
        values = plain(data)
    except Unreadable as error:
        problems.append(ConfigProblem(str(path), error.line, "(yaml)", None, str(error),
                                      error.hint))
        return None
    docs[label] = doc
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems.extend(problems_from(str(path), model, error.errors(), doc.line_of,
                                      doc.value_at))
        return None


def _from_finding(directory: Path, finding: Finding, docs: dict[str, Document]) -> ConfigProblem:
    doc = docs.get(finding.file)
    line = doc.line_of(finding.path) if doc else None
    return ConfigProblem(str(directory / f"{finding.file}.yaml"), line, dotted(finding.path),
                         shown_value(finding.value), finding.message, finding.hint)
