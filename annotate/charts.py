"""Every SVG plot of Chorus, server-rendered (no JavaScript, no CDN): the dashboard's bars,
heatmap and interval plots, and the admin's training curves.

One frame and one palette for all of them: ``_svg`` writes the ``<svg>`` element (a
viewBox so it scales with the page, ``role="img"`` with an accessible label and a
``<title>``, class ``chart``, a white background) and colours come from ``PALETTE``.
Only presentation attributes are used, never ``style=""``: the Content-Security-Policy
(``style-src 'self'``) would drop inline styles.

Every text is cut to length first and escaped after (``_label``): cutting escaped text
could split an entity such as ``&amp;`` and leave broken markup. The functions are pure:
plain lists and dicts in, a ``SafeString`` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2f5bd3", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
ACCENT = PALETTE[0]
MUTED = "#8a93a6"  # axes, intervals
INK = "#1d2330"  # outlines that must stand out
FAINT = "#5b6475"  # "no data" notes
FRAME = "#d7dce5"
FONT = "system-ui, sans-serif"


def _label(value: Any, limit: int = 0) -> str:
    """``value`` as text, cut to ``limit`` characters (an ellipsis marks the cut), THEN
    escaped for an attribute or element body."""
    text = str(value)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return escape(text)


def _svg(width: int, height: int, body: Sequence[str], label: str) -> SafeString:
    """The one frame every chart is drawn in."""
    title = _label(label, 200)
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{title}" class="chart" '
        f'font-family="{FONT}" font-size="11">'
        f"<title>{title}</title>"
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#fff" '
        f'stroke="{FRAME}"/>{"".join(body)}</svg>'
    )


def _empty(width: int, message: str) -> SafeString:
    return _svg(width, 30, [f'<text x="6" y="20" fill="{FAINT}">{_label(message)}</text>'], message)


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.3g}"


# --- dashboard --------------------------------------------------------------------------


def throughput_bars(series: list[list[Any]], bin_name: str | None) -> SafeString:
    """Labels per time bin as bars, with the first and last bin dates under the axis."""
    width, height, pad = 640, 160, 24
    if not series:
        return _empty(width, "No labels yet.")
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
            f'height="{h:.1f}" fill="{ACCENT}"><title>{_label(when)}: {int(count)}'
            f"</title></rect>"
        )
    body.append(f'<text x="{pad}" y="{height - 6}">{_label(series[0][0], 16)}</text>')
    body.append(
        f'<text x="{width - pad}" y="{height - 6}" text-anchor="end">'
        f"{_label(series[-1][0], 16)}</text>"
    )
    body.append(f'<text x="{pad}" y="14">max {top} per {_label(bin_name or "")}</text>')
    return _svg(width, height, body, f"Labels per {bin_name}")


def confusion_heatmap(
    matrix: list[list[int]],
    labels: list[str],
    *,
    rows_title: str = "ratings imply",
    columns_title: str = "judgment",
) -> SafeString:
    """K x K counts (by default rows = implied by ratings, columns = judgment); diagonal
    outlined."""
    cell, left, top = 56, 92, 40
    size = cell * len(labels)
    peak = max((v for row in matrix for v in row), default=0) or 1
    body = [
        f'<text x="{left + size / 2}" y="14" text-anchor="middle" font-size="12">'
        f"{_label(columns_title, 30)}</text>",
        f'<text x="12" y="{top + size / 2}" font-size="12" '
        f'transform="rotate(-90 12 {top + size / 2})" text-anchor="middle">'
        f"{_label(rows_title, 30)}</text>",
    ]
    for j, name in enumerate(labels):
        body.append(
            f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" font-size="12" '
            f'text-anchor="middle">{_label(name, 10)}</text>'
        )
        body.append(
            f'<text x="{left - 8}" y="{top + j * cell + cell / 2 + 4}" font-size="12" '
            f'text-anchor="end">{_label(name, 12)}</text>'
        )
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            shade = 0.08 + 0.8 * value / peak
            stroke = f' stroke="{INK}" stroke-width="2"' if i == j else ""
            body.append(
                f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="{ACCENT}" fill-opacity="{shade:.2f}"{stroke}/>'
                f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 5}" '
                f'text-anchor="middle" font-size="14">{int(value)}</text>'
            )
    return _svg(left + size + 8, top + size + 8, body, "Confusion matrix")


def interval_plot(
    rows: list[dict[str, Any]], value_key: str = "rating", label_key: str = "model"
) -> SafeString:
    """A forest plot: one row per entry, a dot at the value and a bar over its interval."""
    row_h, left, width = 22, 170, 640
    values = [r[value_key] for r in rows if r.get(value_key) is not None]
    if not values:
        return _empty(width, "No data.")
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
        f'<text x="{left}" y="{height - 4}">{_fmt(lo)}</text>',
        f'<text x="{width - 20}" y="{height - 4}" text-anchor="end">{_fmt(hi)}</text>',
    ]
    for i, r in enumerate(rows):
        y = i * row_h + 14
        body.append(
            f'<text x="{left - 8}" y="{y + 4}" font-size="12" text-anchor="end">'
            f"{_label(r.get(label_key, ''), 28)}</text>"
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
                f"<title>{_label(r[value_key])}</title></circle>"
            )
    return _svg(width, height, body, "Estimates with 95% intervals")


def quota_bars(cells: list[dict[str, Any]]) -> SafeString:
    """Actual annotators per quota cell against the target (outlined)."""
    row_h, left, width = 22, 170, 640
    if not cells:
        return _empty(width, "No quota cells.")
    top = max(max(c.get("target") or 0, c["actual"]) for c in cells) or 1
    scale = (width - left - 60) / top
    body = []
    for i, c in enumerate(cells):
        y = i * row_h + 4
        body.append(
            f'<text x="{left - 8}" y="{y + 13}" font-size="12" text-anchor="end">'
            f"{_label(c['cell'], 28)}</text>"
        )
        body.append(
            f'<rect x="{left}" y="{y}" width="{c["actual"] * scale:.1f}" height="16" '
            f'fill="{ACCENT}"/>'
        )
        if c.get("target"):
            body.append(
                f'<rect x="{left}" y="{y}" width="{c["target"] * scale:.1f}" '
                f'height="16" fill="none" stroke="{INK}" stroke-dasharray="3 2"/>'
            )
        label = f"{c['actual']}" + (f" / {c['target']}" if c.get("target") else "")
        body.append(f'<text x="{width - 50}" y="{y + 13}" font-size="12">{_label(label)}</text>')
    return _svg(width, row_h * len(cells) + 8, body, "Annotators per quota cell vs target")


def gain_scatter(points: list[list[float]], bins: list[dict[str, Any]]) -> SafeString:
    """Routing: realised against predicted gain per item (dots), the binned means (a
    line) and the diagonal where a calibrated model's bins would lie; both axes 0..1."""
    size, pad = 260, 34
    if not points:
        return _empty(420, "No item has both its predicted and its realised gain yet.")

    def at(p: float, r: float) -> tuple[float, float]:
        return pad + (size - pad - 10) * p, size - pad - (size - pad - 10) * r

    x0, y0 = at(0, 0)
    x1, y1 = at(1, 1)
    body = [
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="{MUTED}"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="{MUTED}"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="{FRAME}" stroke-dasharray="4 3"/>',
        f'<text x="{(x0 + x1) / 2}" y="{size - 8}" text-anchor="middle">predicted gain</text>',
        f'<text x="12" y="{(y0 + y1) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {(y0 + y1) / 2})">realised gain</text>',
        f'<text x="{x0}" y="{y0 + 13}" text-anchor="middle">0</text>',
        f'<text x="{x1}" y="{y0 + 13}" text-anchor="middle">1</text>',
    ]
    for p, r in points:
        x, y = at(min(max(p, 0), 1), min(max(r, 0), 1))
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{ACCENT}" fill-opacity="0.35"/>'
        )
    line = [at(b["predicted"], b["realised"]) for b in bins if b.get("realised") is not None]
    if len(line) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
        body.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[1]}" '
                    'stroke-width="2"/>')  # fmt: skip
    for x, y in line:
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[1]}"/>')
    return _svg(size, size, body, "Predicted against realised gain of a human label")


# --- admin: training curves -------------------------------------------------------------


def _downsample(points: Sequence[Sequence[float]], limit: int = 400) -> list[tuple[float, float]]:
    pts = [(float(p[0]), float(p[1])) for p in points if len(p) == 2 and p[1] == p[1]]
    if len(pts) <= limit:
        return pts
    step = len(pts) / limit
    return [pts[int(i * step)] for i in range(limit)] + [pts[-1]]


def line_chart(
    title: str,
    series: dict[str, Sequence[Sequence[float]]],
    *,
    width: int = 420,
    height: int = 180,
) -> SafeString:
    """One chart, one polyline per series of [x, y] points (NaNs dropped, long series
    downsampled to 400 points)."""
    data = {name: _downsample(pts) for name, pts in series.items()}
    data = {k: v for k, v in data.items() if v}
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 24
    head = f'<text x="{pad_l}" y="15" font-size="12">{_label(title, 60)}</text>'
    if not data:
        note = '<text x="50%" y="55%" text-anchor="middle">no data</text>'
        return _svg(width, height, [head, note], title)
    xs = [x for pts in data.values() for x, _ in pts]
    ys = [y for pts in data.values() for _, y in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def sx(x: float) -> float:
        return pad_l + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return pad_t + (1 - (y - y0) / (y1 - y0)) * h

    body = [head]
    body.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="{FRAME}"/>'
    )
    for val, ypix in ((y1, sy(y1)), (y0, sy(y0))):
        body.append(
            f'<text x="{pad_l - 4}" y="{ypix + 4:.1f}" font-size="10" text-anchor="end">'
            f"{val:.3g}</text>"
        )
    body.append(
        f'<text x="{pad_l}" y="{height - 8}" font-size="10">{x0:g}</text>'
        f'<text x="{width - pad_r}" y="{height - 8}" font-size="10" text-anchor="end">{x1:g}'
        "</text>"
    )
    for n, (name, pts) in enumerate(sorted(data.items())):
        colour = PALETTE[n % len(PALETTE)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        body.append(
            f'<text x="{width - pad_r - 4}" y="{pad_t + 12 + 12 * n}" font-size="10" '
            f'text-anchor="end" fill="{colour}">{_label(name, 40)}</text>'
        )
    return _svg(width, height, body, title)
