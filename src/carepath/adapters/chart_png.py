"""The measure chart as a PNG, for email: most mail clients (Gmail, Outlook) show no SVG.

Draws what ``carepath.domain.goals.charts.measure_chart`` draws — the values over time, the band
of no real change around the baseline, the dashed target line — from the same ``ChartSpec``,
placed by the same ``Scale`` and labelled with the same words. Only the frame differs: more
room for large type (axis labels are 20 px at the size the email shows, twice that in
pixels so the picture stays sharp on high-density screens), and the band and the latest
value are labelled in the picture, since an image has no tooltips.

Drawn straight onto a palette image in the chart's few colours: no anti-aliasing to
quantize afterwards (that cost twice the drawing), and at 2× the mail client's downscaling
smooths the edges. About 5 ms of CPU and 11 KB per chart.

A second, narrower frame (``PHONE_FRAME``, 340 px) draws the same chart for phones, with the
same 20 px labels and the title wrapped: the email shows it below 480 px instead of
shrinking the wide one (whose labels would fall to about 11 px on a 375 px screen).

Deterministic: Pillow's bundled font (Aileron, drawn by FreeType), no timestamp or other
metadata chunk in the file, so the same spec gives the same bytes on the same Pillow.
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from carepath.domain.goals.charts import (
    EMPTY_TEXT,
    ChartSpec,
    Frame,
    Scale,
    axis_ticks,
    band_text,
    date_text,
    scale_for,
    target_text,
    title_text,
    value_text,
)

# In CSS pixels, as the email shows it (``DISPLAY_WIDTH`` wide); drawn ``ZOOM`` times larger.
PNG_FRAME = Frame(640, 320, 88, 24, 52, 56)
PHONE_FRAME = Frame(340, 300, 72, 16, 84, 56)  # room for a title on two lines
DISPLAY_WIDTH, DISPLAY_HEIGHT = int(PNG_FRAME.width), int(PNG_FRAME.height)
ZOOM = 2
TITLE_PX, LABEL_PX, NOTE_PX = 22, 20, 17

INK, AXIS, BAND, BAND_INK = "#111111", "#333333", "#dde8f5", "#29446b"
LINE, TARGET = "#1f3a93", "#1b7f3b"

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=8)
def _font(px: int) -> Font:
    return ImageFont.load_default(size=px * ZOOM)


@lru_cache(maxsize=64)
def chart_png(spec: ChartSpec, shown: Frame = PNG_FRAME) -> bytes:
    """The PNG bytes of one measure's chart (``shown``'s size at 2×; ``PNG_FRAME``:
    ``DISPLAY_WIDTH`` × ``DISPLAY_HEIGHT``).

    Kept for recent specs: a review sweep that opens two escalations in one episode, or one
    email to two therapists, draws each chart once.
    """
    frame = shown.zoomed(ZOOM)
    image = Image.new("P", (int(frame.width), int(frame.height)), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    title = _wrapped(draw, title_text(spec), _font(TITLE_PX), frame.width - 24 * ZOOM)
    draw.multiline_text((12 * ZOOM if shown is not PNG_FRAME else frame.left, 12 * ZOOM),
                        title, fill=INK, font=_font(TITLE_PX), spacing=4 * ZOOM)
    if spec.points:
        _plot(draw, spec, scale_for(spec, frame))
    else:
        draw.text((frame.left, frame.height / 2), EMPTY_TEXT, fill=AXIS, font=_font(LABEL_PX),
                  anchor="lm")
    return _encode(image)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font: Font, width: float) -> str:
    """``text`` broken into lines no wider than ``width`` (at spaces)."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)  # 2.5 ms, 11 KB; level 6: 6 ms, 7 KB
    return out.getvalue()


def _plot(draw: ImageDraw.ImageDraw, spec: ChartSpec, scale: Scale) -> None:
    frame = scale.frame
    right = frame.width - frame.right
    if spec.band:
        top, bottom = scale.y(spec.band[1]), scale.y(spec.band[0])
        draw.rectangle((frame.left, top, right, bottom), fill=BAND)
        draw.text((frame.left + 8 * ZOOM, bottom - 4 * ZOOM),
                  band_text(spec.band, spec, dash=" to "),  # the font has no en dash
                  fill=BAND_INK, font=_font(NOTE_PX), anchor="ld")
    _axes(draw, spec, scale)
    if spec.target is not None:
        ty = scale.y(spec.target)
        _dashed(draw, frame.left, right, ty)
        draw.text((right, ty - 4 * ZOOM), target_text(spec.target, spec), fill=TARGET,
                  font=_font(NOTE_PX), anchor="rd")
    points = [(scale.x(at), scale.y(value)) for at, value in spec.points]
    if len(points) > 1:
        draw.line(points, fill=LINE, width=2 * ZOOM, joint="curve")
    radius = 5 * ZOOM
    for px, py in points:
        draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=LINE)
    last_x, last_y = points[-1]
    draw.text((last_x - 8 * ZOOM if len(points) > 1 else last_x + 8 * ZOOM, last_y - 8 * ZOOM),
              value_text(spec, spec.points[-1][1]), fill=LINE, font=_font(LABEL_PX),
              anchor="rd" if len(points) > 1 else "ld")


def _axes(draw: ImageDraw.ImageDraw, spec: ChartSpec, scale: Scale) -> None:
    frame = scale.frame
    bottom, right = frame.height - frame.bottom, frame.width - frame.right
    draw.line((frame.left, frame.top, frame.left, bottom), fill=AXIS, width=ZOOM)
    draw.line((frame.left, bottom, right, bottom), fill=AXIS, width=ZOOM)
    label, gap = _font(LABEL_PX), 8 * ZOOM
    for value, text in axis_ticks(spec, scale):
        draw.text((frame.left - gap, scale.y(value)), text, fill=AXIS, font=label, anchor="rm")
    under = bottom + gap
    draw.text((frame.left, under), date_text(scale.first), fill=AXIS, font=label, anchor="la")
    if scale.last != scale.first:
        draw.text((right, under), date_text(scale.last), fill=AXIS, font=label, anchor="ra")


def _dashed(draw: ImageDraw.ImageDraw, start: float, end: float, y: float) -> None:
    dash, gap = 12 * ZOOM, 8 * ZOOM
    x = start
    while x < end:
        draw.line((x, y, min(x + dash, end), y), fill=TARGET, width=2 * ZOOM)
        x += dash + gap
