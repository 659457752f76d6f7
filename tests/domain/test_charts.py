"""The measure chart: deterministic SVG with the band and target, text escaped."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from carepath.domain.charts import ChartSpec, measure_chart

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
