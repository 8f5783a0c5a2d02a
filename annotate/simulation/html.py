"""Read the annotator pages like a browser would: forms, their fields, response ids.

Standard library only (html.parser). Knows the page contracts the UI promises: task
forms post to ``.../submit/``, responses are headed ``id="resp-<response id>-h"`` in the
order shown (A, B, ...), rating fields are ``rating_<id>_<attribute>``, ranking selects
``rank_<id>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

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


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
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


def parse_forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.forms


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
