"""Charts drawn on the server as inline SVG: a labelled horizontal bar chart and a weekly
line chart. No script and no library: the geometry is here, the markup in
templates/editorial/charts/.

Each chart is an image with a title and a description (role="img", aria-labelledby), has
every figure written beside its bar or point, and comes with a table of the same figures
(in a <details>), so nothing depends on seeing the chart or telling colours apart. Colours
are the site's: #1d4e89 on white (8.6:1) for marks, #0b0c0c for text, #505a5f (7:1) for
axes. Bar charts apply the small-number rule (core/disclosure.py): a count of 1 to 4 is
drawn as a hatched bar up to SMALL_COUNT, labelled "fewer than 5", whatever it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import Flask, render_template
from markupsafe import Markup

from bulletin.core.disclosure import SMALL_COUNT, shown_count
from bulletin.web import small_count

#: Drawing units (the SVG scales to its box; text stays readable down to 320 CSS px).
BAR_WIDTH, BAR_ROW, BAR_LABEL_ROOM = 600, 46, 130
#: Line charts: room for the values above the points and the week labels below.
LINE_WIDTH, LINE_HEIGHT, LINE_PAD = 600, 240, 36


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    text: str  #: the figure as shown: exact, or "fewer than 5"
    width: float
    is_small: bool
    y: float


@dataclass(frozen=True)
class Point:
    label: str
    value: int
    x: float
    y: float


def bar_chart(
    chart_id: str,
    title: str,
    pairs: Sequence[tuple[str, int]],
    *,
    desc: str = "",
    label_heading: str = "",
    count_heading: str = "",
    small_rule: bool = True,
) -> Markup:
    """A horizontal bar chart of (label, count) pairs, with its data table; `chart_id` must
    be unique on the page. With `small_rule`, counts 1 to 4 read "fewer than 5"."""
    top = max([count for _, count in pairs] + [SMALL_COUNT if small_rule else 1, 1])
    room = BAR_WIDTH - BAR_LABEL_ROOM
    bars = []
    for row, (label, count) in enumerate(pairs):
        small = small_rule and shown_count(count) is None
        drawn = SMALL_COUNT if small else count
        text = small_count(count) if small_rule else f"{count:,}"
        bars.append(Bar(label, count, text, room * drawn / top, small, row * BAR_ROW))
    return Markup(
        render_template(
            "editorial/charts/bar.html",
            id=chart_id,
            title=title,
            desc=_described(desc, [(bar.label, bar.text) for bar in bars]),
            bars=bars,
            width=BAR_WIDTH,
            height=max(len(bars), 1) * BAR_ROW + 4,
            label_heading=label_heading,
            count_heading=count_heading,
        )
    )


def line_points(
    values: Sequence[tuple[str, int]], width: float, height: float, pad: float
) -> tuple[list[Point], float]:
    """Each (label, value) placed in a width x height box with `pad` around the plot, and
    the y of zero (values may be negative: net growth)."""
    low, high = min([0, *(v for _, v in values)]), max([1, *(v for _, v in values)])
    span = high - low
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    top, bottom = pad * 0.8, height - pad * 1.4  # the week labels go under the plot

    def y_of(value: float) -> float:
        return top + (bottom - top) * (high - value) / span

    points = [Point(label, v, pad + i * step, y_of(v)) for i, (label, v) in enumerate(values)]
    return points, y_of(0)


def line_chart(
    chart_id: str,
    title: str,
    values: Sequence[tuple[str, int]],
    *,
    desc: str = "",
    label_heading: str = "",
    value_heading: str = "",
    table: bool = True,
    compact: bool = False,
) -> Markup:
    """A line chart of (label, value) in order (weeks), each point marked and its value
    written by it; `compact` draws a sparkline (values of the first and last points only)
    and no table (the page says the figures)."""
    width, height, pad = (200, 56, 12) if compact else (LINE_WIDTH, LINE_HEIGHT, LINE_PAD)
    points, zero = line_points(values, width, height, pad)
    return Markup(
        render_template(
            "editorial/charts/line.html",
            id=chart_id,
            title=title,
            desc=_described(desc, [(p.label, f"{p.value:,}") for p in points]),
            points=points,
            zero=zero,
            width=width,
            height=height,
            pad=pad,
            compact=compact,
            table=table and not compact,
            label_heading=label_heading,
            value_heading=value_heading,
            every=1 if len(points) <= 13 else 2,
        )
    )


def _described(desc: str, figures: list[tuple[str, str]]) -> str:
    # A screen reader reads an image's title and description, not the text drawn in it:
    # the description says every figure too.
    listed = "; ".join(f"{label}: {text}" for label, text in figures)
    return f"{desc} {listed}." if desc else f"{listed}."


def register(app: Flask) -> None:
    """Make the charts Jinja globals for the editor pages (the send report uses bar_chart)."""
    app.jinja_env.globals.update(bar_chart=bar_chart, line_chart=line_chart)
