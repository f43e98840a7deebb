"""Inline SVG bar charts drawn from published values only (suppressed cells get no bar).

No JavaScript and no external files: the report must open offline in any browser.
"""

from __future__ import annotations

from html import escape

_BAR = 18
_GAP = 6
_LABEL = 190
_WIDTH = 640
_COLOURS = ("#1f5f8b", "#e07b39")


def bar_chart(title: str, bars: list[tuple[str, int | None, str]]) -> str:
    """Horizontal bars: (label, value or None when suppressed, shown value)."""
    largest = max((value for _, value, _ in bars if value), default=1)
    room = _WIDTH - _LABEL - 70
    height = len(bars) * (_BAR + _GAP) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}"><title>{escape(title)}</title>'
    ]
    for index, (label, value, shown) in enumerate(bars):
        y = 20 + index * (_BAR + _GAP)
        width = 0 if not value else max(1, round(room * value / largest))
        parts.append(f'<text x="{_LABEL - 8}" y="{y + 13}" text-anchor="end" class="label">{escape(label)}</text>')
        parts.append(f'<rect x="{_LABEL}" y="{y}" width="{width}" height="{_BAR}" fill="{_COLOURS[0]}"/>')
        parts.append(f'<text x="{_LABEL + width + 6}" y="{y + 13}" class="value">{escape(shown)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_columns(title: str, groups: list[str], series: list[tuple[str, list[tuple[int | None, str]]]]) -> str:
    """Vertical columns per group (a year), one per series (registrations, persons), with a legend."""
    largest = max((value for _, points in series for value, _ in points if value), default=1)
    plot_height, top, bottom = 220, 40, 30
    slot = (_WIDTH - 60) / max(len(groups), 1)
    column = min(40.0, slot / (len(series) + 1))
    height = top + plot_height + bottom
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}"><title>{escape(title)}</title>'
    ]
    for number, (name, _) in enumerate(series):
        parts.append(f'<rect x="{40 + number * 160}" y="8" width="12" height="12" fill="{_COLOURS[number % 2]}"/>')
        parts.append(f'<text x="{58 + number * 160}" y="19" class="label">{escape(name)}</text>')
    baseline = top + plot_height
    parts.append(f'<line x1="40" y1="{baseline}" x2="{_WIDTH - 10}" y2="{baseline}" stroke="#444"/>')
    for index, group in enumerate(groups):
        left = 50 + index * slot
        for number, (_, points) in enumerate(series):
            value, shown = points[index]
            bar = 0 if not value else max(1, round(plot_height * value / largest))
            x = left + number * column
            parts.append(
                f'<rect x="{x:.1f}" y="{baseline - bar}" width="{column - 2:.1f}" height="{bar}" fill="{_COLOURS[number % 2]}"/>'
            )
            parts.append(
                f'<text x="{x + column / 2 - 1:.1f}" y="{baseline - bar - 4}" text-anchor="middle" class="value">{escape(shown)}</text>'
            )
        parts.append(
            f'<text x="{left + column * len(series) / 2:.1f}" y="{baseline + 18}" text-anchor="middle" class="label">{escape(group)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
