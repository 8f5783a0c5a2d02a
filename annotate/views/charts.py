"""Server-rendered SVG charts for the dashboard (no JavaScript, no CDN).

Each function returns a complete ``<svg>`` string with every text escaped, sized with a
viewBox so it scales with the page. They read snapshot values (plain lists and dicts).
"""

from __future__ import annotations

from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

ACCENT = "#2f5bd3"
MUTED = "#8a93a6"


def _svg(width: int, height: int, body: list[str], label: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}" class="chart">'
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def throughput_bars(series: list[list[Any]], bin_name: str | None) -> SafeString:
    """Labels per time bin as bars, with the first and last bin dates under the axis."""
    width, height, pad = 640, 160, 24
    if not series:
        return _svg(
            width, 40, ['<text x="4" y="24" fill="#5b6475">No labels yet.</text>'], "No labels yet"
        )
    top = max(int(c) for _, c in series) or 1
    bar_w = min((width - 2 * pad) / len(series), 48.0)  # one bin should not fill the axis
    body = [
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        f'stroke="{MUTED}"/>'
    ]
    for i, (when, count) in enumerate(series):
        h = (height - 2 * pad) * int(count) / top
        x = pad + i * bar_w
        body.append(
            f'<rect x="{x:.1f}" y="{height - pad - h:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="{ACCENT}"><title>{escape(str(when))}: {int(count)}'
            f"</title></rect>"
        )
    body.append(
        f'<text x="{pad}" y="{height - 6}" font-size="11">{escape(str(series[0][0]))[:16]}</text>'
    )
    body.append(
        f'<text x="{width - pad}" y="{height - 6}" font-size="11" text-anchor="end">'
        f"{escape(str(series[-1][0]))[:16]}</text>"
    )
    body.append(
        f'<text x="{pad}" y="14" font-size="11">max {top} per {escape(bin_name or "")}</text>'
    )
    return _svg(width, height, body, f"Labels per {bin_name}")


def confusion_heatmap(matrix: list[list[int]], labels: list[str]) -> SafeString:
    """3 x 3 counts, rows = implied by ratings, columns = judgment; diagonal outlined."""
    cell, left, top = 56, 92, 40
    size = cell * len(labels)
    peak = max((v for row in matrix for v in row), default=0) or 1
    body = [
        f'<text x="{left + size / 2}" y="14" text-anchor="middle" font-size="12">judgment</text>',
        f'<text x="12" y="{top + size / 2}" font-size="12" '
        f'transform="rotate(-90 12 {top + size / 2})" text-anchor="middle">ratings imply'
        "</text>",
    ]
    for j, name in enumerate(labels):
        body.append(
            f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" font-size="12" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
        body.append(
            f'<text x="{left - 8}" y="{top + j * cell + cell / 2 + 4}" font-size="12" '
            f'text-anchor="end">{escape(name)}</text>'
        )
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            shade = 0.08 + 0.8 * value / peak
            stroke = ' stroke="#1d2330" stroke-width="2"' if i == j else ""
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="{ACCENT}" fill-opacity="{shade:.2f}"{stroke}/>'
                f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 5}" '
                f'text-anchor="middle" font-size="14">{int(value)}</text>'
            )
    return _svg(left + size + 8, top + size + 8, body, "Confusion matrix")


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


def interval_plot(
    rows: list[dict[str, Any]], value_key: str = "rating", label_key: str = "model"
) -> SafeString:
    """A forest plot: one row per entry, a dot at the value and a bar over its interval."""
    row_h, left, width = 22, 170, 640
    if not rows:
        return _svg(width, 30, ['<text x="4" y="20" fill="#5b6475">No data.</text>'], "No data")
    values = [r[value_key] for r in rows if r.get(value_key) is not None]
    lows = [r["ci"][0] for r in rows if r.get("ci") and r["ci"][0] is not None]
    highs = [r["ci"][1] for r in rows if r.get("ci") and r["ci"][1] is not None]
    lo, hi = min(values + lows), max(values + highs)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    span = hi - lo

    def x(v: float) -> float:
        return left + (width - left - 20) * (v - lo) / span

    height = row_h * len(rows) + 24
    body = [
        f'<text x="{left}" y="{height - 4}" font-size="11">{_fmt(lo)}</text>',
        f'<text x="{width - 20}" y="{height - 4}" font-size="11" text-anchor="end">'
        f"{_fmt(hi)}</text>",
    ]
    for i, r in enumerate(rows):
        y = i * row_h + 14
        body.append(
            f'<text x="{left - 8}" y="{y + 4}" font-size="12" text-anchor="end">'
            f"{escape(str(r.get(label_key, '')))[:28]}</text>"
        )
        ci = r.get("ci") or [None, None]
        if ci[0] is not None and ci[1] is not None:
            body.append(
                f'<line x1="{x(ci[0]):.1f}" y1="{y}" x2="{x(ci[1]):.1f}" y2="{y}" '
                f'stroke="{MUTED}" stroke-width="3"/>'
            )
        if r.get(value_key) is not None:
            body.append(
                f'<circle cx="{x(r[value_key]):.1f}" cy="{y}" r="4.5" fill="{ACCENT}">'
                f"<title>{escape(str(r[value_key]))}</title></circle>"
            )
    return _svg(width, height, body, "Estimates with 95% intervals")


def quota_bars(cells: list[dict[str, Any]]) -> SafeString:
    """Actual annotators per quota cell against the target (outlined)."""
    row_h, left, width = 22, 170, 640
    if not cells:
        return _svg(
            width, 30, ['<text x="4" y="20" fill="#5b6475">No quota cells.</text>'], "No quotas"
        )
    top = max(max(c.get("target") or 0, c["actual"]) for c in cells) or 1
    scale = (width - left - 60) / top
    body = []
    for i, c in enumerate(cells):
        y = i * row_h + 4
        body.append(
            f'<text x="{left - 8}" y="{y + 13}" font-size="12" text-anchor="end">'
            f"{escape(str(c['cell']))[:28]}</text>"
        )
        body.append(
            f'<rect x="{left}" y="{y}" width="{c["actual"] * scale:.1f}" height="16" '
            f'fill="{ACCENT}"/>'
        )
        if c.get("target"):
            body.append(
                f'<rect x="{left}" y="{y}" width="{c["target"] * scale:.1f}" '
                f'height="16" fill="none" stroke="#1d2330" stroke-dasharray="3 2"/>'
            )
        label = f"{c['actual']}" + (f" / {c['target']}" if c.get("target") else "")
        body.append(f'<text x="{width - 50}" y="{y + 13}" font-size="12">{escape(label)}</text>')
    return _svg(width, row_h * len(cells) + 8, body, "Annotators per quota cell vs target")
