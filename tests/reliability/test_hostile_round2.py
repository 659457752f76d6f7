"""The second round of hostile input (issue cases 5-7 and 9-12, and cases of our own):
importers that silently did something else, visit lengths, email addresses import and
sending disagreed on, secrets and terminal escapes, dates beyond the holiday data, direction
marks in names, formulas in CSV exports. Where the database is touched, both backends."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_support import Cli, assert_clean
from typer.testing import CliRunner

from availability import postgres_url
from carepath.domain.messages.mime import Mailbox
from carepath.domain.patients import parse_patient
from carepath.domain.text import printable, spreadsheet_cell
from carepath.errors import InputError


@dataclass
class BackendCli(Cli):
    """The CLI on one home, with its database on SQLite or a fresh PostgreSQL schema."""

    url: str = ""

    def env(self, **extra: str) -> dict[str, str]:
        base = super().env()
        if self.url:
            base["CAREPATH_DATABASE_URL"] = self.url
        return {**base, **extra}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           config_dir: Path) -> Iterator[BackendCli]:
    """Patients imported and one post-relapse episode booked, on each backend."""
    home = tmp_path_factory.mktemp("round2")
    if request.param == "sqlite":
        yield _ready(BackendCli(home, config_dir, CliRunner()))
        return
    from carepath.testing import postgres_schema

    with postgres_schema(postgres_url()) as url:
        yield _ready(BackendCli(home, config_dir, CliRunner(), url=url))


def _ready(cli: BackendCli) -> BackendCli:
    for args in (("patients", "import", str(cli.config_dir / "demo-patients.csv")),
                 ("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
    return cli


def _refused(result: object, *needles: str) -> str:
    assert_clean(result)  # type: ignore[arg-type]
    output = " ".join(result.output.split())  # type: ignore[attr-defined]
    assert result.exit_code not in (0, None), output  # type: ignore[attr-defined]
    for needle in needles:
        assert needle in output, output
    return output


def _count(cli: Cli, *args: str) -> int:
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return len(json.loads(result.output))


# ---- 5. importers: unknown, missing and extra columns --------------------------------------

IMPORTS = {  # name: (command, file text, what the one line must name)
    "appointments: therapist for therapist_id": (
        "appointments import",
        "patient_id,therapist,visit_type,start\nMRN1002,chen,treatment,2027-03-02T10:00\n",
        ["unknown column 'therapist'", "did you mean 'therapist_id'?",
         "missing column 'therapist_id'"]),
    "appointments: minuts for minutes": (
        "appointments import",
        "patient_id,therapist_id,visit_type,start,minuts\n"
        "MRN1002,chen,treatment,2027-03-02T10:00,30\n",
        ["unknown column 'minuts'", "did you mean 'minutes'?"]),
    "appointments: extra values on a row": (
        "appointments import",
        "patient_id,therapist_id,visit_type,start\n"
        "MRN1002,chen,treatment,2027-03-02T10:00,30,surplus\n",
        ["line 2: more values than columns"]),
    "appointments: a header alone with a typo": (
        "appointments import", "patient_id,therapist_id,visit_typ,start\n",
        ["unknown column 'visit_typ'", "did you mean 'visit_type'?"]),
    "appointments: Start capitalised": (
        "appointments import",
        "patient_id,therapist_id,visit_type,Start\nMRN1002,chen,treatment,2027-03-02T10:00\n",
        ["unknown column 'Start'", "did you mean 'start'?"]),
    "batch: pathway for pathway_id": (
        "enroll --batch", "patient_id,pathway,start\nMRN1002,stable-boosters,2027-03-01\n",
        ["unknown column 'pathway'", "did you mean 'pathway_id'?"]),
    "batch: therapist for therapist_id": (
        "enroll --batch",
        "patient_id,pathway_id,start,therapist\nMRN1002,stable-boosters,2027-03-01,chen\n",
        ["unknown column 'therapist'", "did you mean 'therapist_id'?"]),
    "batch: extra values on a row": (
        "enroll --batch",
        "patient_id,pathway_id,start\nMRN1002,stable-boosters,2027-03-01,chen\n",
        ["line 2: more values than columns"]),
    "measurements: valeu for value": (
        "measure import", "episode,measure,valeu\n1,t25fw,9.5\n",
        ["unknown column 'valeu'", "did you mean 'value'?"]),
    "measurements: extra values on a row": (
        "measure import", "episode,measure,value\n1,t25fw,9.5,10.5\n",
        ["line 2: more values than columns"]),
}


def _import(cli: Cli, command: str, path: Path) -> object:
    if command == "enroll --batch":
        return cli("enroll", "--batch", str(path))
    return cli(*command.split(), str(path))


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_an_import_with_a_wrong_column_names_it_and_imports_nothing(
        clinic: BackendCli, tmp_path: Path, name: str) -> None:
    command, text, needles = IMPORTS[name]
    before = _count(clinic, "appointments", "list")
    path = tmp_path / "in.csv"
    path.write_text(text)
    _refused(_import(clinic, command, path), "nothing imported", *needles)
    assert _count(clinic, "appointments", "list") == before


# ---- 6. appointments import: minutes ------------------------------------------------------

MINUTES = ["0", "-30", "45.0", "481", "99999999999999999999999", "4 5", "\u0664\u0665", "NaN",
           "1e2"]


@pytest.mark.parametrize("minutes", MINUTES)
def test_an_imported_visit_length_must_be_whole_minutes_up_to_eight_hours(
        clinic: BackendCli, tmp_path: Path, minutes: str) -> None:
    """Issue case 6: 0 imported a zero-length visit; -30 and 45.0 were tracebacks."""
    path = tmp_path / "in.csv"
    with path.open("w", newline="") as stream:
        csv.writer(stream).writerows([["patient_id", "therapist_id", "visit_type", "start",
                                       "minutes"],
                                      ["MRN1002", "chen", "treatment", "2027-03-02T10:00",
                                       minutes]])
    before = _count(clinic, "appointments", "list")
    _refused(clinic("appointments", "import", str(path)), "not a whole number from 1 to 480")
    assert _count(clinic, "appointments", "list") == before


# ---- 7. email addresses: import and sending agree -----------------------------------------

REFUSED_ADDRESSES = {
    "encoded word in the local part": "=?utf-8?q?Dr=20Who?=@example.org",
    "encoded word, base64": "=?utf-8?b?QWRtaW4=?=@example.org",
    "non-ASCII local part": "j\u00fcrgen@example.de",
    "non-ASCII domain": "anna@ex\u00e4mple.de",
    "Cyrillic look-alike": "p\u0430ypal@example.org",
    "no top-level domain": "a@example",
    "space": "a b@example.org",
    "quoted local part": "\"a b\"@example.org",
    "domain literal": "a@[127.0.0.1]",
    "local part of 65": "a" * 65 + "@example.org",
}
ACCEPTED_ADDRESSES = ["o.k+tag@example.org", "x_y-z@mail.example.co.uk", "A1@xn--bcher-kva.de"]


@pytest.mark.parametrize("label", sorted(REFUSED_ADDRESSES))
def test_an_address_sending_would_skip_is_refused_at_import(label: str) -> None:
    """Issue case 7: import accepted what every message then skipped (or misaddressed)."""
    address = REFUSED_ADDRESSES[label]
    patient, problems = parse_patient({"id": "E1", "name": "Eve Example", "email": address})
    assert patient is None and any("email" in p for p in problems), problems
    with pytest.raises(InputError):
        Mailbox(address, "Eve Example")


@pytest.mark.parametrize("address", ACCEPTED_ADDRESSES)
def test_an_address_import_accepts_is_one_sending_accepts(address: str) -> None:
    patient, problems = parse_patient({"id": "E1", "name": "Eve Example", "email": address})
    assert patient is not None and patient.email == address, problems
    assert Mailbox(address, "Eve Example").address.addr_spec == address


def test_an_encoded_word_cannot_reach_the_patients_table(clinic: BackendCli) -> None:
    _refused(clinic("patients", "add", "MRN3001", "--name", "Eve Example", "--email",
                    REFUSED_ADDRESSES["encoded word in the local part"]), "encoded word")
    _refused(clinic("patients", "show", "MRN3001"), "no patient")


# ---- 9. secrets and terminal escapes ------------------------------------------------------

@pytest.mark.parametrize("url", ["postgresql://carepath:hunter2@db.example/carepath",
                                 "postgresql://carepath@db.example/carepath?password=hunter2",
                                 "postgresql://carepath:@db.example/carepath"])
def test_a_password_inside_database_url_in_the_settings_file_is_refused(
        cli: Cli, tmp_path: Path, url: str) -> None:
    """Issue case 9: the README says passwords are refused there; this one was accepted."""
    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "{url}"\n')
    output = _refused(cli("db", "info", CAREPATH_SETTINGS_FILE=str(settings)),
                      "database_url: holds a password")
    assert "hunter2" not in output


def test_a_database_url_without_a_password_is_fine_in_the_settings_file(
        cli: Cli, tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'database_url = "sqlite:///{tmp_path}/x.db"\n')
    result = cli("db", "info", CAREPATH_SETTINGS_FILE=str(settings))
    assert result.exit_code == 0, result.output


ACTORS = {
    "terminal escape": "mallory\x1b[2J\x1b[31m",
    "forged line": "mallory\n2027-03-01T00:00:00Z  admin  patient.delete",
    "carriage return": "mallory\radmin",
    "C1 CSI": "mallory\x9b31m",
    "right-to-left override": "mallory\u202enimda",
    "right-to-left mark": "mallory\u200f",
}


@pytest.mark.parametrize("label", sorted(ACTORS))
def test_an_actor_with_control_characters_is_stored_and_shown_escaped(
        clinic: BackendCli, label: str) -> None:
    """Issue case 9: CAREPATH_ACTOR was stored raw and replayed by `carepath audit`."""
    actor = ACTORS[label]
    changed = clinic("patients", "add", "MRN3100", "--name", "Ann Actor", CAREPATH_ACTOR=actor)
    assert changed.exit_code == 0, changed.output
    expected = printable(actor)
    shown = clinic("audit", "--entity", "patient:MRN3100", "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)[-1]["actor"] == expected
    table = clinic("audit", "--entity", "patient:MRN3100")
    for raw in "\x1b\r\x9b\u202e\u200f":
        assert raw not in shown.output and raw not in table.output
    assert "\n2027-03-01T00:00:00Z  admin" not in table.output


def test_printed_json_escapes_what_json_dumps_leaves_raw() -> None:
    assert printable("a\x1b[31mb\u202ec\n") == "a\\x1b[31mb\\u202ec\\x0a"


# ---- 10. dates --------------------------------------------------------------------------

def test_a_measurement_in_year_one_is_refused_not_a_baseline(clinic: BackendCli) -> None:
    """Issue case 10: a year-1 measurement became the episode's baseline."""
    _refused(clinic("measure", "record", "1", "t25fw", "9.5", "--at", "0001-01-01T10:00"))
    _refused(clinic("measure", "record", "1", "t25fw", "9.5", "--at", "2026-01-05T10:00"),
             "is before episode 1")


def test_an_imported_measurement_long_before_the_episode_is_refused(
        clinic: BackendCli, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("episode,measure,value,at\n1,t25fw,9.5,1999-03-01T10:00-05:00\n")
    _refused(clinic("measure", "import", str(path)), "is before episode 1", "nothing imported")


DATES = {  # command: the one line must say the holiday data ends in 2100
    "enrol after 2100": ("enroll", "MRN1002", "stable-boosters", "--start", "2101-01-03"),
    "enrol running past 2100": ("enroll", "MRN1002", "stable-boosters", "--start",
                                "2100-11-01"),
    "leave after 2100": ("therapists", "leave", "chen", "--from", "2101-01-03", "--to",
                         "2101-01-04"),
    "leave ending after 2100": ("therapists", "leave", "chen", "--from", "2100-12-30",
                                "--to", "2101-01-04"),
    "plan after 2100": ("pathways", "show", "post-relapse", "--start", "2101-01-03"),
}


@pytest.mark.parametrize("name", sorted(DATES))
def test_dates_beyond_the_holiday_data_are_refused_and_say_so(
        clinic: BackendCli, name: str) -> None:
    _refused(clinic(*DATES[name]), "2100-12-31")


def test_a_batch_row_beyond_the_holiday_data_is_refused(
        clinic: BackendCli, tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("patient_id,pathway_id,start\nMRN1003,stable-boosters,2101-01-03\n")
    _refused(clinic("enroll", "--batch", str(path)), "2100-12-31", "nothing booked")


def test_an_imported_appointment_beyond_the_holiday_data_is_refused(
        clinic: BackendCli, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("patient_id,therapist_id,visit_type,start\n"
                    "MRN1002,chen,treatment,2101-01-04T10:00\n")
    _refused(clinic("appointments", "import", str(path)), "2100-12-31")


# ---- 11. names -------------------------------------------------------------------------

MARKS = {"right-to-left mark": "\u200f", "left-to-right mark": "\u200e",
         "Arabic letter mark": "\u061c", "right-to-left override": "\u202e",
         "first strong isolate": "\u2068"}


@pytest.mark.parametrize("label", sorted(MARKS))
def test_a_direction_character_in_a_name_is_refused(clinic: BackendCli, label: str) -> None:
    """Issue case 11: RLM and ALM were accepted though the error says they are refused."""
    _refused(clinic("patients", "add", "MRN3200", "--name", f"Ann{MARKS[label]} Example"),
             "text-direction characters")


@pytest.mark.parametrize("label", ["right-to-left mark", "Arabic letter mark"])
def test_a_direction_mark_in_the_clinic_name_is_a_config_error(
        cli: Cli, tmp_path: Path, label: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(cli.config_dir, config)
    clinic_yaml = config / "clinic.yaml"
    text = clinic_yaml.read_text()
    first_name = next(line for line in text.splitlines() if line.strip().startswith("name:"))
    clinic_yaml.write_text(text.replace(first_name, first_name + MARKS[label], 1))
    _refused(cli("config", "validate", CAREPATH_CONFIG_DIR=str(config)), "clinic.yaml")


# ---- 12. CSV exports --------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://evil.example\",\"x\")",
                                   "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"])
def test_a_cell_that_would_start_a_formula_is_exported_as_text(value: str) -> None:
    assert spreadsheet_cell(value) == "'" + value
    assert spreadsheet_cell(-30) == -30 and spreadsheet_cell("2027-03-01") == "2027-03-01"


def test_a_formula_in_a_configured_visit_name_is_escaped_in_the_csv_export(
        tmp_path: Path, config_dir: Path) -> None:
    """Issue case 12: a visit name from the configuration went out as a live formula."""
    config = tmp_path / "config"
    shutil.copytree(config_dir, config)
    pathway = config / "pathways" / "post-relapse.yaml"
    pathway.write_text(pathway.read_text().replace(
        "name: Initial evaluation", "name: \"=HYPERLINK(\\\"http://evil.example\\\")\"", 1))
    cli = Cli(tmp_path / "home", config, CliRunner())
    for args in (("patients", "import", str(config / "demo-patients.csv")),
                 ("enroll", "MRN1001", "post-relapse", "--start", "2027-03-01")):
        assert cli(*args).exit_code == 0, cli(*args).output
    exported = cli("appointments", "export", "--format", "csv")
    assert exported.exit_code == 0, exported.output
    names = [row["visit_name"] for row in csv.DictReader(io.StringIO(exported.output))]
    assert "'=HYPERLINK(\"http://evil.example\")" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)
