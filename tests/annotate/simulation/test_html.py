"""The simulator's form reader (annotate.simulation.html) reads what html.parser reads.

The reader is a regular expression over form tags (issue 14: the load benchmark's
generator shares the server's cores). It is held here to the html.parser reader it
replaced, on every task type's real page and on markup written to trip a tag scanner.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from annotate.models import TaskType
from annotate.simulation.html import Field, Form, parse_forms
from tests.annotate.ui_helpers import campaign_with, client_for, onboarded_annotator


class _Reference(HTMLParser):
    """The html.parser reader the simulator used before (kept here as the oracle)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower(), attrs)
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                existing = form.fields.get(name)
                if existing is None:
                    existing = form.fields[name] = Field(name, kind, attrs=attrs)
                existing.options.append(attrs.get("value", "on"))
                if "checked" in attrs:
                    existing.checked, existing.value = True, attrs.get("value", "on")
            else:
                form.fields[name] = Field(name, kind, attrs.get("value", ""), attrs=attrs)
        elif tag == "select" and name:
            self._select = form.fields[name] = Field(name, "select", attrs=attrs)
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select.options.append(value)
            if "selected" in attrs:
                self._select.value = value
        elif tag == "textarea" and name:
            self._textarea = form.fields[name] = Field(name, "textarea", attrs=attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data


def _reference(html: str) -> list[Form]:
    parser = _Reference()
    parser.feed(html)
    parser.close()
    return parser.forms


@pytest.mark.django_db
@pytest.mark.parametrize(
    "task_type",
    [
        TaskType.PAIRWISE,
        TaskType.RANKING,
        TaskType.BWS,
        TaskType.RATING,
        TaskType.EDIT,
        TaskType.CRITIQUE,
    ],
)
def test_every_task_page_reads_as_html_parser_reads_it(task_type: str) -> None:
    annotator = onboarded_annotator()
    client = client_for(annotator)
    campaign = campaign_with(task_type)
    page = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    forms = parse_forms(html)
    assert forms == _reference(html)
    # What the simulator relies on: the task form, its token and the type's fields.
    task_form = next(f for f in forms if f.action.endswith("/submit/"))
    assert task_form.fields["csrfmiddlewaretoken"].value
    assert {"guideline_version_id", "time_spent_ms"} <= set(task_form.fields)
    assert len(task_form.fields) > 3


TRICKY = """
<!-- <form action="/commented/"><input name="ghost"></form> -->
<script>var s = '<form action="/in-script/"><input name="ghost">';</script>
<style>.x::after { content: "<input name='ghost'>"; }</style>
<FORM ACTION="/a/?x=1&amp;y=2" Method="POST" data-json='{"k": "a>b"}'>
  <input type=hidden name=plain value=unquoted>
  <input name="amp" value="Tom &amp; Jerry &lt;3 &#233;t&eacute;">
  <input type="TEXT" name="gt" value="a > b" data-x='single "quoted"'/>
  <input type="radio" name="r" value="x">
  <input type="radio" name="r" value="y" checked>
  <input type="checkbox" name="c">
  <input type="submit" name="go" value="Go">
  <input value="no name">
  <select name="s"><option value="1">one<option value="2" selected>two</option><option>t</select>
  <textarea name="t" rows=2>line &amp; one
&lt;b&gt;two</textarea>
  <textarea name="empty"></textarea>
</form>
<input name="outside">
<form><input name="q"></form>
<form action='/single/' method='get'><input name='n' value='v'>
"""


def test_markup_written_to_trip_a_tag_scanner_reads_as_html_parser_reads_it() -> None:
    forms = parse_forms(TRICKY)
    assert forms == _reference(TRICKY)
    first = forms[0]
    assert first.action == "/a/?x=1&y=2" and first.method == "post"
    assert first.fields["amp"].value == "Tom & Jerry <3 été"
    assert first.fields["gt"].value == "a > b"
    assert first.fields["r"].value == "y" and first.fields["r"].options == ["x", "y"]
    assert first.fields["s"].value == "2" and first.fields["s"].options == ["1", "2", ""]
    assert first.fields["t"].value == "line & one\n<b>two"
    assert "ghost" not in first.fields and "outside" not in first.fields
    assert [f.action for f in forms] == ["/a/?x=1&y=2", "", "/single/"]
    assert first.defaults() == {
        "plain": "unquoted",
        "amp": "Tom & Jerry <3 été",
        "gt": "a > b",
        "r": "y",
        "s": "2",
        "t": "line & one\n<b>two",
        "empty": "",
    }


def test_a_repeated_attribute_keeps_its_first_value_as_a_browser_does() -> None:
    # html.parser's reader kept the last one; the HTML standard (and so the browser,
    # whose posts the simulator imitates) ignores repeats.
    (form,) = parse_forms('<form><input name="first" value="1" name="second"></form>')
    assert list(form.fields) == ["first"] and form.fields["first"].value == "1"
