"""A measure over time as an inline SVG: values, the MCID band around the baseline, the target.

Pure and deterministic — the same values give the same bytes — so a report or an email can
embed it, and a golden test can pin it. Every piece of text is escaped here; callers embed
the result as it is. The band is the zone of "no real change" around the baseline (see
``carepath.domain.goals.progress.band``); a point outside it changed for real.

The geometry (``Frame``, ``Scale``) and the words (``title_text``, ``band_text``, …) are shared
with the PNG drawing of the same chart (``carepath.adapters.chart_png``, for email clients,
which do not render SVG), so both pictures put every value in the same place and say the same.
``describe`` is the chart in one sentence: the text alternative for an image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape


@dataclass(frozen=True)
class ChartSpec:
    title: str
    unit: str
    better: str  # "higher" or "lower"
    points: tuple[tuple[datetime, float], ...]
    band: tuple[float, float] | None = None
    target: float | None = None
    bounds: tuple[float, float] | None = None  # the measure's valid range
    levels: tuple[str, ...] = ()  # ordinal scales label the axis with their levels


@dataclass(frozen=True)
class Frame:
    """The picture's size and the margins that hold the labels; the plot fills the rest."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float

    def zoomed(self, factor: float) -> Frame:
        """The same layout ``factor`` times larger (a PNG drawn for high-density screens)."""
        return Frame(self.width * factor, self.height * factor, self.left * factor,
                     self.right * factor, self.top * factor, self.bottom * factor)


SVG_FRAME = Frame(640, 240, 56, 16, 28, 36)
WIDTH, HEIGHT = int(SVG_FRAME.width), int(SVG_FRAME.height)
LEFT, RIGHT, TOP, BOTTOM = (int(SVG_FRAME.left), int(SVG_FRAME.right), int(SVG_FRAME.top),
                            int(SVG_FRAME.bottom))


@dataclass(frozen=True)
class Scale:
    """Where an instant and a value land in a frame: the maths every renderer shares."""

    frame: Frame
    low: float
    high: float
    first: datetime
    last: datetime

    def x(self, at: datetime) -> float:
        f = self.frame
        if self.last == self.first:
            return f.left + (f.width - f.left - f.right) / 2
        span = (self.last - self.first).total_seconds()
        return f.left + (at - self.first).total_seconds() / span * (f.width - f.left - f.right)

    def y(self, value: float) -> float:
        """Values outside the axis (a measure's valid range cuts the padding) sit on its edge."""
        f = self.frame
        clamped = min(max(value, self.low), self.high)
        return f.top + (self.high - clamped) / (self.high - self.low) * (
            f.height - f.top - f.bottom)


def scale_for(spec: ChartSpec, frame: Frame) -> Scale:
    """The scale of a chart with at least one point."""
    low, high = _y_range(spec)
    return Scale(frame, low, high, spec.points[0][0], spec.points[-1][0])


def _y_range(spec: ChartSpec) -> tuple[float, float]:
    values = [v for _, v in spec.points]
    values += list(spec.band or ()) + ([spec.target] if spec.target is not None else [])
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 1.0)
    low, high = low - pad, high + pad
    if spec.bounds:
        low, high = max(low, spec.bounds[0]), min(high, spec.bounds[1])
    return (low, high) if high > low else (low - 1, high + 1)


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def value_text(spec: ChartSpec, value: float) -> str:
    """A value as the measure shows it: its level on ordinal scales."""
    if spec.levels and abs(value - round(value)) < 1e-9 and 0 <= round(value) < len(spec.levels):
        return spec.levels[round(value)]
    return f"{value:g}"


def title_text(spec: ChartSpec) -> str:
    return f"{spec.title} ({spec.unit}; {spec.better} is better)"


def axis_ticks(spec: ChartSpec, scale: Scale) -> list[tuple[float, str]]:
    """The labelled values of the value axis: every level on an ordinal scale (a padded end
    such as 3.2 means nothing there), else its two ends to three significant digits."""
    if spec.levels:
        first = max(math.ceil(scale.low - 1e-9), 0)
        last = min(math.floor(scale.high + 1e-9), len(spec.levels) - 1)
        return [(float(i), spec.levels[i]) for i in range(last, first - 1, -1)]
    return [(scale.high, f"{scale.high:.3g}"), (scale.low, f"{scale.low:.3g}")]


def band_text(band: tuple[float, float], spec: ChartSpec, *, dash: str = "–") -> str:
    """``dash`` for fonts without an en dash (the PNG's)."""
    return f"no real change: {value_text(spec, band[0])}{dash}{value_text(spec, band[1])}"


def target_text(target: float, spec: ChartSpec) -> str:
    return f"target {value_text(spec, target)}"


def date_text(at: datetime) -> str:
    return f"{at:%Y-%m-%d}"


EMPTY_TEXT = "no measurements yet"


def describe(spec: ChartSpec) -> str:
    """The chart in words, for a reader who cannot see it (an image's ``alt``, a text email)."""
    values = ", ".join(f"{date_text(at)}: {value_text(spec, v)}" for at, v in spec.points)
    words = [f"{title_text(spec)}.", f"Values: {values}." if values else f"{EMPTY_TEXT}."]
    if spec.band:
        low, high = (value_text(spec, v) for v in spec.band)
        words.append(f"No real change between {low} and {high}.")
    if spec.target is not None:
        words.append(f"Target: {value_text(spec, spec.target)}.")
    return " ".join(words)


def measure_chart(spec: ChartSpec) -> str:
    """The SVG text (no XML prolog) of one measure's chart."""
    title = escape(title_text(spec))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">',
             f"<title>{title}</title>",
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
             f'<text x="{LEFT}" y="18" font-size="14" font-family="sans-serif" '
             f'fill="#111111">{title}</text>']
    if not spec.points:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT // 2}" font-size="14" font-family="sans-serif"'
                     f' fill="#444444">{EMPTY_TEXT}</text></svg>')
        return "".join(parts)
    scale = scale_for(spec, SVG_FRAME)
    x, y = scale.x, scale.y
    parts += _axes(spec, scale)
    if spec.band:
        top, bottom = y(spec.band[1]), y(spec.band[0])
        parts.append(f'<rect x="{LEFT}" y="{_fmt(top)}" width="{WIDTH - LEFT - RIGHT}" '
                     f'height="{_fmt(bottom - top)}" fill="#dde8f5" stroke="none">'
                     f"<title>{escape(band_text(spec.band, spec), quote=False)}</title></rect>")
    if spec.target is not None:
        ty = _fmt(y(spec.target))
        parts.append(f'<line x1="{LEFT}" y1="{ty}" x2="{WIDTH - RIGHT}" y2="{ty}" '
                     'stroke="#1b7f3b" stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{_fmt(y(spec.target) - 4)}" font-size="12" '
                     'font-family="sans-serif" text-anchor="end" fill="#1b7f3b">'
                     f"{escape(target_text(spec.target, spec))}</text>")
    coords = " ".join(f"{_fmt(x(at))},{_fmt(y(v))}" for at, v in spec.points)
    parts.append(f'<polyline points="{coords}" fill="none" stroke="#1f3a93" stroke-width="2"/>')
    for at, value in spec.points:
        parts.append(f'<circle cx="{_fmt(x(at))}" cy="{_fmt(y(value))}" r="4" fill="#1f3a93">'
                     f"<title>{escape(f'{date_text(at)}: {value_text(spec, value)}')}</title>"
                     "</circle>")
    parts.append("</svg>")
    return "".join(parts)


def _axes(spec: ChartSpec, scale: Scale) -> Sequence[str]:
    bottom = HEIGHT - BOTTOM
    style = 'font-size="12" font-family="sans-serif" fill="#333333"'
    y = scale.y
    return [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333333"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#333333"/>',
        *(f'<text x="{LEFT - 6}" y="{_fmt(y(value) + 4)}" text-anchor="end" {style}>'
          f"{escape(text)}</text>" for value, text in axis_ticks(spec, scale)),
        f'<text x="{LEFT}" y="{HEIGHT - 12}" {style}>{date_text(scale.first)}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" text-anchor="end" {style}>'
        f"{date_text(scale.last)}</text>",
    ]
