"""The trend chart of unresolved findings per severity, as coordinates for a server-rendered
SVG (templates/reports/_trend_chart.html): no JavaScript, no chart library."""

import math
from dataclasses import dataclass

from dashboard.reports.models import Severity
from dashboard.reports.selectors import SEVERITIES, TrendDay

#: The drawing's own units: the SVG scales to its card's width (about 1,100 pixels on a
#: laptop), so that text of 13 units reads at about the size of the page's small print.
WIDTH = 960
HEIGHT = 240
#: Room for the y-axis labels on the left and the dates below.
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28
Y_TICKS = 4


# Coordinates are text made here, so that no template localisation ever writes "1,234.5".


@dataclass(frozen=True)
class Series:
    severity: Severity
    #: "x,y x,y ..." for a <polyline>; empty with fewer than two days.
    points: str
    #: Where each day's value is drawn (x, y), for the dots of a one-day chart.
    dots: list[tuple[str, str]]
    latest: int


@dataclass(frozen=True)
class Tick:
    position: str
    label: str


@dataclass(frozen=True)
class TrendChart:
    days: list[TrendDay]
    series: list[Series]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    #: Where the counts beside the y-axis end.
    label_x: int = LEFT - 6
    right: int = WIDTH - RIGHT
    #: The baseline of the dates under the plot.
    label_y: int = HEIGHT - 8

    @property
    def description(self) -> str:
        """What a screen reader says instead of the picture."""
        first, last = self.days[0], self.days[-1]
        counts = ", ".join(f"{getattr(last, s.value)} {s.label.lower()}" for s in SEVERITIES)
        if first.day == last.day:
            return f"On {last.day:%-d %b %Y}: {counts}."
        return (
            f"From {first.day:%-d %b %Y} to {last.day:%-d %b %Y}, unresolved findings went from "
            f"{first.total} to {last.total}. Now: {counts}."
        )


def trend_chart(days: list[TrendDay]) -> TrendChart | None:
    """The chart of `days` (oldest first), or None when there is no day to draw."""
    if not days:
        return None
    peak = max(max(getattr(d, s.value) for s in SEVERITIES) for d in days)
    top = _nice_ceiling(peak)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    step = plot_width / (len(days) - 1) if len(days) > 1 else 0

    def x(index: int) -> str:
        return f"{LEFT + (index * step if len(days) > 1 else plot_width / 2):.1f}"

    def y(value: int) -> str:
        return f"{TOP + plot_height - value / top * plot_height:.1f}"

    series = []
    for severity in SEVERITIES:
        dots = [(x(i), y(getattr(d, severity.value))) for i, d in enumerate(days)]
        points = " ".join(f"{px},{py}" for px, py in dots) if len(dots) > 1 else ""
        series.append(Series(severity, points, dots, getattr(days[-1], severity.value)))
    y_ticks = [Tick(y(top * i // Y_TICKS), f"{top * i // Y_TICKS:,}") for i in range(Y_TICKS + 1)]
    labelled = sorted({0, len(days) - 1, *range(0, len(days), max(1, len(days) // 4))})
    if len(labelled) > 1 and labelled[-1] - labelled[-2] < max(1, len(days) // 8):
        labelled.pop(-2)  # the last label would overlap the one before it
    x_ticks = [Tick(x(i), f"{days[i].day:%-d %b}") for i in labelled]
    return TrendChart(days=days, series=series, y_ticks=y_ticks, x_ticks=x_ticks)


def _nice_ceiling(value: int) -> int:
    """The y-axis top: Y_TICKS times a round step (1, 2 or 5 times a power of ten), so that
    every tick is a whole, round number."""
    raw = max(value, 1) / Y_TICKS
    magnitude = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step * Y_TICKS
