"""Tiny server-rendered SVG line charts for training curves (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


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
) -> str:
    """One chart, one polyline per series of [x, y] points; returns an <svg> string."""
    data = {name: _downsample(pts) for name, pts in series.items()}
    data = {k: v for k, v in data.items() if v}
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 24
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'style="background:#fff;border:1px solid #ddd;margin:4px">'
        f'<text x="{pad_l}" y="15" font-size="12" font-family="sans-serif">{escape(title)}</text>'
    )
    if not data:
        return (
            head + '<text x="50%" y="55%" font-size="11" text-anchor="middle">no data</text></svg>'
        )
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

    parts = [head]
    parts.append(
        f'<rect x="{pad_l}" y="{pad_t}" width="{w}" height="{h}" fill="none" stroke="#ccc"/>'
    )
    for val, ypix in ((y1, sy(y1)), (y0, sy(y0))):
        parts.append(
            f'<text x="{pad_l - 4}" y="{ypix + 4:.1f}" font-size="10" text-anchor="end" '
            f'font-family="sans-serif">{val:.3g}</text>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{height - 8}" font-size="10" font-family="sans-serif">{x0:g}</text>'
        f'<text x="{width - pad_r}" y="{height - 8}" font-size="10" text-anchor="end" '
        f'font-family="sans-serif">{x1:g}</text>'
    )
    for n, (name, pts) in enumerate(sorted(data.items())):
        colour = _COLOURS[n % len(_COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>'
        )
        parts.append(
            f'<text x="{width - pad_r - 4}" y="{pad_t + 12 + 12 * n}" font-size="10" '
            f'text-anchor="end" fill="{colour}" font-family="sans-serif">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
