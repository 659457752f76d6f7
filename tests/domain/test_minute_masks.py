"""Minutes as bits: the masks agree with the span arithmetic they stand in for."""

from hypothesis import given
from hypothesis import strategies as st

from carepath.domain.scheduling.availability import (
    BusyList,
    Span,
    cut,
    fitting_starts,
    grid_mask,
    mask_spans,
    normalize,
    set_bits,
    span_mask,
)

ORIGIN = 28_000_000  # a UTC minute in 2023: masks count from any origin
DAY = 1_500  # a little over a day, as on the night clocks go back

spans_in_a_day = st.lists(
    st.tuples(st.integers(0, DAY - 1), st.integers(1, 240)).map(
        lambda t: (ORIGIN + t[0], ORIGIN + min(DAY, t[0] + t[1]))),
    max_size=25)


@given(spans_in_a_day)
def test_mask_spans_inverts_span_mask(spans: list[Span]) -> None:
    assert mask_spans(span_mask(normalize(spans), ORIGIN), ORIGIN) == normalize(spans)


@given(spans_in_a_day, st.integers(1, 120), st.sampled_from([5, 10, 15, 30, 60]),
       st.sampled_from([-300, -240, 330, 600, 0]))
def test_fitting_starts_on_the_grid_are_the_starts_cut_gives(
        spans: list[Span], length: int, step: int, offset: int) -> None:
    """Bits ∧ grid give exactly ``cut``'s slot starts, for any length, step and zone."""
    free = normalize(spans)
    grid = grid_mask([(ORIGIN, ORIGIN + DAY)], ORIGIN, step=step, offset=offset)
    bits = fitting_starts(span_mask(free, ORIGIN), length) & grid
    assert [ORIGIN + b for b in set_bits(bits, DAY)] == cut(free, length=length, step=step,
                                                             offset=offset)


@given(spans_in_a_day, st.integers(0, DAY), st.integers(0, DAY))
def test_busy_list_mask_is_the_mask_of_what_is_within(spans: list[Span], a: int,
                                                      b: int) -> None:
    busy = BusyList(spans)
    start, end = ORIGIN + min(a, b), ORIGIN + max(a, b) + 1
    assert busy.mask(start, end) == span_mask(busy.within(start, end), start)


@given(spans_in_a_day, spans_in_a_day)
def test_extend_sorted_covers_the_same_minutes_as_extend(first: list[Span],
                                                         more: list[Span]) -> None:
    """In order or not, overlapping or not: the same busy minutes either way."""
    appended, merged = BusyList(first), BusyList(first)
    appended.extend_sorted([s for s, _ in more], [e for _, e in more])
    merged.extend(more)
    assert appended.mask(ORIGIN, ORIGIN + DAY) == merged.mask(ORIGIN, ORIGIN + DAY)
    assert all(appended.overlaps(s, e) == merged.overlaps(s, e) for s, e in first + more)


def test_set_bits_stops_at_the_limit_lowest_first() -> None:
    assert set_bits(0b1011_0100, 3) == [2, 4, 5]
    assert set_bits(0, 3) == []
