"""In Chromium, by mouse: one task of every type in Arabic (right to left) and in French.

One browser and one study seeded by factories (two onboarded participants, logged in by
their session cookie; their interface language is their profile setting). Each
participant answers pairwise, ranking, rating, edit, critique and best-worst tasks by
clicking the page's own controls (typing only into text boxes); the stored labels are
asserted against what was clicked. The live-conversation type is left out: it needs a
generation backend and a worker (tests/e2e drives it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from annotate.models import Annotation, Annotator, TaskType
from annotate.services import campaign_create, guideline_publish
from tests.annotate.ui_helpers import give_consent, onboarded_annotator
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, wait_for_task_page
from tests.factories import ItemFactory

ORDER = [
    TaskType.PAIRWISE,
    TaskType.RANKING,
    TaskType.RATING,
    TaskType.EDIT,
    TaskType.CRITIQUE,
    TaskType.BWS,
]
TITLES = {
    "ar": {TaskType.BWS: "اختر أفضل إجابة وأسوأ إجابة", TaskType.PAIRWISE: "أيّ الإجابتين أفضل؟"},
    "fr": {
        TaskType.BWS: "Choisissez la meilleure et la pire réponse",
        TaskType.PAIRWISE: "Quelle réponse est la meilleure ?",
    },
}
CRITIQUE = {"ar": "الرياح لا تسبب المد.", "fr": "Le vent ne cause pas les marées."}


@pytest.fixture
def study(transactional_db):
    campaign = campaign_create(
        slug="mouse",
        name="Mouse study",
        status="open",
        overlap=2,
        task_mix={t: 1 for t in ORDER},
        rating_attributes=["helpfulness"],
        overall_attribute="helpfulness",
    )
    guideline_publish(campaign=campaign, text="Be fair.")
    for n, task_type in enumerate(ORDER):
        item = ItemFactory(campaign=campaign, task_type=task_type, priority=100 - n, overlap=2)
        if task_type == TaskType.CRITIQUE:
            response = item.responses.get()
            response.text = "Tides happen because of wind."
            response.save()
    people = {}
    for language in ("ar", "fr"):
        annotator = onboarded_annotator()
        annotator.ui_language = language
        annotator.save(update_fields=["ui_language"])
        give_consent(annotator, campaign)
        people[language] = annotator
    return campaign, people


@pytest.fixture
def browser(live_server, monkeypatch):
    from playwright import sync_api as playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _logged_in_page(browser, live_server, annotator: Annotator):
    client = Client()
    client.force_login(annotator.user)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _submit(page, next_type: str | None) -> None:
    page.locator("#task-form button[type=submit]").click()
    if next_type:
        page.wait_for_selector(f"section.task-{next_type}")
    else:
        page.wait_for_selector("#done-h")


SELECTED_IN_CRITIQUE = """() => {
  const sel = window.getSelection();
  const box = document.querySelector('[data-critique-text]');
  return !!sel && sel.rangeCount > 0 && !sel.isCollapsed &&
    box.contains(sel.getRangeAt(0).startContainer) ? sel.toString() : '';
}"""


def _select_first_word(page) -> None:
    """Double-click the critique's first word (wherever the text direction puts it).

    The point is measured relative to the text box, and Playwright clicks there once the
    box is on screen and stable, so a scroll or a late layout change between measuring and
    clicking cannot send the double-click elsewhere (CI once saw no selection here).
    """
    text = page.locator("[data-critique-text]")
    offset = text.evaluate(
        """(box) => {
          const range = document.createRange();
          range.setStart(box.firstChild, 0);
          range.setEnd(box.firstChild, 1);
          const r = range.getBoundingClientRect();
          const b = box.getBoundingClientRect();
          return {x: r.left - b.left + r.width / 2, y: r.top - b.top + r.height / 2};
        }"""
    )
    text.dblclick(position=offset)
    selected = page.evaluate(SELECTED_IN_CRITIQUE)
    assert selected.strip() == "Tides", f"double-click selected {selected!r}"


def _do_every_type(page, language: str, shot) -> dict[str, list[int]]:
    """Answer the six tasks with the mouse; returns each task's shown response ids."""
    shown: dict[str, list[int]] = {}

    def ids(selector: str) -> list[int]:
        return [int(x.get_attribute("data-response-id")) for x in page.locator(selector).all()]

    wait_for_task_page(page, "section.task-pairwise")
    assert page.inner_text("#task-title") == TITLES[language][TaskType.PAIRWISE]
    page.locator("input[name=choice][value=B]").click()
    page.locator("input[name=strength][value='3']").click()
    _submit(page, "ranking")

    shown["ranking"] = ids(".rank-card")
    for rank, rid in enumerate(reversed(shown["ranking"]), start=1):
        page.locator(f"#rank_{rid}").select_option(str(rank))
    _submit(page, "rating")

    page.locator("fieldset.likert input[value='6']").click()
    _submit(page, "edit")

    editor = page.locator("#edited_text")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(" +1")
    _submit(page, "critique")

    _select_first_word(page)
    page.locator("button[data-category]").first.click()
    page.wait_for_selector("[data-critique-text] mark")
    page.locator("#critique").click()
    page.keyboard.type(CRITIQUE[language])
    _submit(page, "bws")

    assert page.inner_text("#task-title") == TITLES[language][TaskType.BWS]
    shown["bws"] = ids("[data-bws-card]")
    cards = page.locator("[data-bws-card]")
    # A second click on the same card's other button moves the mark: best, then worst.
    cards.nth(1).locator("label.bws-best").click()
    cards.nth(1).locator("label.bws-worst").click()
    assert not cards.nth(1).locator("[data-bws-best]").is_checked()
    cards.nth(2).locator("label.bws-best").click()
    assert "is-best" in (cards.nth(2).get_attribute("class") or "")
    shot("bws")
    if language == "ar":
        # Right to left: the card's heading sits right of its best/worst choices.
        head = cards.nth(2).locator("h2").bounding_box()
        best = cards.nth(2).locator("label.bws-best").bounding_box()
        assert head["x"] > best["x"]
    _submit(page, None)
    return shown


def _stored(annotator: Annotator, shown: dict[str, list[int]], language: str) -> None:
    labels = {a.task_type: a.payload for a in Annotation.objects.filter(annotator=annotator)}
    assert sorted(labels) == sorted(ORDER)
    assert (labels["pairwise"]["choice"], labels["pairwise"]["strength"]) == ("B", 3)
    assert labels["ranking"]["ranking"] == [[rid] for rid in reversed(shown["ranking"])]
    assert list(labels["rating"]["ratings"].values()) == [{"helpfulness": 6}]
    assert labels["edit"]["edited_text"] == labels["edit"]["original_text"] + " +1"
    assert labels["critique"]["critique"] == CRITIQUE[language]
    assert labels["critique"]["spans"][0]["text"] == "Tides"
    bws = labels["bws"]
    assert (bws["best"], bws["worst"]) == (shown["bws"][2], shown["bws"][1])
    assert bws["response_ids"] == shown["bws"]


@pytest.mark.browser
def test_every_task_type_by_mouse_in_arabic_and_french(live_server, browser, study, artifacts_dir):
    campaign, people = study
    for language in ("ar", "fr"):
        page = _logged_in_page(browser, live_server, people[language])

        def shot(name: str, page=page, language=language) -> None:
            path = artifacts_dir / f"mouse-{language}-{name}.png"
            page.screenshot(path=str(path), full_page=True)

        page.goto(f"{live_server.url}/c/{campaign.slug}/")
        assert page.evaluate("document.documentElement.lang") == language
        rtl = language == "ar"
        assert page.evaluate("document.documentElement.dir") == ("rtl" if rtl else "ltr")
        assert page.evaluate("getComputedStyle(document.body).direction") == (
            "rtl" if rtl else "ltr"
        )
        shown = _do_every_type(page, language, shot)
        _stored(people[language], shown, language)
        page.context.close()
