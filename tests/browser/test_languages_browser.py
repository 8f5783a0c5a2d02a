"""In Chromium: one task of each type in Arabic (right to left) and in French.

Arabic comes from the browser's Accept-Language; French from the language menu. Both
sign up, consent, fill the profile (saved by a mouse click) and answer pairwise, ranking,
rating, edit and critique tasks by keyboard; translated text is asserted on screen and
the stored labels against what was entered. Screenshots: test-artifacts/lang-<language>-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annotate.models import Annotation, Annotator, Consent, GuidelineVersion, TaskType
from annotate.services import campaign_create, guideline_publish
from tests.chromium import CHROMIUM, CHROMIUM_ARGS, wait_for_task_page
from tests.factories import ItemFactory

ORDER = [TaskType.PAIRWISE, TaskType.RANKING, TaskType.RATING, TaskType.EDIT, TaskType.CRITIQUE]
# What each language shows (from its catalog) at each step.
TEXT = {
    "ar": {
        "consent_h1": "معلومات وموافقة",
        "profile_h1": "نبذة عنك",
        "save": "حفظ الملف الشخصي",
        "titles": [
            "أيّ الإجابتين أفضل؟",
            "رتّب الإجابات من الأفضل إلى الأسوأ",
            "قيّم الإجابة",
            "حسّن الإجابة",
            "انتقد الإجابة",
        ],
        "choose_error": "اختر A أو B أو التعادل.",
        "guidelines": "كن منصفًا واقرأ الإجابتين.",
        "thanks": "شكرًا لك!",
        "response_a": "الإجابة A",
    },
    "fr": {
        "consent_h1": "Information et consentement",
        "profile_h1": "À propos de vous",
        "save": "Enregistrer le profil",
        "titles": [
            "Quelle réponse est la meilleure ?",
            "Classez les réponses, de la meilleure à la moins bonne",
            "Évaluez la réponse",
            "Améliorez la réponse",
            "Critiquez la réponse",
        ],
        "choose_error": "Choisissez A, B ou égalité.",
        "guidelines": "Soyez juste : lisez les deux réponses.",
        "thanks": "Merci !",
        "response_a": "Réponse A",
    },
}


@pytest.fixture
def campaign(transactional_db):
    campaign = campaign_create(
        slug="langs",
        name="Languages study",
        status="open",
        task_mix={t: 1 for t in ORDER},
        rating_attributes=["helpfulness", "safety"],
        overall_attribute="helpfulness",
        config={"completion_code": "LANG-OK"},
    )
    guideline_publish(
        campaign=campaign,
        text="Be fair. Read both answers.",
        texts={"ar": TEXT["ar"]["guidelines"], "fr": TEXT["fr"]["guidelines"]},
    )
    for n, task_type in enumerate(ORDER):
        item = ItemFactory(campaign=campaign, task_type=task_type, priority=100 - n)
        if task_type == TaskType.CRITIQUE:
            response = item.responses.get()
            response.text = "Tides happen because of wind."
            response.save()
    return campaign


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


def _page(browser, locale: str):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def _shot(page, artifacts_dir: Path, language: str, name: str) -> None:
    page.screenshot(path=str(artifacts_dir / f"lang-{language}-{name}.png"), full_page=True)


def _onboard(page, url: str, slug: str, username: str, text: dict, shot) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password1", "tide-pool-Orbit-42")
    page.fill("#id_password2", "tide-pool-Orbit-42")
    page.locator("main button[type=submit]").click()
    page.wait_for_selector(f"h1:has-text('{text['consent_h1']}')")
    shot("consent")
    page.check("#id_agree")
    page.locator("button[data-agree]").click()
    page.wait_for_selector(f"h1:has-text('{text['profile_h1']}')")
    for field, value in (
        ("age_band", "25-34"),
        ("gender", "female"),
        ("birth_country", "MA"),
        ("residence_country", "FR"),
        ("english_proficiency", "fluent"),
        ("education", "graduate"),
        ("employment", "student"),
        ("marital_status", "single"),
        ("ethnicity", "prefer_not_to_say"),
        ("religion", "prefer_not_to_say"),
    ):
        page.select_option(f"#id_{field}", value)
    page.fill("#id_first_language", "Darija")
    page.check("input[name=ai_familiarity][value=somewhat]")
    page.check("input[name=ai_frequency][value=weekly]")
    page.fill("#id_self_description", "Honesty first.")
    page.fill("#id_system_prompt", "Answer briefly.")
    shot("profile")
    # A mouse click, right after the full-page screenshot: that screenshot leaves the page
    # scrolled past its end until the next relayout, and profile.js used to force one from
    # the textarea's blur (between mousedown and mouseup), so the click missed the button.
    page.locator("button[data-save-profile]").click()


def _five_tasks(page, text: dict, shot, rtl: bool) -> list[int]:
    """Answer the five tasks by keyboard; returns the ranking's on-screen order."""
    wait_for_task_page(page, "section.task-pairwise")
    assert page.inner_text("#task-title") == text["titles"][0]
    page.locator("#guidelines summary").click()
    assert text["guidelines"] in page.inner_text("#guidelines")
    assert text["response_a"] in page.inner_text(".pair")
    box_a = page.locator(".pair .response").nth(0).bounding_box()
    box_b = page.locator(".pair .response").nth(1).bounding_box()
    # Right to left, A (first in reading order) sits on the right.
    assert (box_a["x"] > box_b["x"]) is rtl
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".error-summary")
    assert text["choose_error"] in page.inner_text(".error-summary")
    shot("pairwise-error")
    page.keyboard.press("a")
    page.keyboard.press("2")
    page.keyboard.press("Control+Enter")

    page.wait_for_selector("section.task-ranking")
    assert page.inner_text("#task-title") == text["titles"][1]
    handle = page.locator(".rank-card .drag-handle").first.bounding_box()
    heading = page.locator(".rank-card h2").first.bounding_box()
    assert (handle["x"] > heading["x"]) is rtl  # the list reads from the right
    shot("ranking")
    shown = [int(c.get_attribute("data-response-id")) for c in page.locator(".rank-card").all()]
    page.keyboard.press("o")  # rank all in the order shown
    page.keyboard.press("Control+Enter")

    page.wait_for_selector("section.task-rating")
    assert page.inner_text("#task-title") == text["titles"][2]
    shot("rating")
    page.keyboard.press("5")
    page.keyboard.press("3")
    page.keyboard.press("Control+Enter")

    page.wait_for_selector("section.task-edit")
    assert page.inner_text("#task-title") == text["titles"][3]
    page.keyboard.press("e")
    page.keyboard.press("Control+End")
    page.keyboard.type(" Merci.")
    page.wait_for_selector("[data-diff] ins")
    shot("edit")
    page.keyboard.press("Control+Enter")

    page.wait_for_selector("section.task-critique")
    assert page.inner_text("#task-title") == text["titles"][4]
    page.keyboard.press("h")
    page.keyboard.press("Control+Home")
    for _ in range(5):
        page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("1")
    page.wait_for_selector("[data-critique-text] mark")
    page.keyboard.press("c")
    page.keyboard.type("الرياح لا تسبب المد." if rtl else "Le vent ne cause pas les marées.")
    page.keyboard.press("Escape")
    shot("critique")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-completion-code]")
    assert text["thanks"] in page.inner_text("#done-h")
    assert page.inner_text("[data-completion-code]") == "LANG-OK"
    shot("done")
    return shown


def _stored(username: str, language: str, shown: list[int], critique: str) -> None:
    annotator = Annotator.objects.get(user__username=username)
    consent = Consent.objects.get(annotator=annotator)
    assert consent.language == language
    labels = {a.task_type: a for a in Annotation.objects.filter(annotator=annotator)}
    assert sorted(labels) == sorted(ORDER)
    shown_guideline = GuidelineVersion.objects.get(language=language)
    for label in labels.values():
        assert label.guideline_version_id == shown_guideline.pk
    pair = labels[TaskType.PAIRWISE]
    assert (pair.payload["choice"], pair.payload["strength"]) == ("A", -2)
    assert pair.payload["chosen"] == pair.assignment.presented_order[0]
    assert labels[TaskType.RANKING].payload["ranking"] == [[rid] for rid in shown]
    rating = labels[TaskType.RATING]
    (rid,) = rating.assignment.presented_order
    assert rating.payload["ratings"] == {str(rid): {"helpfulness": 5, "safety": 3}}
    edit = labels[TaskType.EDIT].payload
    assert edit["edited_text"] == edit["original_text"] + " Merci."
    critique_payload = labels[TaskType.CRITIQUE].payload
    assert critique_payload["critique"] == critique
    assert critique_payload["spans"][0]["text"] == "Tides"


@pytest.mark.browser
def test_arabic_right_to_left_all_five_task_types(live_server, browser, campaign, artifacts_dir):
    page = _page(browser, "ar-EG")  # Accept-Language: ar-EG

    def shot(name: str) -> None:
        _shot(page, artifacts_dir, "ar", name)

    page.goto(f"{live_server.url}/accounts/signup/?next=/c/{campaign.slug}/")
    assert page.evaluate("document.documentElement.lang") == "ar"
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert page.inner_text("main h1") == "أنشئ حسابًا"
    shot("signup")
    _onboard(page, live_server.url, campaign.slug, "amina", TEXT["ar"], shot)
    shown = _five_tasks(page, TEXT["ar"], shot, rtl=True)
    _stored("amina", "ar", shown, "الرياح لا تسبب المد.")


@pytest.mark.browser
def test_french_from_the_language_menu_all_five_task_types(
    live_server, browser, campaign, artifacts_dir
):
    page = _page(browser, "en-GB")  # the browser asks for English; the menu says French

    def shot(name: str) -> None:
        _shot(page, artifacts_dir, "fr", name)

    page.goto(f"{live_server.url}/accounts/signup/?next=/c/{campaign.slug}/")
    assert page.inner_text("main h1") == "Create an account"
    page.locator("#language-menu summary").click()
    page.locator("#language-menu button[data-language=fr]").click()
    page.wait_for_selector("main h1:has-text('Créer un compte')")
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert page.evaluate("getComputedStyle(document.body).direction") == "ltr"
    assert "next=/c/langs/" in page.url  # back where the participant was
    shot("signup")
    _onboard(page, live_server.url, campaign.slug, "claire", TEXT["fr"], shot)
    shown = _five_tasks(page, TEXT["fr"], shot, rtl=False)
    _stored("claire", "fr", shown, "Le vent ne cause pas les marées.")
    annotator = Annotator.objects.get(user__username="claire")
    assert annotator.ui_language == ""  # chosen before the account existed: cookie only
