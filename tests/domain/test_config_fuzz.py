"""Whatever an edit does to a config file, validation ends in a report, never a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from carepath.config.loader import load_config
from carepath.errors import ConfigError

BASE = Path(__file__).resolve().parents[1] / "config_corpus" / "base"
FILES = ("clinic.yaml", "measures.yaml", "pathways/post-relapse.yaml")
# Fragments that have broken YAML parsers and validators before: flow and block syntax,
# anchors, tags, complex keys, odd scalars, control and direction characters.
FRAGMENTS = ("", " ", ":", "- ", "[", "]", "{", "}", "'", '"', "\t", "\n", "#", "&a ", "*a",
             "!!str ", "!x ", "? ", "null", "~", "-1", "1e999", "9" * 30, "2027-02-30",
             "25:00", "yes", "[]", "{}", "é", "\x00", "\u202e", "|", ">", "<<: *a", ".nan",
             "0x1F", "1_000", "true", "%YAML 1.1\n---\n")

edits = st.lists(st.tuples(st.sampled_from(FILES), st.floats(0, 1, exclude_max=True),
                           st.integers(0, 8), st.sampled_from(FRAGMENTS)), min_size=1, max_size=3)


# Each example parses a whole config (~0.1 s): no shrinking, a failure shows the raw edits.
@settings(max_examples=30, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.generate))
@given(edits)
def test_a_mangled_config_is_reported_never_raised_as_a_traceback(
    changes: list[tuple[str, float, int, str]],
) -> None:
    """load_config either returns a Config or raises ConfigError whose lines all print."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "config"
        shutil.copytree(BASE, folder)
        for name, where, cut, fragment in changes:
            path = folder / name
            text = path.read_text(encoding="utf-8")
            at = int(where * len(text))
            path.write_text(text[:at] + fragment + text[at + cut:], encoding="utf-8")
        try:
            load_config(folder)
        except ConfigError as error:
            assert error.problems
            assert all(str(problem).count("\n") == 0 for problem in error.problems)
