"""The hostile-input corpus: named cases a clinic will meet sooner or later, as one table.

Each case names a target (what it is fed to), a payload and what must happen:

- ``patient``: fields for ``add_patient`` → ``STORED`` (read back exactly, shown literally by
  the CLI) or ``REJECTED`` (an ``InputError``, nothing written).
- ``csv``: a file's bytes for ``import_patients`` → the number of patients created, or
  ``REJECTED`` (an ``InputError``, no row and no audit entry written).
- ``config``: a change to the example config → ``LOADS`` (the value kept as written) or
  ``REJECTED`` (a ``ConfigError`` naming the file).
- ``cli``: arguments to ``carepath`` → the exit code; never a traceback.
- ``booked``: the same, in a home where MRN1001's post-relapse episode is booked from
  2027-03-01 (appointment 1 is its evaluation), for times and ids that reach real records.
- ``local_time``: (date, wall-clock time, zone) for ``parse_instant`` → the UTC instant it
  means, or ``NONEXISTENT`` when strict conversion must refuse it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

STORED, REJECTED, LOADS, NONEXISTENT = "stored", "rejected", "loads", "nonexistent"
HEADER = ("id,name,email,phone,preferred_weekdays,time_windows,heat_sensitive,caregiver_email,"
          "caregiver_consent,physician_email\n")

Target = Literal["patient", "csv", "config", "cli", "booked", "local_time"]


@dataclass(frozen=True)
class Case:
    name: str
    target: Target
    payload: Any
    expect: Any
    slow: bool = False  # runs in make reliability only

    def __str__(self) -> str:
        return self.name


def _csv(*rows: str, encoding: str = "utf-8") -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode(encoding)


def _good_rows(count: int) -> Callable[[], bytes]:
    return lambda: _csv(*(f"BULK{i:06d},Patient {i},p{i}@patients.example,,mon,,no,,no,"
                          for i in range(count)))


def _oversized() -> bytes:
    row = "BIG1,Ann Lee,,,,,no,,no," + " " * 1000 + "\n"
    return (HEADER + row * 21_000).encode()


# Markup, script and template text an attacker (or a careless copy-paste) puts in free text.
MARKUP = {
    "script tag": '<script>alert("x")</script>',
    "img onerror": "<img src=x onerror=alert(1)>",
    "rich markup": "[bold red]Riverside[/] [link=http://evil.example]x[/link]",
    "stray rich close tag": "Ann [/] Lee",
    "jinja expression": "{{ config.__class__.__mro__ }}",
    "jinja block": "{% for x in range(9) %}x{% endfor %}",
    "html entity": "Tom &amp; Jerry &lt;b&gt;",
    "javascript url": "javascript:alert(document.cookie)",
    "spreadsheet formula": "=HYPERLINK(\"http://evil.example\",\"x\")",
    "log4shell lookup": "${jndi:ldap://127.0.0.1/a}",
}
SQL = {
    "sql drop table": "Robert'); DROP TABLE patient;--",
    "sql tautology": "' OR '1'='1",
    "sql comment": "Ann -- ; /* x */",
    "sql union": "x' UNION SELECT id, name FROM patient --",
}
SCRIPTS = {
    "arabic rtl name": "محمد الأحمد",
    "hebrew rtl name": "דוד לוי",
    "mixed rtl and latin": "Ana ملك Silva",
    "emoji name": "Zoë 🙂 Smith",
    "zwj family emoji": "Kim 👨‍👩‍👧 Park",
    "combining diaeresis": "Zoe\u0308 Brontë",
    "cjk name": "山田 太郎",
    "devanagari name": "अनिल पटेल",
    "apostrophe and hyphen": "Seán O'Brien-Nuñez",
    "exactly 200 characters": "A" * 200,
}
LINE_BREAKS = {
    "crlf bcc injection": "Ann Lee\r\nBcc: everyone@evil.example",
    "lf header injection": "Ann Lee\nSubject: you won",
    "cr only": "Ann\rLee",
    "nul byte": "Ann\x00Lee",
    "tab": "Ann\tLee",
    "c1 next line": "Ann\x85Lee",
    "unicode line separator": "Ann\u2028Lee",
    "unicode paragraph separator": "Ann\u2029Lee",
    "bidi override (trojan source)": "Ann \u202egnp.exe",
    "bidi isolate": "Ann \u2066Lee\u2069",
    "lone surrogate": "Ann\ud800Lee",
    "escape sequence": "Ann\x1b[31mLee",
}
TOO_LONG = {
    "201 characters": "A" * 201,
    "ten thousand characters": "B" * 10_000,
    "one million characters": "C" * 1_000_000,
}


def _patient_cases() -> list[Case]:
    cases = [Case(f"patient name: {label}", "patient", {"name": value}, STORED)
             for label, value in {**MARKUP, **SQL, **SCRIPTS}.items()]
    cases += [Case(f"patient name: {label}", "patient", {"name": value}, REJECTED)
              for label, value in {**LINE_BREAKS, **TOO_LONG, "empty": ""}.items()]
    rejected_fields = {
        "email crlf bcc": {"email": "ann@example.org\r\nBcc: x@evil.example"},
        "email two addresses": {"email": "ann@example.org, x@evil.example"},
        "email display name": {"email": "Ann <ann@example.org>"},
        "email sql": {"email": "a'--@example.org"},
        "email 300 characters": {"email": "a" * 290 + "@example.org"},
        "caregiver email lf": {"caregiver_email": "c@example.org\nCc: x@evil.example"},
        "physician email crlf": {"physician_email": "dr@example.org\r\nTo: x@evil.example"},
        "phone crlf": {"phone": "555 0100\r\nX-Evil: 1"},
        "phone script": {"phone": "<script>1</script>"},
        "id sql tautology": {"id": "1' OR '1'='1"},
        "id path traversal": {"id": "../../etc/passwd"},
        "id 65 characters": {"id": "M" * 65},
        "id with space": {"id": "MRN 1"},
        "weekday unknown": {"preferred_weekdays": "funday"},
        "window past midnight": {"time_windows": "25:00-26:00"},
        "window backwards": {"time_windows": "11:00-09:00"},
        "window 30 february style": {"time_windows": "09:60-10:00"},
        "eighteen windows overflow the column": {
            "time_windows": ";".join(f"{h:02d}:00-{h:02d}:30" for h in range(6, 24))},
        "flag not yes/no": {"heat_sensitive": "maybe"},
        "consent without caregiver": {"caregiver_consent": "yes"},
    }
    cases += [Case(f"patient {label}", "patient", fields, REJECTED)
              for label, fields in rejected_fields.items()]
    cases.append(Case("patient every weekday spelled out", "patient",
                      {"preferred_weekdays": "Monday, Wednesday; friday"}, STORED))
    return cases


def _csv_cases() -> list[Case]:
    good = "GOOD1,Ann Lee,ann@example.org,,mon,,no,,no,"
    return [
        Case("csv latin-1 file", "csv", _csv("L1,Zoë Brontë,,,,,no,,no,", encoding="latin-1"),
             REJECTED),
        Case("csv utf-16 file", "csv", _csv("U1,Ann Lee,,,,,no,,no,", encoding="utf-16"),
             REJECTED),
        Case("csv utf-8 with bom", "csv", b"\xef\xbb\xbf" + _csv("B1,Ann Lee,,,,,no,,no,"), 1),
        Case("csv png bytes", "csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, REJECTED),
        Case("csv empty file", "csv", b"", REJECTED),
        Case("csv header only", "csv", _csv(), 0),
        Case("csv crlf line endings", "csv",
             _csv("C1,Ann Lee,,,,,no,,no,", "C2,Bo Ek,,,,,no,,no,").replace(b"\n", b"\r\n"), 2),
        Case("csv injected bcc in quoted name after a good row", "csv",
             _csv(good, 'INJ1,"Ann\r\nBcc: x@evil.example",,,,,no,,no,'), REJECTED),
        Case("csv nul byte after a good row", "csv", _csv(good, "NUL1,Ann\x00Lee,,,,,no,,no,"),
             REJECTED),
        Case("csv duplicate header column", "csv", b"id,name,id\nD1,Ann Lee,D2\n", REJECTED),
        Case("csv more values than columns", "csv", _csv(good, "X1,Ann,,,,,no,,no,,extra"),
             REJECTED),
        Case("csv same id twice", "csv", _csv(good, good), REJECTED),
        Case("csv unknown column", "csv", b"id,name,diagnosis\nU2,Ann Lee,MS\n", REJECTED),
        Case("csv unclosed quote", "csv", _csv(good, 'Q1,"Ann Lee,,,,,no,,no,'), REJECTED),
        Case("csv field beyond the csv module limit", "csv",
             _csv(good, 'F1,"' + "x" * 200_000 + '",,,,,no,,no,'), REJECTED),
        Case("csv sql and markup names are data", "csv",
             _csv("S1,\"Robert'); DROP TABLE patient;--\",,,,,no,,no,",
                  "S2,<script>alert(1)</script>,,,,,no,,no,",
                  "S3,=HYPERLINK(\"x\"),,,,,no,,no,"), 3),
        Case("csv rtl and emoji names", "csv",
             _csv("R1,محمد الأحمد,,,,,no,,no,", "R2,Zoë 🙂 Smith,,,,,no,,no,"), 2),
        Case("csv three thousand good rows", "csv", _good_rows(3_000), 3_000, slow=True),
        Case("csv over 20 MB", "csv", _oversized, REJECTED, slow=True),
    ]


CONFIG_TEXT_FIELDS: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "clinic name": ("clinic", ("name",)),
    "clinic address": ("clinic", ("address",)),
    "therapist name": ("clinic", ("therapists", 0, "name")),
    "room name": ("clinic", ("resources", 0, "name")),
    "closure reason": ("clinic", ("closures", 0, "reason")),
    "leave reason": ("clinic", ("therapists", 1, "leave", 0, "reason")),
    "measure name": ("measures", ("measures", "t25fw", "name")),
    "measure unit": ("measures", ("measures", "t25fw", "unit")),
    "measure source": ("measures", ("measures", "t25fw", "source")),
    "pathway name": ("pathways/post-relapse", ("name",)),
    "pathway description": ("pathways/post-relapse", ("description",)),
    "visit type name": ("pathways/post-relapse", ("visit_types", "evaluation", "name")),
}
CONFIG_PAYLOADS = {
    "script tag": MARKUP["script tag"],
    "rich markup": MARKUP["rich markup"],
    "jinja expression": MARKUP["jinja expression"],
    "sql drop table": SQL["sql drop table"],
    "rtl": SCRIPTS["arabic rtl name"],
    "emoji": SCRIPTS["emoji name"],
}


def _config_cases() -> list[Case]:
    cases = [Case(f"config {field}: {label}", "config", ("set", *where, value), LOADS)
             for field, where in CONFIG_TEXT_FIELDS.items()
             for label, value in CONFIG_PAYLOADS.items()]
    one_line = {f: w for f, w in CONFIG_TEXT_FIELDS.items() if f != "pathway description"}
    cases += [Case(f"config {field}: crlf injection", "config",
                   ("set", *where, "Riverside\r\nBcc: x@evil.example"), REJECTED)
              for field, where in one_line.items()]
    rejected = {
        "organizer email with bcc": ("clinic", ("organizer_email",),
                                     "s@riverside.example\r\nBcc: x@evil.example"),
        "therapist email two addresses": ("clinic", ("therapists", 0, "email"),
                                          "a@x.example, b@y.example"),
        "clinic name 201 characters": ("clinic", ("name",), "N" * 201),
        "time zone unknown": ("clinic", ("timezone",), "Mars/Olympus_Mons"),
        "time zone with a space": ("clinic", ("timezone",), "America/New York"),
        "time zone path traversal": ("clinic", ("timezone",), "../../../etc/passwd"),
        "time zone too long for a file name": ("clinic", ("timezone",), "A" * 5000),
        "time zone empty": ("clinic", ("timezone",), ""),
        "time zone a number": ("clinic", ("timezone",), 5),
        "time zone nul byte": ("clinic", ("timezone",), "America/New_York\x00"),
        "closure on 30 february": ("clinic", ("closures", 0, "date"), "2027-02-30"),
        "closure on 29 february 2027": ("clinic", ("closures", 0, "date"), "2027-02-29"),
        "closure in month 13": ("clinic", ("closures", 0, "date"), "2027-13-01"),
        "leave ending 31 april": ("clinic", ("therapists", 1, "leave", 0, "to"), "2027-04-31"),
        "opening hours 24:30": ("clinic", ("opening_hours", "mon"), ["07:30-24:30"]),
        "heat-safe time 25:00": ("clinic", ("heat_safe_before",), "25:00"),
        "capacity sql": ("clinic", ("resources", 0, "capacity"), "1; DROP TABLE resource"),
    }
    cases += [Case(f"config {label}", "config", ("set", file, path, value), REJECTED)
              for label, (file, path, value) in rejected.items()]
    cases += [
        Case("config time zone Etc/UTC", "config", ("set", "clinic", ("timezone",), "Etc/UTC"),
             LOADS),
        Case("config closure on 29 february 2028", "config",
             ("set", "clinic", ("closures", 0, "date"), "2028-02-29"), LOADS),
        Case("config clinic.yaml latin-1", "config",
             ("file", "clinic", "name: Clínica\n".encode("latin-1")), REJECTED),
        Case("config clinic.yaml utf-16", "config",
             ("file", "clinic", "name: Clinic\n".encode("utf-16")), REJECTED),
        Case("config clinic.yaml random bytes", "config",
             ("file", "clinic", bytes(range(256)) * 8), REJECTED),
        Case("config clinic.yaml over 1 MB", "config",
             ("file", "clinic", b"# padding\n" * 110_000), REJECTED),
        Case("config clinic.yaml nested 5,000 deep", "config",
             ("file", "clinic", b"a: " + b"[" * 5_000 + b"]" * 5_000), REJECTED, slow=True),
        Case("config clinic.yaml alias bomb", "config", ("file", "clinic", _alias_bomb()),
             REJECTED),
        Case("config clinic.yaml python object tag", "config",
             ("file", "clinic", b"!!python/object/apply:os.system ['true']\n"), REJECTED),
    ]
    return cases


def _alias_bomb() -> bytes:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        previous, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def _cli_cases() -> list[Case]:
    show = ("pathways", "show", "post-relapse", "--start")
    return [
        Case("cli start on 30 february", "cli", (*show, "2027-02-30"), 2),
        Case("cli start on 29 february 2027", "cli", (*show, "2027-02-29"), 2),
        Case("cli start on 29 february 2028", "cli", (*show, "2028-02-29"), 0),
        Case("cli start in month 13", "cli", (*show, "2027-13-01"), 2),
        Case("cli start on the last representable day", "cli", (*show, "9999-12-31"), 2),
        Case("cli start in year 1", "cli", (*show, "0001-01-01"), 2),
        Case("cli start empty", "cli", (*show, ""), 2),
        Case("cli start tomorrow in words", "cli", (*show, "tomorrow"), 2),
        Case("cli start on spring-forward night", "cli", (*show, "2027-03-14"), 0),
        Case("cli start on fall-back night", "cli", (*show, "2027-11-07"), 0),
        Case("cli pathway id sql", "cli", ("pathways", "show", "x' OR '1'='1", "--start",
                                           "2027-03-01"), 3),
        Case("cli patient show sql", "cli", ("patients", "show", "x' OR '1'='1"), 3),
        Case("cli patient show nul", "cli", ("patients", "show", "a\x00b"), 3),
        Case("cli patient show empty id", "cli", ("patients", "show", ""), 3),
        Case("cli format xml", "cli", ("patients", "list", "--format", "xml"), 2),
        Case("cli episode id beyond 64 bits", "cli",
             ("episodes", "complete", "99999999999999999999999"), 2),
        Case("cli episode id negative", "cli", ("episodes", "complete", "-1"), 2),
        Case("cli episode id words", "cli", ("episodes", "complete", "one"), 2),
        Case("cli runs limit beyond 64 bits", "cli",
             ("runs", "list", "--limit", "99999999999999999999"), 2),
        Case("cli add patient crlf name", "cli",
             ("patients", "add", "MRN9", "--name", "Ann\r\nBcc: x@evil.example"), 2),
        Case("cli add patient markup name", "cli",
             ("patients", "add", "MRN9", "--name", "[bold]<b>Ann</b>[/]"), 0),
        Case("cli import missing file", "cli", ("patients", "import", "/no/such/file.csv"), 2),
        Case("cli config validate on a file", "cli", ("config", "validate", "/etc/hostname"), 2),
        Case("cli db upgrade unknown revision", "cli", ("db", "upgrade", "nonsense"), 2),
        Case("cli audit since 30 february", "cli", ("audit", "--since", "2027-02-30"), 2),
        Case("cli audit entity wildcard", "cli", ("audit", "--entity", "%"), 0),
        Case("cli audit entity sql", "cli", ("audit", "--entity", "x' OR 1=1 --"), 0),
    ]


def _booked_cases() -> list[Case]:
    move = ("appointments", "reschedule", "1", "--to")
    return [
        Case("booked reschedule into the spring-forward gap", "booked",
             (*move, "2027-03-14T02:30"), 2),
        Case("booked reschedule to 30 february", "booked", (*move, "2027-02-30T10:00"), 2),
        Case("booked reschedule to a time written in words", "booked", (*move, "noon"), 2),
        Case("booked reschedule an appointment that does not exist", "booked",
             ("appointments", "reschedule", "999999", "--to", "2027-03-02T10:00"), 3),
        Case("booked enrol starting on the spring-forward night", "booked",
             ("enroll", "MRN1002", "post-relapse", "--start", "2027-03-14"), 0),
        Case("booked enrol into a pathway id that is sql", "booked",
             ("enroll", "MRN1003", "x' OR '1'='1", "--start", "2027-03-01"), 3),
        Case("booked enrol a patient id that is markup", "booked",
             ("enroll", "<b>x</b>", "post-relapse", "--start", "2027-03-01"), 3),
        Case("booked leave from 30 february", "booked",
             ("therapists", "leave", "alvarez", "--from", "2027-02-30", "--to", "2027-03-02"), 2),
        Case("booked leave ending before it starts", "booked",
             ("therapists", "leave", "alvarez", "--from", "2027-03-05", "--to", "2027-03-02"), 2),
        Case("booked slots from a time inside the gap", "booked",
             ("slots", "treatment", "--pathway", "post-relapse", "--from", "2027-03-14T02:30"), 2),
        Case("booked appointments from a doubled fall-back time", "booked",
             ("appointments", "list", "--from", "2027-11-07T01:30"), 2),
        Case("booked cancel with markup and crlf in the reason", "booked",
             ("appointments", "cancel", "2", "--reason", "<script>x</script>\r\nBcc: x@e.example"),
             0),
    ]


def _local_time_cases() -> list[Case]:
    ny, london = "America/New_York", "Europe/London"
    return [
        Case("spring-forward gap New York 02:30", "local_time",
             ("2027-03-14", "02:30", ny), "2027-03-14T07:30:00+00:00"),
        Case("fall-back fold New York 01:30 is the first (EDT)", "local_time",
             ("2027-11-07", "01:30", ny), "2027-11-07T05:30:00+00:00"),
        Case("day after spring-forward New York 09:00", "local_time",
             ("2027-03-15", "09:00", ny), "2027-03-15T13:00:00+00:00"),
        Case("spring-forward gap London 01:30", "local_time",
             ("2027-03-28", "01:30", london), "2027-03-28T01:30:00+00:00"),
        Case("fall-back fold London 01:30 is the first (BST)", "local_time",
             ("2027-10-31", "01:30", london), "2027-10-31T00:30:00+00:00"),
        Case("half-hour DST Lord Howe fold 01:45", "local_time",
             ("2027-04-04", "01:45", "Australia/Lord_Howe"), "2027-04-03T14:45:00+00:00"),
        Case("midnight gap Sao Paulo 2018 00:30", "local_time",
             ("2018-11-04", "00:30", "America/Sao_Paulo"), "2018-11-04T03:30:00+00:00"),
        Case("strict gap New York 02:30 refused", "local_time",
             ("2027-03-14", "02:30", ny, "strict"), NONEXISTENT),
        Case("strict gap London 01:00 refused", "local_time",
             ("2027-03-28", "01:00", london, "strict"), NONEXISTENT),
    ]


CASES: list[Case] = (_patient_cases() + _csv_cases() + _config_cases() + _cli_cases()
                     + _booked_cases() + _local_time_cases())
