"""Server-rendered SVG charts: horizontal bars, readable without JavaScript or images.

Labels and values are escaped by Markup; the SVG is inline in the page (allowed by the
Content-Security-Policy, which has no inline script or style: colours come from classes).
"""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 26
LABEL_WIDTH = 260
BAR_WIDTH = 360
VALUE_WIDTH = 90


def bar_chart(
    rows: list[tuple[str, float]], *, title: str, unit: str = "", alt_from: int | None = None
) -> Markup:
    """Bars for ``rows`` of (label, value), largest scaled to the full width.

    ``alt_from``: rows from this index on get the second colour (e.g. "late" after "on time").
    An empty chart still has its title and says there is no data.
    """
    height = max(1, len(rows)) * ROW + 10
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    top = max((value for _, value in rows), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not rows:
        parts.append(f'<text x="0" y="18">{escape("—")}</text>')
    for index, (label, value) in enumerate(rows):
        y = 5 + index * ROW
        length = round(BAR_WIDTH * (value / top), 1) if value > 0 else 0
        css = "bar bar--alt" if alt_from is not None and index >= alt_from else "bar"
        shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        text_label = label if len(label) <= 40 else label[:39] + "…"
        parts.append(f'<text x="0" y="{y + 16}">{escape(text_label)}</text>')
        parts.append(
            f'<rect class="{css}" x="{LABEL_WIDTH}" y="{y + 3}" width="{length}" height="{ROW - 8}"></rect>'
        )
        parts.append(f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}">{escape(shown + unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text went through escape()
