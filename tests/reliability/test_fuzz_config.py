"""Fuzzing the config loader: whatever an admin's editor leaves in the files, loading ends in
a ``Config`` or a ``ConfigError`` — never another exception."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fuzzing import fuzz_settings, yaml_values
from hypothesis import given
from hypothesis import strategies as st
from ruamel.yaml import YAML

from carepath.config.cache import load_config_cached
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.domain.config.models import Config
from carepath.errors import ConfigError

SOURCE = bundled_config_dir()
FILES = ("clinic", "measures", "pathways/post-relapse", "pathways/stable-boosters",
         "pathways/progression-review")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a parsed YAML document, containers included."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, child in items:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _load(label: str) -> Any:
    return YAML(typ="rt").load((SOURCE / f"{label}.yaml").read_text(encoding="utf-8"))


PATHS = {label: _paths(_load(label)) for label in FILES}
mutations = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(FILES), st.integers(0, 10**6), yaml_values),
    st.tuples(st.just("delete"), st.sampled_from(FILES), st.integers(0, 10**6), st.none()),
    st.tuples(st.just("rename"), st.sampled_from(FILES), st.integers(0, 10**6),
              st.text(max_size=16)),
    st.tuples(st.just("bytes"), st.sampled_from(FILES), st.integers(0, 10**6),
              st.binary(max_size=400)),
    st.tuples(st.just("splice"), st.sampled_from(FILES), st.integers(0, 10**6),
              st.binary(min_size=1, max_size=40)),
)


def _apply(folder: Path, mutation: tuple[str, str, int, Any]) -> None:
    kind, label, pick, value = mutation
    file = folder / f"{label}.yaml"
    if kind == "bytes":
        file.write_bytes(value)
        return
    if kind == "splice":
        data = file.read_bytes()
        at = pick % (len(data) + 1)
        file.write_bytes(data[:at] + value + data[at:])
        return
    document = _load(label)
    path = PATHS[label][pick % len(PATHS[label])]
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if kind == "set":
        parent[last] = value
    elif kind == "delete":
        del parent[last]
    elif isinstance(parent, dict):  # rename a mapping key, keeping its value
        parent[value] = parent.pop(last)
    with file.open("w", encoding="utf-8") as stream:
        YAML(typ="rt").dump(document, stream)


@fuzz_settings(quick=15, full=600)
@given(st.lists(mutations, min_size=1, max_size=3))
def test_a_mutated_config_loads_or_is_a_config_error(mutation_list: list[Any]) -> None:
    """Random values, deleted and renamed keys, random bytes: a Config or a ConfigError."""
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "config"
        shutil.copytree(SOURCE, folder)
        for mutation in mutation_list:
            _apply(folder, mutation)
        try:
            loaded = load_config(folder)
        except ConfigError as error:
            assert error.problems and all(str(p) for p in error.problems)
            return
        assert isinstance(loaded, Config)
        cache = Path(temp) / "cache"  # what the next command reads back is the same config
        first, again = (load_config_cached(folder, cache, year=2027) for _ in range(2))
        assert first == again == loaded


def test_the_unmutated_example_loads() -> None:
    """The fuzzer's starting point is a valid config (else every case would be an error)."""
    assert load_config(SOURCE).clinic.timezone == "America/New_York"


@pytest.mark.parametrize("label", FILES)
def test_every_file_has_paths_to_mutate(label: str) -> None:
    """Each file contributes key paths, so mutations reach every file."""
    assert len(PATHS[label]) > 5
