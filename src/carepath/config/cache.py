"""A checked config kept between commands: the same files and the same code load it as JSON.

Reading a config folder the full way (ruamel's round-trip YAML, which keeps every value's
line for the messages, then pydantic, then the cross-checks, which load the holiday
calendars) is about a sixth of a second, most of what a short command such as
``carepath appointments list`` spends after its imports. A load that passed every check is
written to the home's ``cache/`` folder as JSON under a key made of every config file's
digest and of the code that reads and checks them; a later command with the same key
validates that JSON with the same pydantic models (about a millisecond) instead.

Beside it, under the same key, the clinic's public holidays from last year to three years
ahead, as the holiday library computed them: a command that books or finds slots hands
them to the scheduling domain instead of importing the library's every country (another
tenth of a second); a year outside them is computed as before.

A key that differs (a file edited, another carepath), a missing, damaged or unreadable cache
file: the full load, whose result replaces the files. Errors are never cached, and
``carepath config validate`` always reads the files. The cache holds nothing the config
files do not (no patient data, no secret: those never live in config files) and is written
owner-only like the rest of the home.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from datetime import date
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from pydantic import ValidationError

from carepath import __version__
from carepath.config.files import Fingerprint, fingerprint
from carepath.domain.config.models import Config
from carepath.domain.public_holidays import public_holidays, remember

_PACKAGE = Path(__file__).resolve().parents[1]
_CODE = ("config", "domain")  # what reads, validates and checks a config
_LIBRARIES = ("pydantic", "pydantic_core", "holidays")  # what the checks lean on
HOLIDAY_YEARS = (-1, 3)  # the years kept beside the config, around the year it is read in


def load_config_cached(directory: Path, cache_dir: Path, *, year: int) -> Config:
    """``load_config(directory)``, from ``cache_dir`` when nothing it depends on changed;
    the clinic's public holidays around ``year`` are known to the scheduling domain after."""
    if not directory.is_dir():
        return _full_load(directory)  # its error names the folder
    key = cache_key(fingerprint(directory))[:32]
    config_file, holiday_file = cache_dir / f"config-{key}.json", cache_dir / f"holidays-{key}.json"
    config = _read(config_file)
    if config is not None:
        _remember_holidays(config, holiday_file)
        return config
    config = _full_load(directory)
    _keep(cache_dir, {config_file: config.model_dump_json(),
                      holiday_file: json.dumps(_holiday_years(config, year))})
    return config


def cache_key(files: Fingerprint) -> str:
    """The files' digests and this code's: the same key means the same checked result."""
    text = json.dumps([__version__, _code_signature(), files])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _code_signature() -> list[tuple[str, int, int]]:
    """Each source file of the config readers and the domain (whose models and checks
    decide what a config means) and of each library they lean on (an upgraded holiday
    calendar may know other subdivisions), by path, size and modification time; the
    libraries are found, not imported."""
    files = sorted(file for part in _CODE for file in (_PACKAGE / part).rglob("*.py"))
    files += [Path(origin) for name in _LIBRARIES if (origin := _origin(name))]
    return [(str(file), (stat := file.stat()).st_size, stat.st_mtime_ns) for file in files]


def _origin(module: str) -> str | None:
    spec = find_spec(module)
    return spec.origin if spec is not None else None


def _full_load(directory: Path) -> Config:
    from carepath.config.loader import load_config  # YAML and the holiday calendars: only now

    return load_config(directory)


def _read(file: Path) -> Config | None:
    try:
        return Config.model_validate_json(file.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None  # absent, or not what this code writes: load the files instead


def _holiday_years(config: Config, year: int) -> dict[str, dict[str, str]]:
    spec = config.clinic.holidays
    if spec is None:
        return {}
    first, last = HOLIDAY_YEARS
    return {str(y): {day.isoformat(): name for day, name in
                     public_holidays(spec.country, spec.subdivision, y).items()}
            for y in range(year + first, year + last + 1)}


def _remember_holidays(config: Config, file: Path) -> None:
    """Hand the kept tables to the domain; a file that cannot be read is left unused whole."""
    spec = config.clinic.holidays
    if spec is None:
        return
    try:
        years = {int(y): {date.fromisoformat(day): str(name) for day, name in table.items()}
                 for y, table in json.loads(file.read_bytes()).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return
    for y, table in years.items():
        remember(spec.country, spec.subdivision, y, table)


def _keep(folder: Path, texts: dict[Path, str]) -> None:
    """Replace the folder's kept files with these (each atomically: a command reading at the
    same moment sees the old file or the new, never half of one)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for file, text in texts.items():
            _replace(file, text)
        for stale in [*folder.glob("config-*.json"), *folder.glob("holidays-*.json")]:
            if stale not in texts:
                stale.unlink(missing_ok=True)
    except OSError:  # a read-only home only costs the next command time
        pass


def _replace(file: Path, text: str) -> None:
    partial = file.with_name(f".{file.name}.{os.getpid()}")
    try:
        partial.write_bytes(text.encode("utf-8"))
        os.chmod(partial, 0o600)
        os.replace(partial, file)
    finally:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
