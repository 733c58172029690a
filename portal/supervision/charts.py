"""Horizontal bar charts as plain geometry, drawn as inline SVG by the dashboard's template.

The chart is a picture of a table printed beside it, so nothing is lost without it (or
without JavaScript, which it never needs). The SVG carries no ``style`` attribute — the page's
Content-Security-Policy forbids inline styles — only class names that static/css/site.css
colours. One row per bar: the label above, the bar, the value at its end; rows rather than
columns so that any number of months or agencies fits the width.
"""

from dataclasses import dataclass

WIDTH = 640  # viewBox units; the SVG scales to the width of its box
ROW = 40  # height of one bar's row: label line and bar
BAR = 16
VALUE_SPACE = 110  # room after the longest bar for its value
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    y_label: float
    y_bar: float
    width: float
    x_value: float
    y_value: float


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    description: str
    width: int
    height: int
    bars: tuple
    bar_height: int = BAR

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(chart_id: str, title: str, description: str, items) -> BarChart:
    """``items``: ``(label, value, value_text)`` with numeric ``value`` (None counts as 0)."""
    items = list(items)
    top = max((value or 0 for _label, value, _text in items), default=0)
    scale = (WIDTH - VALUE_SPACE) / top if top else 0
    bars = []
    for index, (label, value, value_text) in enumerate(items):
        y = TOP + index * ROW
        length = (value or 0) * scale
        bars.append(Bar(label=label, value_text=value_text, y_label=y + 12, y_bar=y + 18,
                        width=round(length, 1), x_value=round(length + 6, 1),
                        y_value=y + 18 + BAR - 3))
    return BarChart(id=chart_id, title=title, description=description, width=WIDTH,
                    height=TOP * 2 + ROW * len(items), bars=tuple(bars))
