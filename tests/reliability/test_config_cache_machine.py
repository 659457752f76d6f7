"""The checked-config cache against random orders of what happens to a home: files edited
well or badly and restored, cache files damaged or deleted, commands opening the config. A
command must always see what a full read of the files gives — the same ``Config``, or the
same problems — whatever the cache holds."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fuzzing import fuzz_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from carepath.config.cache import load_config_cached
from carepath.config.loader import load_config
from carepath.config.resources import bundled_config_dir
from carepath.domain.config.models import Config
from carepath.errors import ConfigError

SAFE_BEFORE = 'heat_safe_before: "11:00"'
EDITS = {  # clinic.yaml's one line, as an admin might leave it
    "earlier": 'heat_safe_before: "10:30"',
    "later": 'heat_safe_before: "12:15"',
    "impossible": 'heat_safe_before: "25:00"',
    "not a time": "heat_safe_before: soon",
    "as it was": SAFE_BEFORE,
}
DAMAGE = [b"", b"{", b"[]", b"\x00\xff", b'{"clinic": {}}', b'{"2027": {"bad": 1}}']


def _outcome(load: object) -> Config | tuple[str, ...]:
    try:
        result = load()  # type: ignore[operator]
    except ConfigError as error:
        return tuple(str(problem) for problem in error.problems)
    assert isinstance(result, Config)
    return result


class ConfigCacheMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="carepath-cache-machine-"))
        self.folder = self.root / "config"
        shutil.copytree(bundled_config_dir(), self.folder)
        self.cache = self.root / "home" / "cache"
        self.original = (self.folder / "clinic.yaml").read_text(encoding="utf-8")

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(edit=st.sampled_from(sorted(EDITS)))
    def edit_the_clinic(self, edit: str) -> None:
        (self.folder / "clinic.yaml").write_text(
            self.original.replace(SAFE_BEFORE, EDITS[edit]), encoding="utf-8")

    @rule(measures=st.booleans())
    def remove_or_restore_the_measures(self, measures: bool) -> None:
        kept = self.root / "measures.yaml"
        file = self.folder / "measures.yaml"
        if measures and kept.exists():
            shutil.move(kept, file)
        elif not measures and file.exists():
            shutil.move(file, kept)

    @rule(which=st.sampled_from(["config-*.json", "holidays-*.json"]),
          damage=st.sampled_from(DAMAGE))
    def damage_a_kept_file(self, which: str, damage: bytes) -> None:
        for file in self.cache.glob(which):
            file.write_bytes(damage)

    @rule()
    def delete_the_cache(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    @rule()
    def a_command_opens_the_config(self) -> None:
        cached = _outcome(lambda: load_config_cached(self.folder, self.cache, year=2027))
        assert cached == _outcome(lambda: load_config(self.folder))


def test_random_histories_of_a_home_always_read_what_the_files_say() -> None:
    run_state_machine_as_test(ConfigCacheMachine, settings=fuzz_settings(quick=25, full=400))
