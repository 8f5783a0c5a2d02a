"""Read the annotator pages like a browser would: forms, their fields, response ids.

Standard library only (a regular expression over the form tags). Knows the page
contracts the UI promises: task forms post to ``.../submit/``, responses are headed
``id="resp-<response id>-h"`` in the order shown (A, B, ...), rating fields are
``rating_<id>_<attribute>``, ranking selects ``rank_<id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

RESPONSE_ID = re.compile(r'id="resp-(\d+)-h"')


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)  # select options / radio values
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Form:
    action: str
    method: str
    attrs: dict[str, str]
    fields: dict[str, Field] = field(default_factory=dict)

    def defaults(self) -> dict[str, str | list[str]]:
        """What a browser would send unchanged: hidden/text values, checked boxes."""
        data: dict[str, str | list[str]] = {}
        for f in self.fields.values():
            if f.kind in ("checkbox", "submit", "button") or (f.kind == "radio" and not f.checked):
                continue
            data[f.name] = f.value
        return data


# The tags a form reader needs, plus what must be stepped over so that a tag-like text
# inside it is not read as a tag: comments and the raw text of scripts and styles.
# Attribute values may hold ">" when quoted, so the tag body is matched quote-aware.
_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<(?P<raw>script|style)\b[^>]*>.*?</(?P=raw)\s*>"
    r"|<(?P<end>/?)(?P<tag>form|input|select|option|textarea)\b"
    r"(?P<attrs>[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>",
    re.S | re.I,
)
_ATTR = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_TEXTAREA_END = re.compile(r"</textarea\s*>", re.I)


def _attrs(body: str) -> dict[str, str]:
    """Attribute names lower-cased, values with character references resolved, a
    bare attribute (``checked``) as "" (what html.parser gives, and what a browser
    sends for it)."""
    out: dict[str, str] = {}
    for m in _ATTR.finditer(body):
        name = m.group(1).lower()
        if name in out:  # the first of a repeated attribute wins, as in a browser
            continue
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value is None:
            value = m.group(4) or ""
        out[name] = unescape(value) if "&" in value else value
    return out


class _Reader:
    """Reads a page's forms with one pass of a regular expression over the markup.

    It replaced an html.parser subclass because the load benchmark's generator shares
    the server's CPU cores: html.parser calls back into Python for every tag and text
    run of a task page (about 1 ms for a pairwise page, most of it in tags no form
    reader needs), this touches only form tags (about 10x less; issue 14). What it reads
    is what html.parser read (tests/annotate/simulation/test_html.py holds both to it).
    """

    def __init__(self) -> None:
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None

    def read(self, html: str) -> list[Form]:
        pos = 0
        while (m := _TOKEN.search(html, pos)) is not None:
            pos = m.end()
            tag = m.group("tag")
            if tag is None:  # comment, script or style: nothing to read
                continue
            tag = tag.lower()
            if m.group("end"):
                if tag == "form":
                    self._form = None
                elif tag == "select":
                    self._select = None
                continue
            attrs = _attrs(m.group("attrs"))
            if tag == "textarea":
                close = _TEXTAREA_END.search(html, pos)
                text = html[pos : close.start() if close else len(html)]
                pos = close.end() if close else len(html)
                name = attrs.get("name")
                if self._form is not None and name:
                    value = unescape(text) if "&" in text else text
                    self._form.fields[name] = Field(name, "textarea", value, attrs=attrs)
                continue
            self._start(tag, attrs)
        return self.forms

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "form":
            self._form = Form(
                action=attrs.get("action", ""),
                method=attrs.get("method", "get").lower(),
                attrs=attrs,
            )
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


def parse_forms(html: str) -> list[Form]:
    return _Reader().read(html)


def response_ids(html: str) -> list[int]:
    """Response ids in the order shown (position 0 is "A")."""
    seen: list[int] = []
    for match in RESPONSE_ID.finditer(html):
        rid = int(match.group(1))
        if rid not in seen:
            seen.append(rid)
    return seen


def task_type(html: str) -> str | None:
    match = re.search(r'data-task-type="([a-z_]+)"', html)
    return match.group(1) if match else None


def form_with(forms: list[Form], *, action_part: str = "", field: str = "") -> Form | None:
    for form in forms:
        if action_part and action_part not in form.action:
            continue
        if field and field not in form.fields:
            continue
        return form
    return None


def survey_form(forms: list[Form]) -> Form | None:
    """The profile survey, or a campaign's screening questions (its first part)."""
    return form_with(forms, field="age_band") or form_with(forms, action_part="/screen/")
