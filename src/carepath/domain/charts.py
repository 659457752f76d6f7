"""A measure over time as an inline SVG: values, the MCID band around the baseline, the target.

Pure and deterministic — the same values give the same bytes — so a report or an email can
embed it, and a golden test can pin it. Every piece of text is escaped here; callers embed
the result as it is. The band is the zone of "no real change" around the baseline (see
``carepath.domain.goals.band``); a point outside it changed for real.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 36


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


def _label(spec: ChartSpec, value: float) -> str:
    if spec.levels and abs(value - round(value)) < 1e-9 and 0 <= round(value) < len(spec.levels):
        return spec.levels[round(value)]
    return f"{value:g}"


def measure_chart(spec: ChartSpec) -> str:
    """The SVG text (no XML prolog) of one measure's chart."""
    title = escape(f"{spec.title} ({spec.unit}; {spec.better} is better)")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">',
             f"<title>{title}</title>",
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
             f'<text x="{LEFT}" y="18" font-size="14" font-family="sans-serif" '
             f'fill="#111111">{title}</text>']
    if not spec.points:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT // 2}" font-size="14" font-family="sans-serif"'
                     ' fill="#444444">no measurements yet</text></svg>')
        return "".join(parts)
    low, high = _y_range(spec)
    first, last = spec.points[0][0], spec.points[-1][0]
    span = (last - first).total_seconds() or 1.0

    def x(at: datetime) -> float:
        if last == first:
            return LEFT + (WIDTH - LEFT - RIGHT) / 2
        return LEFT + (at - first).total_seconds() / span * (WIDTH - LEFT - RIGHT)

    def y(value: float) -> float:
        clamped = min(max(value, low), high)
        return TOP + (high - clamped) / (high - low) * (HEIGHT - TOP - BOTTOM)

    parts += _axes(spec, low, high, y, first, last)
    if spec.band:
        top, bottom = y(spec.band[1]), y(spec.band[0])
        parts.append(f'<rect x="{LEFT}" y="{_fmt(top)}" width="{WIDTH - LEFT - RIGHT}" '
                     f'height="{_fmt(bottom - top)}" fill="#dde8f5" stroke="none">'
                     f"<title>no real change: {_label(spec, spec.band[0])}–"
                     f"{_label(spec, spec.band[1])}</title></rect>")
    if spec.target is not None:
        ty = _fmt(y(spec.target))
        parts.append(f'<line x1="{LEFT}" y1="{ty}" x2="{WIDTH - RIGHT}" y2="{ty}" '
                     'stroke="#1b7f3b" stroke-width="2" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{WIDTH - RIGHT}" y="{_fmt(y(spec.target) - 4)}" font-size="12" '
                     'font-family="sans-serif" text-anchor="end" fill="#1b7f3b">'
                     f"target {escape(_label(spec, spec.target))}</text>")
    coords = " ".join(f"{_fmt(x(at))},{_fmt(y(v))}" for at, v in spec.points)
    parts.append(f'<polyline points="{coords}" fill="none" stroke="#1f3a93" stroke-width="2"/>')
    for at, value in spec.points:
        parts.append(f'<circle cx="{_fmt(x(at))}" cy="{_fmt(y(value))}" r="4" fill="#1f3a93">'
                     f"<title>{escape(f'{at:%Y-%m-%d}: {_label(spec, value)}')}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _axes(spec: ChartSpec, low: float, high: float, y: Callable[[float], float],
          first: datetime, last: datetime) -> Sequence[str]:
    bottom = HEIGHT - BOTTOM
    style = 'font-size="12" font-family="sans-serif" fill="#333333"'
    return [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#333333"/>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#333333"/>',
        f'<text x="{LEFT - 6}" y="{_fmt(y(high) + 4)}" text-anchor="end" {style}>'
        f"{escape(_label(spec, high) if spec.levels else f'{high:.3g}')}</text>",
        f'<text x="{LEFT - 6}" y="{_fmt(y(low) + 4)}" text-anchor="end" {style}>'
        f"{escape(_label(spec, low) if spec.levels else f'{low:.3g}')}</text>",
        f'<text x="{LEFT}" y="{HEIGHT - 12}" {style}>{first:%Y-%m-%d}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 12}" text-anchor="end" {style}>'
        f"{last:%Y-%m-%d}</text>",
    ]
