"""Content-Security-Policy on every page, and templates that need no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[3]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def _templates() -> list[Path]:
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    dirs += [ROOT / app / "templates" for app in ("annotate", "modelserve")]
    return [p for d in dirs if d.is_dir() for p in sorted(d.rglob("*.html"))]


@pytest.mark.django_db
def test_pages_send_a_strict_policy(world):
    client = Client()
    for url in (reverse("login"), reverse("signup"), reverse("healthz")):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy
    client.force_login(world.a.user)
    response = client.get(reverse("task", args=[world.a_assignment.pk]))
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_templates_have_no_inline_script_or_handlers():
    found = []
    templates = _templates()
    assert len(templates) > 10
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER_ATTR, JS_URL):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0).strip()}")
    assert not found, "inline script is blocked by the CSP:\n" + "\n".join(found)


@pytest.mark.django_db
def test_api_reference_pages_may_boot_but_nothing_else(world):
    """drf-spectacular's docs pages need their one inline script; only they get it."""
    client = Client()
    client.force_login(world.researcher)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "'unsafe-inline'" in docs["Content-Security-Policy"]
    assert "'unsafe-inline'" not in client.get(reverse("login"))["Content-Security-Policy"]
