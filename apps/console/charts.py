"""A verify checkpoint as a chart: the minute values the Verifier judged, the threshold, and
when the change began. Server-side SVG (pygal), no script: pure, no I/O.

The values are the checkpoint's own record (`verify_checkpoint.minute_values`, what the
Verifier read from its source, metric_1m or Prometheus), so the chart shows exactly what was
judged. The x axis runs from the change (when it is earlier) to the window's end.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta

import pygal
from pygal.style import Style

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#999",
    colors=("#1f6fb2", "#ba2121", "#e08a00", "#888"),
    font_family="system-ui, sans-serif",
    label_font_size=10,
    major_label_font_size=10,
    legend_font_size=10,
    title_font_size=12,
)


def checkpoint_svg(
    *,
    title: str,
    minute_values: list[tuple[datetime, float]],
    threshold: float,
    window_start: datetime,
    window_end: datetime,
    change_at: datetime | None,
    baseline: float | None = None,
) -> str:
    """The chart as an inline <svg> element (text, no XML declaration, no scripts)."""
    return _render(
        title, tuple(minute_values), threshold, window_start, window_end, change_at, baseline
    )


# A checkpoint never changes, and pygal takes ~20 ms a chart: a page drawn again (an operator
# reloading while the loop runs) reuses its charts. Keyed by every input, so never stale.
@functools.lru_cache(maxsize=256)
def _render(title, minute_values, threshold, window_start, window_end, change_at, baseline):
    chart = pygal.DateTimeLine(
        style=STYLE,
        width=520,
        height=220,
        title=title,
        show_dots=True,
        dots_size=2,
        x_label_rotation=0,
        show_x_guides=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=4,
        x_value_formatter=lambda moment: moment.strftime("%H:%M"),
        truncate_legend=-1,
        truncate_label=-1,
        js=(),  # pygal links a tooltip script from the web by default: none here
        disable_xml_declaration=True,
        no_data_text="no data in the window",
        explicit_size=True,
    )
    start = min(window_start, change_at) if change_at else window_start
    end = max(window_end, change_at) if change_at else window_end
    chart.x_labels = _ticks(start, end)
    chart.add("observed", [(moment, value) for moment, value in minute_values])
    chart.add("threshold", [(start, threshold), (end, threshold)], show_dots=False)
    if change_at is not None:
        low, high = _range([v for _, v in minute_values] + [threshold, baseline or threshold])
        chart.add("change", [(change_at, low), (change_at, high)], show_dots=False)
    if baseline is not None:
        chart.add("baseline", [(start, baseline), (end, baseline)], show_dots=False)
    return _SCRIPT.sub("", chart.render(is_unicode=True))


# pygal always embeds its chart config as a <script> for its (unused) tooltips; the page runs
# no script, so it goes. Its text is escaped, so no "<" inside ends the match early.
_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.S)


def _ticks(start: datetime, end: datetime, most: int = 6) -> list[datetime]:
    """At most `most` whole-minute labels from `start` to `end`."""
    first = start.replace(second=0, microsecond=0)
    minutes = max(1, int((end - first).total_seconds() // 60))
    step = max(1, -(-minutes // (most - 1)))
    return [first + timedelta(minutes=m) for m in range(0, minutes + 1, step)]


def _range(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    return low - pad, high + pad
