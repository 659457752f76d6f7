"""Hypothesis strategies shared by the fuzz tests: hostile text, YAML values, CSV rows, and
how many examples a run tries (a few in ``make test``, hundreds in ``make reliability``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FULL_RUN = os.environ.get("CAREPATH_RELIABILITY") == "full"


def fuzz_settings(quick: int, full: int) -> settings:
    return settings(max_examples=full if FULL_RUN else quick, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# Values people and attackers actually type, mixed into the random text.
TRICKY = (
    "", " ", "0", "-1", "1", "2", "99999999999999999999", "1e309", "nan", "inf", "yes", "no",
    "2027-02-30", "2027-02-29", "2028-02-29", "2027-13-01", "9999-12-31", "0001-01-01",
    "2027-03-14T02:30", "2027-11-07T01:30", "2027-03-14T02:30-05:00", "2027-03-01T10:00Z",
    "25:00-26:00", "08:00-11:00", "mon,wed", "MRN1001", "post-relapse", "evaluation",
    "alvarez", "t25fw", "json", "table", "x' OR '1'='1", "Robert'); DROP TABLE patient;--",
    "<script>alert(1)</script>", "[bold]x[/]", "[/]", "{{ 7*7 }}", "a\r\nBcc: x@evil.example",
    "\u202egnp.exe", "محمد", "🙂", "%", "_", "..", "/", "\\", "x" * 300,
)
tricky_text = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40))

yaml_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True), tricky_text, st.dates().map(str),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
