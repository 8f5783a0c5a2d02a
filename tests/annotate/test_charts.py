"""One charts module for every SVG plot: one frame, one palette, well-formed markup with
every text cut before it is escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from annotate import charts

SVG = "{http://www.w3.org/2000/svg}"
NASTY = "A&B <i>\"quoted\"</i> & 'more' " * 4  # long, with characters that escape


def every_chart(label: str = NASTY) -> dict[str, str]:
    return {
        "throughput": charts.throughput_bars([[label, 3], [label, 5]], label),
        "confusion": charts.confusion_heatmap([[1, 2], [3, 4]], [label, "tie"]),
        "interval": charts.interval_plot(
            [{"model": label, "rating": 0.4, "ci": [0.1, 0.7]}, {"model": "b", "rating": 0.9}]
        ),
        "quota": charts.quota_bars([{"cell": label, "actual": 3, "target": 5}]),
        "line": charts.line_chart(label, {label: [[0, 1.0], [1, 0.5], [2, float("nan")]]}),
        "empty": charts.interval_plot([]),
        "no curves": charts.line_chart("loss", {"loss": []}),
    }


@pytest.mark.parametrize("name", list(every_chart()))
def test_every_chart_is_well_formed_svg_in_the_same_frame(name):
    svg = every_chart()[name]
    root = ET.fromstring(svg)  # raises on a split entity or an unescaped "<"
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("class") == "chart"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.find(f"{SVG}title") is not None and root.get("aria-label")
    frame = root.find(f"{SVG}rect")
    assert frame is not None and frame.get("fill") == "#fff" and frame.get("stroke")
    # No inline styles: the Content-Security-Policy (style-src 'self') would drop them.
    assert "style=" not in svg
    assert "<i>" not in svg  # texts are escaped


def test_texts_are_cut_before_they_are_escaped():
    svg = charts.quota_bars([{"cell": "&" * 40, "actual": 1, "target": 0}])
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    # 27 ampersands and an ellipsis: the cut counted characters, not escaped bytes.
    assert "&" * 27 + "\u2026" in texts
    assert charts._label("a&b", 2) == "a\u2026"
    assert charts._label("<b>", 0) == "&lt;b&gt;"


def test_one_palette():
    line = charts.line_chart("x", {"a": [[0, 1], [1, 2]], "b": [[0, 2], [1, 1]]})
    bars = charts.quota_bars([{"cell": "GB", "actual": 2}])
    assert f'stroke="{charts.PALETTE[0]}"' in line and f'stroke="{charts.PALETTE[1]}"' in line
    assert f'fill="{charts.ACCENT}"' in bars and charts.PALETTE[0] == charts.ACCENT
