"""The measure chart as a PNG: the SVG's geometry, drawn in pixels, the same bytes every time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from PIL import Image

from carepath.adapters.chart_png import (
    BAND,
    LINE,
    PNG_FRAME,
    TARGET,
    ZOOM,
    _font,
    chart_png,
)
from carepath.domain.goals.charts import ChartSpec, scale_for

T0 = datetime(2027, 3, 1, 14, tzinfo=UTC)
BERG = ChartSpec(title="Berg Balance Scale", unit="points", better="higher",
                 points=tuple((T0 + timedelta(days=14 * i), v)
                              for i, v in enumerate([40.0, 41.0, 41.0, 42.0])),
                 band=(37.0, 43.0), target=45.0, bounds=(0, 56))


def picture(spec: ChartSpec) -> Image.Image:
    image = Image.open(io.BytesIO(chart_png.__wrapped__(spec)))  # not the cached bytes
    return image.convert("RGB")


def rgb(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def near(pixel: tuple[int, ...], colour: str, tolerance: int = 24) -> bool:
    return all(abs(p - c) <= tolerance for p, c in zip(pixel, rgb(colour), strict=True))


def test_each_value_is_drawn_where_the_shared_scale_puts_it() -> None:
    """A dot in the line colour at every (x, y) the SVG's scale gives, zoomed to the PNG."""
    image = picture(BERG)
    scale = scale_for(BERG, PNG_FRAME.zoomed(ZOOM))
    for at, value in BERG.points:
        assert near(image.getpixel((round(scale.x(at)), round(scale.y(value)))), LINE), at


def test_the_band_and_the_dashed_target_are_drawn_at_their_values() -> None:
    """Band colour between its edges, away from the line; target colour on the target line."""
    image = picture(BERG)
    scale = scale_for(BERG, PNG_FRAME.zoomed(ZOOM))
    middle_x = round((scale.x(BERG.points[1][0]) + scale.x(BERG.points[2][0])) / 2)
    assert near(image.getpixel((middle_x, round(scale.y(38.0)))), BAND, 8)
    target_row = [image.getpixel((x, round(scale.y(45.0))))
                  for x in range(int(PNG_FRAME.left * ZOOM), int(PNG_FRAME.left * ZOOM) + 200)]
    assert any(near(p, TARGET) for p in target_row)
    assert any(near(p, "#ffffff", 4) for p in target_row)  # dashed: gaps between the dashes


def test_the_picture_is_twice_the_size_the_email_shows_with_large_labels() -> None:
    """1280×640 pixels for a 640-pixel-wide image; axis labels 20 px at that width."""
    assert picture(BERG).size == (1280, 640)
    assert _font(20).size == 40


def test_a_chart_without_values_is_still_a_picture() -> None:
    """No measurements: a valid PNG of the same size (it says so in words)."""
    assert picture(ChartSpec("MAS", "grade", "lower", ())).size == (1280, 640)


def test_an_ordinal_chart_draws_its_levels() -> None:
    """Ashworth levels (with 1+) draw without error at their level positions."""
    ashworth = ChartSpec(title="Modified Ashworth Scale", unit="grade", better="lower",
                         points=((T0, 2.0), (T0 + timedelta(days=7), 3.0)),
                         levels=("0", "1", "1+", "2", "3", "4"), bounds=(0, 5),
                         band=(1.0, 3.0), target=1.0)
    scale = scale_for(ashworth, PNG_FRAME.zoomed(ZOOM))
    image = picture(ashworth)
    assert near(image.getpixel((round(scale.x(T0)), round(scale.y(2.0)))), LINE)


def test_the_same_chart_gives_the_same_bytes_in_another_process() -> None:
    """Deterministic: no timestamp, no hash-order dependence (another hash seed, same bytes)."""
    script = ("import sys; from datetime import UTC, datetime, timedelta\n"
              "from carepath.domain.goals.charts import ChartSpec\n"
              "from carepath.adapters.chart_png import chart_png\n"
              "T0 = datetime(2027, 3, 1, 14, tzinfo=UTC)\n"
              "spec = ChartSpec('Berg Balance Scale', 'points', 'higher', tuple((T0 + "
              "timedelta(days=14 * i), v) for i, v in enumerate([40.0, 41.0, 41.0, 42.0])), "
              "(37.0, 43.0), 45.0, (0, 56))\n"
              "sys.stdout.buffer.write(chart_png(spec))\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=60)
    assert run.stdout == chart_png.__wrapped__(BERG) == chart_png.__wrapped__(BERG)
    assert run.stdout.startswith(b"\x89PNG\r\n\x1a\n") and b"tIME" not in run.stdout
