"""The measure chart: deterministic SVG with the band and target, text escaped."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from carepath.domain.goals.charts import (
    SVG_FRAME,
    ChartSpec,
    axis_ticks,
    describe,
    measure_chart,
    scale_for,
)

T0 = datetime(2027, 3, 1, 14, tzinfo=UTC)
SPEC = ChartSpec(title="Berg <Balance> & Scale", unit="points", better="higher",
                 points=tuple((T0 + timedelta(days=14 * i), v) for i, v in enumerate([40, 41, 44])),
                 band=(37.0, 43.0), target=43.0, bounds=(0, 56))


def test_the_chart_is_well_formed_svg_with_band_target_and_points() -> None:
    """It parses as XML; one band, one dashed target line, a point per value."""
    svg = ElementTree.fromstring(measure_chart(SPEC))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}circle")) == 3
    assert any(line.get("stroke-dasharray") for line in svg.findall(f"{ns}line"))
    assert "no real change: 37–43" in measure_chart(SPEC)


def test_text_in_the_chart_is_escaped() -> None:
    """A title with markup characters cannot break out of the SVG."""
    svg = measure_chart(SPEC)
    assert "<Balance>" not in svg and "&lt;Balance&gt; &amp; Scale" in svg


def test_the_same_values_give_the_same_bytes() -> None:
    """Deterministic output: reports and emails can be compared byte for byte."""
    assert measure_chart(SPEC) == measure_chart(SPEC)


def test_ordinal_charts_label_levels_and_an_empty_chart_says_so() -> None:
    """Ashworth values show as their levels; no values shows a plain sentence."""
    ashworth = ChartSpec(title="MAS", unit="grade", better="lower",
                         points=((T0, 2.0), (T0 + timedelta(days=7), 3.0)),
                         levels=("0", "1", "1+", "2", "3", "4"), bounds=(0, 5))
    assert "1+" in measure_chart(ashworth)
    assert "no measurements yet" in measure_chart(ChartSpec("MAS", "grade", "lower", ()))


def test_the_svg_and_any_zoomed_frame_share_one_scale() -> None:
    """The PNG's geometry is the SVG's: positions in a zoomed frame are the SVG's, zoomed."""
    svg, double = scale_for(SPEC, SVG_FRAME), scale_for(SPEC, SVG_FRAME.zoomed(2))
    for at, value in SPEC.points:
        assert double.x(at) == 2 * svg.x(at) and double.y(value) == 2 * svg.y(value)


def test_describe_says_every_value_the_band_and_the_target() -> None:
    """The text alternative of a chart carries what the picture shows."""
    words = describe(SPEC)
    assert words.startswith("Berg <Balance> & Scale (points; higher is better).")
    assert "2027-03-01: 40, 2027-03-15: 41, 2027-03-29: 44" in words
    assert "No real change between 37 and 43." in words and "Target: 43." in words
    assert "no measurements yet" in describe(ChartSpec("MAS", "grade", "lower", ()))


def test_an_ordinal_axis_is_labelled_with_its_levels_not_padded_numbers() -> None:
    """Ashworth 1+ → 2: the axis reads 2, 1+ (and the padding's 0.8 or 3.2 nowhere)."""
    ashworth = ChartSpec(title="MAS", unit="grade", better="lower",
                         points=((T0, 2.0), (T0 + timedelta(days=7), 3.0)),
                         levels=("0", "1", "1+", "2", "3", "4"), bounds=(0, 5))
    ticks = axis_ticks(ashworth, scale_for(ashworth, SVG_FRAME))
    assert [text for _, text in ticks] == ["2", "1+"]
    assert "3.2" not in measure_chart(ashworth)
