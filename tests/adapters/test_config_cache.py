"""The checked config kept in the home between commands: never stale, never a substitute for
an error, and harmless when damaged (``carepath.config.cache``)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from carepath.config.cache import load_config_cached
from carepath.config.loader import load_config
from carepath.domain.config.models import Config
from carepath.errors import ConfigError

SAFE_BEFORE = 'heat_safe_before: "11:00"'


def cached(folder: Path, cache: Path) -> Config:
    """The config as a command in 2027 opens it."""
    return load_config_cached(folder, cache, year=2027)


@pytest.fixture
def folder(config_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "config"
    shutil.copytree(config_dir, copy)
    return copy


def _cached(cache: Path) -> list[Path]:
    return sorted(cache.glob("config-*.json"))


def test_the_checked_config_is_kept_owner_only_and_read_back_equal(
        folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "home" / "cache"
    first = cached(folder, cache)
    (kept,) = _cached(cache)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert cached(folder, cache) == first == load_config(folder)
    assert _cached(cache) == [kept]


def test_an_edit_is_read_at_once_and_replaces_the_kept_config(
        folder: Path, tmp_path: Path) -> None:
    """The same length, within the same clock tick: the key is the bytes, not a timestamp."""
    cache = tmp_path / "cache"
    cached(folder, cache)
    clinic = folder / "clinic.yaml"
    text = clinic.read_text(encoding="utf-8")
    clinic.write_text(text.replace(SAFE_BEFORE, 'heat_safe_before: "10:30"'), encoding="utf-8")
    edited = cached(folder, cache)
    assert edited.clinic.heat_safe_before.strftime("%H:%M") == "10:30"
    assert len(_cached(cache)) == 1  # the config of the old bytes is gone
    clinic.write_text(text, encoding="utf-8")
    assert cached(folder, cache).clinic.heat_safe_before.strftime("%H:%M") == "11:00"


def test_a_broken_edit_is_an_error_not_the_last_good_config(
        folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cached(folder, cache)
    clinic = folder / "clinic.yaml"
    clinic.write_text(clinic.read_text(encoding="utf-8").replace(
        SAFE_BEFORE, 'heat_safe_before: "25:00"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="heat_safe_before"):
        cached(folder, cache)
    with pytest.raises(ConfigError, match="heat_safe_before"):  # and again: errors are not kept
        cached(folder, cache)


@pytest.mark.parametrize("damage", [b"", b"\x00\xff garbage", b"[1, 2, 3]",
                                    b'{"clinic": {"name": "half a file"'])
def test_a_damaged_cache_file_is_read_past_and_rewritten(
        damage: bytes, folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = cached(folder, cache)
    (kept,) = _cached(cache)
    kept.write_bytes(damage)
    assert cached(folder, cache) == expected
    assert kept.read_bytes() == expected.model_dump_json().encode("utf-8")


def test_a_cache_that_cannot_be_written_only_costs_time(folder: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    assert cached(folder, blocked / "cache") == load_config(folder)
    assert blocked.read_text(encoding="utf-8").startswith("a file")


def test_a_missing_folder_is_the_loaders_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config directory not found"):
        cached(tmp_path / "nowhere", tmp_path / "cache")


def test_a_config_kept_under_another_key_is_never_read(folder: Path, tmp_path: Path) -> None:
    """Another carepath (or other files) kept a different config in the same home: this one
    reads its own files, and the other's is cleared when this one's is kept."""
    cache = tmp_path / "cache"
    real = cached(folder, cache)
    (kept,) = _cached(cache)
    other = real.model_copy(update={"clinic": real.clinic.model_copy(
        update={"name": "Another clinic"})})
    foreign = cache / "config-0123456789abcdef0123456789abcdef.json"
    foreign.write_text(other.model_dump_json(), encoding="utf-8")
    kept.unlink()
    assert cached(folder, cache).clinic.name == real.clinic.name != "Another clinic"
    assert _cached(cache) == [kept]


def test_the_clinics_holidays_are_kept_beside_it_as_the_library_computes_them(
        folder: Path, tmp_path: Path) -> None:
    import holidays

    cache = tmp_path / "cache"
    spec = cached(folder, cache).clinic.holidays
    assert spec is not None
    (kept,) = cache.glob("holidays-*.json")
    years = json.loads(kept.read_text(encoding="utf-8"))
    assert sorted(years) == ["2026", "2027", "2028", "2029", "2030"]  # last year to 3 ahead
    for year, table in years.items():
        library = holidays.country_holidays(spec.country, subdiv=spec.subdivision,
                                            years=int(year))
        assert table == {day.isoformat(): str(name) for day, name in library.items()}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    kept.write_bytes(b"{not json")  # damaged: the config still loads, the library answers
    assert cached(folder, cache) == load_config(folder)
