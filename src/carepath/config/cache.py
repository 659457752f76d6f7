"""A checked config kept between commands: the same files and the same code load it as JSON.

Reading a config folder the full way (ruamel's round-trip YAML, which keeps every value's
line for the messages, then pydantic, then the cross-checks, which load the holiday
calendars) is about a sixth of a second, most of what a short command such as
``carepath appointments list`` spends after its imports. A load that passed every check is
written to the home's ``cache/`` folder as JSON under a key made of every config file's
digest and of the code that reads and checks them; a later command with the same key
validates that JSON with the same pydantic models (about a millisecond) instead.

A key that differs (a file edited, another carepath), a missing, damaged or unreadable cache
file: the full load, whose result replaces the file. Errors are never cached, and
``carepath config validate`` always reads the files. The cache holds nothing the config
files do not (no patient data, no secret: those never live in config files) and is written
owner-only like the rest of the home.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import suppress
from functools import cache
from importlib.util import find_spec
from pathlib import Path

from pydantic import ValidationError

from carepath import __version__
from carepath.config.files import Fingerprint, fingerprint
from carepath.domain.config.models import Config

_PACKAGE = Path(__file__).resolve().parents[1]
_CODE = ("config", "domain")  # what reads, validates and checks a config
_LIBRARIES = ("pydantic", "pydantic_core", "holidays")  # what the checks lean on


def load_config_cached(directory: Path, cache_dir: Path) -> Config:
    """``load_config(directory)``, from ``cache_dir`` when nothing it depends on changed."""
    if not directory.is_dir():
        return _full_load(directory)  # its error names the folder
    key = cache_key(fingerprint(directory))
    file = cache_dir / f"config-{key[:32]}.json"
    return _read(file) or _write(file, _full_load(directory))


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


def _write(file: Path, config: Config) -> Config:
    """Replace the folder's cached configs with this one (atomically: a command reading at
    the same moment sees the old file or the new, never half of one)."""
    partial = file.with_name(f".{file.name}.{os.getpid()}")
    try:
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial.write_bytes(config.model_dump_json().encode("utf-8"))
        os.chmod(partial, 0o600)
        os.replace(partial, file)
        for stale in file.parent.glob("config-*.json"):
            if stale != file:
                stale.unlink(missing_ok=True)
    except OSError:  # a read-only home only costs the next command time
        with suppress(OSError):
            partial.unlink(missing_ok=True)
    return config
