"""``{% load chorus_markdown %}{{ reply|markdown }}``: a model reply, rendered and sanitised."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from annotate.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return render_markdown(str(text or ""))
