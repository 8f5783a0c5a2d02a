"""Model replies as Markdown: formatting survives, raw HTML and script URLs never do."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from annotate.markdown import ALLOWED_TAGS, has_visible_text, markdown_to_html

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil.example></iframe>",
    '<svg onload="alert(1)">',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "`<script>` and ```\n<script>alert(1)</script>\n```",
]


class _Elements(HTMLParser):
    """Every real element and attribute in the output (escaped text is not an element)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.extend((name, value or "") for name, value in attrs)


@pytest.mark.parametrize("payload", XSS)
def test_no_raw_html_or_script_url_survives(payload):
    parser = _Elements()
    parser.feed(markdown_to_html(payload))
    assert parser.tags <= ALLOWED_TAGS
    assert not parser.tags & {"script", "img", "iframe", "svg", "div"}
    for name, value in parser.attrs:
        assert not name.startswith("on") and name != "style"
        if name in ("href", "src"):
            assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), value


def test_markdown_formatting_is_kept():
    html = markdown_to_html(
        "# Title\n\nSome **bold** and *italic* text.\n\n- one\n- two\n\n"
        "```\ncode <b>\n```\n\n[link](https://example.org)"
    )
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert "<li>one</li>" in html
    assert "<pre><code>code &lt;b&gt;\n</code></pre>" in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_raw_html_is_shown_as_text():
    assert "&lt;b&gt;hi&lt;/b&gt;" in markdown_to_html("<b>hi</b>")
    assert markdown_to_html("") == ""


@pytest.mark.parametrize(
    ("text", "visible"),
    [
        ("", False),
        (" \n\t", False),
        ("-", False),  # an empty list item
        ("#", False),  # an empty heading
        ("---", False),  # a rule
        ("```\n```", False),  # an empty code block
        ("> ", False),
        ("**", True),  # literal asterisks
        ("<b></b>", True),  # shown as the characters typed, never as HTML
        ("`x`", True),
        ("- a point", True),
        ("&nbsp;", False),  # a non-breaking space is still blank
    ],
)
def test_visible_text_is_what_the_page_would_show(text, visible):
    assert has_visible_text(text) is visible
