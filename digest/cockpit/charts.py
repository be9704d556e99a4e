"""Charts drawn on the server as plain SVG: nothing loaded from outside, nothing to run.

Each chart carries its numbers, so the template shows them as a table (for screen
readers and for reading exact values) and the CSV view serves the same rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# The drawing area inside the SVG's viewBox (the labels live in the margins).
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
# Colour-blind-safe (Okabe-Ito), in the order series are given.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")


# A cell opening with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """`value` as a spreadsheet shows it as text, never runs it: a series name is a
    source's name, typed by any staff member who may edit sources, and the CSV is opened
    by whoever downloads it (OWASP's "CSV injection": a leading apostrophe)."""
    return "'" + value if value.startswith(FORMULA_OPENERS) else value


@dataclass(frozen=True)
class Chart:
    """One chart: a value per day for each named series."""

    slug: str
    title: str
    days: list[date]
    series: Mapping[str, Sequence[float]]  # read only: int counts or float ratios
    kind: str = "line"  # or "bars" (stacked)
    unit: str = ""  # "%" shows values as percentages

    @property
    def colours(self) -> list[tuple[str, str]]:
        return [(name, PALETTE[n % len(PALETTE)]) for n, name in enumerate(self.series)]

    def rows(self) -> list[tuple[str, list[str]]]:
        """The chart's table: one row per day, one column per series."""
        return [
            (day.isoformat(), [self.format(values[n]) for values in self.series.values()])
            for n, day in enumerate(self.days)
        ]

    def format(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:.1f} %"
        return f"{value:g}"

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["day", *(spreadsheet_text(name) for name in self.series)])
        for n, day in enumerate(self.days):
            writer.writerow([day.isoformat(), *(values[n] for values in self.series.values())])
        return out.getvalue()

    def svg(self) -> SafeString:
        top = _nice_top(self._highest())
        body = _bars(self, top) if self.kind == "bars" else _lines(self, top)
        return format_html(
            '<svg class="cockpit-chart" viewBox="0 0 {} {}" role="img" '
            'aria-labelledby="chart-{}-title">'
            '<title id="chart-{}-title">{}</title>{}{}{}</svg>',
            WIDTH,
            HEIGHT,
            self.slug,
            self.slug,
            self.title,
            _axes(self, top),
            body,
            _x_labels(self.days),
        )

    def _highest(self) -> float:
        if self.kind == "bars":
            return max((sum(day) for day in zip(*self.series.values(), strict=True)), default=0)
        return max((max(values, default=0) for values in self.series.values()), default=0)


def _nice_top(value: float) -> float:
    """The axis' top: the first of 1, 2, 5 x 10^n at or above the highest value."""
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.01
    while True:
        for factor in (1, 2, 5, 10):
            if step * factor >= value:
                return step * factor
        step *= 10


def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit (format_html escapes its arguments to text)."""
    return f"{value:.1f}"


def _x(n: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + span * (n + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _axes(chart: Chart, top: float) -> SafeString:
    ticks = [0, top / 2, top]
    return format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="grid"/>'
        '<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, _n(_y(t, top)), _n(_y(t, top)), LEFT - 6, _n(_y(t, top) + 4))
            + (chart.format(t),)
            for t in ticks
        ),
    )


def _x_labels(days: list[date]) -> SafeString:
    # At most about seven labels, so they never overlap on a phone; the last day is
    # always labelled (counting back from it), it is the one an operator looks for.
    every = max(1, -(-len(days) // 7))
    return format_html_join(
        "",
        '<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>',
        (
            (_n(_x(n, len(days))), HEIGHT - 8, day.strftime("%d %b"))
            for n, day in enumerate(days)
            if (len(days) - 1 - n) % every == 0
        ),
    )


def _lines(chart: Chart, top: float) -> SafeString:
    count = len(chart.days)
    parts = []
    for (name, colour), values in zip(chart.colours, chart.series.values(), strict=True):
        points = " ".join(f"{_x(n, count):.1f},{_y(v, top):.1f}" for n, v in enumerate(values))
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2">'
                "<title>{}</title></polyline>",
                points,
                colour,
                name,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - each part went through format_html


def _bars(chart: Chart, top: float) -> SafeString:
    count = len(chart.days)
    width = (WIDTH - LEFT - RIGHT) / max(count, 1) * 0.7
    parts = []
    for n in range(count):
        base = 0.0
        for (name, colour), values in zip(chart.colours, chart.series.values(), strict=True):
            value = values[n]
            if value <= 0:
                continue
            y_top, y_base = _y(base + value, top), _y(base, top)
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} {}: {}</title></rect>",
                    _n(_x(n, count) - width / 2),
                    _n(y_top),
                    _n(width),
                    _n(y_base - y_top),
                    colour,
                    chart.days[n].isoformat(),
                    name,
                    chart.format(value),
                )
            )
            base += value
    return mark_safe("".join(parts))  # noqa: S308 - each part went through format_html
