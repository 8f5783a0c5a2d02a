"""The edit task's live diff in Chromium on a long response: jsdiff (vendored) shows a
one-word change in a text the old O(n*m) table refused ("too long"), replacements show
as a deletion next to an insertion, and markup in the text stays text."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from annotate.models import TaskType
from tests.annotate.ui_helpers import campaign_with, onboarded_annotator
from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# ~17,000 characters, ~3,000 words (6,000 tokens with the spaces): 36M table cells, far
# above the 4M the old diff.js accepted.
LONG = " ".join(f"word{n % 97}" for n in range(3000)) + " <b>bold?</b> the end."


@pytest.mark.browser
def test_a_small_edit_of_a_long_response_shows_its_diff(live_server, transactional_db, monkeypatch):
    from playwright import sync_api as playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    campaign = campaign_with(TaskType.EDIT)
    response = campaign.items.get().item_responses.get().response
    response.text = LONG
    response.save(update_fields=["text"])
    annotator = onboarded_annotator()
    session = Client()
    session.force_login(annotator.user)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": session.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{live_server.url}/c/{campaign.slug}/")
        page.wait_for_selector("section.task-edit [data-editor]")
        # Unchanged: one equal run, no insertion or deletion, distance 0.
        page.wait_for_function("document.querySelector('[data-diff] span') !== null")
        assert page.locator("[data-diff] ins, [data-diff] del").count() == 0
        # Replace "the end." with "the start." near the end of 17,000 characters.
        page.evaluate(
            """() => {
                const ed = document.querySelector('[data-editor]');
                ed.value = ed.value.replace('the end.', 'the start.');
                ed.dispatchEvent(new Event('input', {bubbles: true}));
            }"""
        )
        # jsdiff's word tokens split punctuation off: "end" -> "start", "." unchanged.
        page.wait_for_selector("[data-diff] ins:has-text('start')")
        assert page.inner_text("[data-diff] ins") == "start"
        assert page.inner_text("[data-diff] del") == "end"
        assert page.locator("[data-diff] ins").count() == 1
        assert "too large" not in page.inner_text("[data-diff]")
        # The text's markup is shown as text, never parsed.
        assert page.locator("[data-diff] b").count() == 0
        assert "<b>bold?</b>" in page.inner_text("[data-diff]")
        assert page.inner_text("[data-edit-distance]") == "(computed when saved)"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "edit-diff-long.png"))
        # A short rewrite gets its exact distance (the server computes the stored one).
        page.evaluate(
            """() => {
                const ed = document.querySelector('[data-editor]');
                ed.value = 'Short.';
                ed.dispatchEvent(new Event('input', {bubbles: true}));
            }"""
        )
        page.wait_for_selector("[data-diff] ins:has-text('Short')")
        distance = page.inner_text("[data-edit-distance]")
        assert distance.isdigit() and len(LONG) - 6 <= int(distance) <= len(LONG)
        context.close()
        browser.close()
    assert errors == []
