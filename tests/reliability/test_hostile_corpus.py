"""Every case of the hostile-input corpus gets a clear error or correct handling: never a
traceback, never a half-written import (see ``hostile_inputs`` for the table)."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from datetime import date, time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hostile_inputs import CASES, LOADS, MARKUP, NONEXISTENT, REJECTED, STORED, Case
from reliability_support import Cli, assert_clean, count
from ruamel.yaml import YAML
from typer.testing import CliRunner

from carepath.adapters.tables import AuditRow, PatientRow
from carepath.config.cache import load_config_cached
from carepath.config.loader import load_config
from carepath.domain.timeutil import NonexistentLocalTime, local_datetime, to_utc
from carepath.errors import ConfigError, InputError
from carepath.services import App
from carepath.services.patients import add_patient, get_patient, import_patients

BASE_PATIENT = {"id": "MRN-H1", "name": "Ann Lee", "email": "ann@example.org"}


def _cases(target: str) -> list[Any]:
    return [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else [])
            for c in CASES if c.target == target]


def test_the_corpus_has_at_least_a_hundred_distinct_named_cases() -> None:
    """The corpus is large enough to mean something, and every case is named once."""
    names = [case.name for case in CASES]
    assert len(names) >= 100
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("case", _cases("patient"))
def test_a_hostile_patient_field_is_stored_exactly_or_refused_whole(
    case: Case, backend_app: App
) -> None:
    """A patient value is kept byte for byte, or refused with an InputError writing nothing."""
    ident = "H" + hashlib.sha1(case.name.encode()).hexdigest()[:12]  # one shared database
    fields = {**BASE_PATIENT, "id": ident, **case.payload}
    before = (count(backend_app, PatientRow), count(backend_app, AuditRow))
    if case.expect == REJECTED:
        with pytest.raises(InputError):
            add_patient(backend_app, fields)
        assert (count(backend_app, PatientRow), count(backend_app, AuditRow)) == before
        return
    assert case.expect == STORED
    patient, created = add_patient(backend_app, fields)
    assert created and get_patient(backend_app, patient.id) == patient
    assert patient.name == fields["name"].strip()


@pytest.mark.parametrize("label", sorted(MARKUP))
def test_markup_in_a_name_is_shown_literally_by_the_cli(label: str, module_cli: Cli) -> None:
    """A name with markup is stored as-is and printed as text, never interpreted."""
    name, cli = MARKUP[label], module_cli
    ident = "M" + hashlib.sha1(label.encode()).hexdigest()[:12]
    assert_clean(added := cli("patients", "add", ident, "--name", name))
    assert added.exit_code == 0
    shown = cli("patients", "show", ident)
    assert_clean(shown)
    assert name in shown.output
    as_json = cli("patients", "show", ident, "--format", "json")
    assert json.loads(as_json.stdout)[0]["name"] == name


@pytest.mark.parametrize("case", _cases("csv"))
def test_a_hostile_csv_imports_correctly_or_not_at_all(
    case: Case, backend_app: App, tmp_path: Path
) -> None:
    """A CSV either imports exactly its rows or raises InputError having written nothing."""
    file = tmp_path / "patients.csv"
    file.write_bytes(case.payload() if callable(case.payload) else case.payload)
    before = (count(backend_app, PatientRow), count(backend_app, AuditRow))
    if case.expect == REJECTED:
        with pytest.raises(InputError):
            import_patients(backend_app, file)
        assert (count(backend_app, PatientRow), count(backend_app, AuditRow)) == before
        return
    result = import_patients(backend_app, file)
    assert result.created == case.expect and not result.skipped
    assert count(backend_app, PatientRow) == before[0] + case.expect


@cache
def _example(path: Path) -> Any:
    """A file of the example config, parsed once (a case edits a deep copy of it)."""
    return YAML(typ="rt").load(path.read_text(encoding="utf-8"))


def _config_copy(source: Path, target: Path, payload: tuple[Any, ...]) -> None:
    shutil.copytree(source, target)
    kind, label, *rest = payload
    path = target / f"{label}.yaml"
    if kind == "file":
        path.write_bytes(rest[0])
        return
    keys, value = rest
    yaml = YAML(typ="rt")
    document = copy.deepcopy(_example(source / f"{label}.yaml"))
    node = document
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(document, stream)


def _read_back(config: Any, label: str, keys: tuple[Any, ...]) -> Any:
    node = {"clinic": config.clinic, "measures": config}.get(label)
    if node is None:
        node = config.pathways[label.removeprefix("pathways/")]
    for key in keys:
        if isinstance(node, dict) or isinstance(key, int):
            node = node[key]
        else:
            node = getattr(node, "from_" if key == "from" else key)
    return node


@pytest.mark.parametrize("case", _cases("config"))
def test_a_hostile_config_loads_as_written_or_is_a_config_error(
    case: Case, config_dir: Path, tmp_path: Path
) -> None:
    """The loader returns a Config keeping the value, or a ConfigError naming the file."""
    folder = tmp_path / "config"
    _config_copy(config_dir, folder, case.payload)
    label = case.payload[1]
    if case.expect == REJECTED:
        with pytest.raises(ConfigError) as error:
            load_config(folder)
        assert f"{label}.yaml" in str(error.value)
        return
    assert case.expect == LOADS
    loaded = load_config(folder)
    _, _, keys, value = case.payload
    assert str(_read_back(loaded, label, keys)) == str(value)
    cache = tmp_path / "cache"  # the next command reads back the same value from the cache
    first, again = (load_config_cached(folder, cache, year=2027) for _ in range(2))
    assert first == again == loaded


@pytest.mark.parametrize("field", ["clinic name", "pathway name", "visit type name"])
def test_markup_in_config_text_is_printed_literally(
    field: str, cli: Cli, config_dir: Path, tmp_path: Path
) -> None:
    """Rich markup in a clinic or pathway name is text in CLI output, not a crash."""
    from hostile_inputs import CONFIG_TEXT_FIELDS

    text = MARKUP["rich markup"]
    folder = tmp_path / "config"
    _config_copy(config_dir, folder, ("set", *CONFIG_TEXT_FIELDS[field], text))
    env = {"CAREPATH_CONFIG_DIR": str(folder)}
    for args in (("config", "validate", str(folder)),
                 ("pathways", "show", "post-relapse", "--start", "2027-03-01"),
                 ("pathways", "list")):
        result = cli(*args, **env)
        assert_clean(result)
        assert result.exit_code == 0, result.output
    shown = cli("pathways", "show", "post-relapse", "--start", "2027-03-01", **env).output
    validated = cli("config", "validate", str(folder), **env).output
    assert text in shown + validated or field == "visit type name"


@pytest.mark.parametrize("case", _cases("cli"))
def test_hostile_cli_arguments_end_with_an_exit_code_not_a_traceback(
    case: Case, module_cli: Cli
) -> None:
    """Odd dates, ids and options give a one-line error and the documented exit code."""
    result = module_cli(*case.payload)
    assert_clean(result)
    assert result.exit_code == case.expect, result.output


@pytest.fixture(scope="module")
def booked_cli(tmp_path_factory: pytest.TempPathFactory, config_dir: Path) -> Cli:
    """A home with the demo patients and MRN1001's episode booked from 2027-03-01."""
    cli = Cli(tmp_path_factory.mktemp("booked-home"), config_dir, CliRunner())
    assert cli("patients", "import", str(config_dir / "demo-patients.csv")).exit_code == 0
    enrolled = cli("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01")
    assert enrolled.exit_code == 0, enrolled.output
    return cli


@pytest.mark.parametrize("case", _cases("booked"))
def test_hostile_times_and_ids_against_real_bookings_end_cleanly(
    case: Case, booked_cli: Cli
) -> None:
    """DST-night times, impossible dates and odd ids reach real records: one clear line."""
    result = booked_cli(*case.payload)
    assert_clean(result)
    assert result.exit_code == case.expect, result.output


@pytest.mark.parametrize("case", _cases("local_time"))
def test_local_times_on_dst_nights_mean_one_instant_or_a_clear_refusal(case: Case) -> None:
    """A skipped local time is refused (strict) or moved past the gap; a doubled one is the
    first occurrence, as calendar clients read it."""
    day, at, zone, *mode = case.payload
    args = (date.fromisoformat(day), time.fromisoformat(at), ZoneInfo(zone))
    if case.expect == NONEXISTENT:
        with pytest.raises(NonexistentLocalTime):
            local_datetime(*args)
        return
    assert mode == []
    assert to_utc(local_datetime(*args, shift_gap=True)).isoformat() == case.expect


def test_markup_in_a_name_is_escaped_in_the_emails_it_reaches(cli: Cli) -> None:
    """A patient named with a script tag gets an HTML email showing it as text, and the
    therapist's invite shows only initials."""
    from email import message_from_bytes, policy

    name = MARKUP["script tag"]
    assert cli("patients", "add", "MRN-X1", "--name", name, "--email", "x@example.org"
               ).exit_code == 0
    assert cli("enroll", "MRN-X1", "stable-boosters", "--start", "2027-03-01").exit_code == 0
    assert cli("dispatch").exit_code == 0
    bodies = []
    for file in (cli.home / "mail").glob("*.eml"):
        message = message_from_bytes(file.read_bytes(), policy=policy.default)
        to = message["To"].addresses[0]
        assert to.display_name in ("", name) or "riverside" in to.addr_spec  # quoted, whole
        bodies += [(to.addr_spec, part.get_content_type(), part.get_content())
                   for part in message.walk() if part.get_content_maintype() == "text"]
    html = [text for to, kind, text in bodies if to == "x@example.org" and kind == "text/html"]
    assert html and all("<script>" not in text for text in html)
    assert any("&lt;script&gt;" in text for text in html)
    assert all("<script>" not in text for _, kind, text in bodies if kind == "text/html")
