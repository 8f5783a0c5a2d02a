"""End to end in Chromium: sign up, consent, profile, one task of each type by keyboard.

Screenshots of every task page go to test-artifacts/ (gitignored, kept by CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.models import Annotation, Annotator, Consent, TaskType
from annotate.services import campaign_create
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, wait_for_task_page
from tests.factories import GuidelineFactory, ItemFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS = '<script>alert("xss")</script><img src=x onerror="alert(1)">'
ORDER = [TaskType.PAIRWISE, TaskType.RANKING, TaskType.RATING, TaskType.EDIT, TaskType.CRITIQUE]


@pytest.fixture
def campaign(transactional_db):
    campaign = campaign_create(
        slug="flow",
        name="Flow study",
        status="open",
        task_mix={t: 1 for t in ORDER},
        rating_attributes=["helpfulness", "safety"],
        overall_attribute="helpfulness",
        config={"completion_code": "FLOW-OK"},
    )
    GuidelineFactory(campaign=campaign, text="Be fair. Read both answers.")
    for n, task_type in enumerate(ORDER):
        # Higher priority first: the tasks come in ORDER.
        item = ItemFactory(campaign=campaign, task_type=task_type, priority=100 - n)
        if task_type == TaskType.PAIRWISE:
            response = item.responses.first()
            response.text = XSS
            response.save()
        if task_type == TaskType.CRITIQUE:
            response = item.responses.get()
            response.text = "Tides happen because of wind. <b>Really</b>."
            response.save()
    return campaign


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright import sync_api as playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("/usr/bin/chromium is missing (apt-get install -y chromium)")
    # The ORM checks in the test run beside Playwright's event loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        yield pg
        assert dialogs == []  # no injected script ever ran
        context.close()
        browser.close()


def _shot(page, name: str, prefix: str = "task") -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"), full_page=True)


def _submit_and_wait(page, next_selector: str) -> None:
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(next_selector)


@pytest.mark.browser
def test_new_annotator_does_one_task_of_each_type_by_keyboard(live_server, page, campaign):
    url = live_server.url
    page.goto(f"{url}/accounts/signup/?next=/c/{campaign.slug}/")
    page.fill("#id_username", "alice")
    page.fill("#id_password1", "tide-pool-Orbit-42")
    page.fill("#id_password2", "tide-pool-Orbit-42")
    page.click("button[type=submit]")

    # Consent.
    page.wait_for_selector("text=Information and consent")
    _shot(page, "consent", prefix="page")
    page.check("#id_agree")
    page.click("button:has-text('I agree')")

    # Profile survey.
    page.wait_for_selector("h1:has-text('About you')")
    page.select_option("#id_age_band", "35-44")
    page.select_option("#id_gender", "self_describe")
    page.fill("#id_gender_self_describe", "Genderfluid")
    page.select_option("#id_birth_country", "IE")
    page.select_option("#id_residence_country", "GB")
    page.fill("#id_first_language", "Irish")
    page.select_option("#id_english_proficiency", "fluent")
    page.select_option("#id_education", "graduate")
    page.select_option("#id_employment", "self_employed")
    page.select_option("#id_marital_status", "prefer_not_to_say")
    page.select_option("#id_ethnicity", "white")
    page.select_option("#id_religion", "prefer_not_to_say")
    page.check("input[name=ai_familiarity][value=very]")
    page.check("input[name=ai_frequency][value=daily]")
    page.check("input[name=use_cases][value=coding]")
    page.check("input[name=use_cases][value=research]")
    page.focus("#id_pref_factuality")
    page.keyboard.press("End")  # slider to 100 by keyboard
    page.focus("#id_pref_creativity")
    page.keyboard.press("Home")  # and to 0
    page.fill("#id_self_description", "Honesty first.")
    page.fill("#id_system_prompt", "Answer briefly.")
    _shot(page, "profile", prefix="page")
    page.click("button:has-text('Save profile')")

    # Pairwise.
    wait_for_task_page(page, "section.task-pairwise")
    page.evaluate("window.__noReload = true")
    assert XSS in page.inner_text("section.task-pairwise .pair")  # shown as text
    assert page.locator("section.task img").count() == 0
    _shot(page, "pairwise")
    page.keyboard.press("r")
    page.keyboard.type("B is <clearer>")
    page.keyboard.press("Escape")
    # Submitting without a choice: the error shows inline and the typed reason stays.
    _submit_and_wait(page, ".error-summary")
    assert "Choose A, B or tie." in page.inner_text(".error-summary")
    assert page.input_value("#reason") == "B is <clearer>"
    _shot(page, "pairwise-error")
    page.keyboard.press("b")
    page.keyboard.press("3")
    _submit_and_wait(page, "section.task-ranking")

    # Ranking: j moves between responses, digits give ranks (a tie on rank 2).
    _shot(page, "ranking")
    # Drag and drop: the last response dropped on the first moves to the top, ranks follow.
    cards = page.locator(".rank-card")
    last_id = cards.nth(2).get_attribute("data-response-id")
    cards.nth(2).drag_to(cards.nth(0), target_position={"x": 20, "y": 5})
    assert page.locator(".rank-card").nth(0).get_attribute("data-response-id") == last_id
    assert page.input_value(f"#rank_{last_id}") == "1"
    page.evaluate("document.activeElement.blur()")
    shown = [int(c.get_attribute("data-response-id")) for c in page.locator(".rank-card").all()]
    for key in ("j", "2", "j", "1", "j", "2"):
        page.keyboard.press(key)
    _submit_and_wait(page, "section.task-rating")

    # Rating: digits rate the current question and move on.
    _shot(page, "rating")
    page.keyboard.press("6")
    page.keyboard.press("4")
    _submit_and_wait(page, "section.task-edit")

    # Edit: e opens the editor; the live diff shows the insertion.
    _shot(page, "edit")
    page.keyboard.press("e")
    page.keyboard.press("Control+End")
    page.keyboard.type(" And the sun.")
    page.wait_for_selector("[data-diff] ins:has-text('sun.')")
    assert page.inner_text("[data-edit-distance]") == str(len(" And the sun."))
    _shot(page, "edit-diff")
    _submit_and_wait(page, "section.task-critique")

    # Critique: h focuses the response, Shift+arrows select, 1 = first category.
    _shot(page, "critique")
    assert "<b>Really</b>" in page.inner_text("[data-critique-text]")  # shown as text
    page.keyboard.press("h")
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+ArrowRight")
    # htmx runs a task's setup once the swap has settled, which can come after the first
    # keys (a French run lost its first character): setup again now, mid-selection.
    page.evaluate("htmx.trigger('#task .task', 'htmx:load', {elt: htmx.find('#task .task')})")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    page.wait_for_selector("[data-critique-text] mark")
    page.keyboard.press("c")
    page.keyboard.type("Wind does not cause tides.")
    page.keyboard.press("Escape")
    page.keyboard.press("u")
    page.keyboard.type("Explain the moon's pull.")
    _shot(page, "critique-marked")
    _submit_and_wait(page, "[data-completion-code]")
    assert page.inner_text("[data-completion-code]") == "FLOW-OK"
    assert page.evaluate("window.__noReload") is True  # htmx swaps, never a reload

    # What is stored matches what was entered.
    annotator = Annotator.objects.get(user__username="alice")
    assert Consent.objects.filter(annotator=annotator).count() == 1
    profile = annotator.current_profile
    assert (profile.age_band, profile.gender_self_describe, profile.birth_country) == (
        "35-44",
        "Genderfluid",
        "IE",
    )
    assert (profile.pref_factuality, profile.pref_creativity) == (100, 0)
    assert sorted(profile.use_cases) == ["coding", "research"]
    labels = {a.task_type: a for a in Annotation.objects.filter(annotator=annotator)}
    assert sorted(labels) == sorted(ORDER)
    for ann in labels.values():
        assert ann.time_spent_ms and ann.time_spent_ms > 0
        assert ann.profile_version_id == profile.pk and ann.guideline_version_id

    pair = labels[TaskType.PAIRWISE]
    assert (pair.payload["choice"], pair.payload["strength"]) == ("B", 3)
    assert pair.payload["chosen"] == pair.assignment.presented_order[1]
    assert pair.payload["reason"] == "B is <clearer>"

    ranking = labels[TaskType.RANKING]
    x, y, z = shown  # the on-screen order after the drag
    assert [set(group) for group in ranking.payload["ranking"]] == [{y}, {x, z}]

    rating = labels[TaskType.RATING]
    (rid,) = rating.assignment.presented_order
    assert rating.payload["ratings"] == {str(rid): {"helpfulness": 6, "safety": 4}}

    edit = labels[TaskType.EDIT]
    assert edit.payload["edited_text"] == edit.payload["original_text"] + " And the sun."
    assert edit.payload["edit_distance"] == len(" And the sun.")

    critique = labels[TaskType.CRITIQUE]
    assert critique.payload["critique"] == "Wind does not cause tides."
    assert critique.payload["suggestion"] == "Explain the moon's pull."
    (span,) = critique.payload["spans"]
    assert (span["start"], span["end"], span["text"]) == (0, 5, "Tides")
    assert span["category"] == campaign.critique_categories[0]
