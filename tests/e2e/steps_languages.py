"""E2E step (issue 17): a participant whose browser asks for French (Accept-Language fr)
signs up, consents, fills the profile and answers one task, all in French.

Driven in Chromium against the running study; checked from outside (the page's text and
language, then plain SQL: the consent was recorded in French, the label stored). The
second-language campaign itself comes with issue 17 part B.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.chromium import wait_for_task_page
from tests.e2e.browser import fill_profile
from tests.e2e.harness import StudyServer, expect_json

TITLES_FR = {
    "pairwise": "Quelle réponse est la meilleure ?",
    "ranking": "Classez les réponses, de la meilleure à la moins bonne",
    "rating": "Évaluez la réponse",
    "edit": "Améliorez la réponse",
    "critique": "Critiquez la réponse",
}


def _one_item(prompt: str) -> dict[str, Any]:
    return {
        "task_type": "pairwise",
        "messages": [{"role": "user", "content": prompt}],
        "responses": [
            {"text": "The Moon's gravity pulls the oceans.", "source": "e2e-fr:0"},
            {"text": "Tides come from the wind.", "source": "e2e-fr:1"},
        ],
        "external_id": "e2e-fr-pairwise",
    }


def _answer(page: Any, task_type: str) -> None:
    """Answer whatever task came, by keyboard, as on every task page."""
    if task_type == "pairwise":
        page.keyboard.press("a")
    elif task_type == "ranking":
        page.keyboard.press("o")
    elif task_type == "rating":
        for _ in range(page.locator("[data-rating-group]").count()):
            page.keyboard.press("5")
    elif task_type == "edit":
        page.keyboard.press("e")
        page.keyboard.press("Control+End")
        page.keyboard.type(" Merci.")
    else:
        page.keyboard.press("c")
        page.keyboard.type("La réponse est trop vague.")
        page.keyboard.press("Escape")
    page.keyboard.press("Control+Enter")


def french_participant(
    browser: Any, server: StudyServer, admin_api: Any, slug: str, shots: Path
) -> str:
    """Returns the task type the participant answered."""
    # One more item, so the step has a task even after the crowd emptied the queue.
    expect_json(
        admin_api.post(
            f"/campaigns/{slug}/items/add/",
            json={"items": [_one_item("Comment fonctionnent les marées ?")]},
        ),
        201,
    )
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(30_000)
    shots.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{server.url}/accounts/signup/?next=/c/{slug}/")
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.inner_text("main h1") == "Créer un compte"
        page.fill("#id_username", "marie-fr")
        page.fill("#id_password1", "tide-pool-Orbit-42")
        page.fill("#id_password2", "tide-pool-Orbit-42")
        page.locator("main button[type=submit]").click()
        page.wait_for_selector("h1:has-text('Information et consentement')")
        page.check("#id_agree")
        page.locator("button[data-agree]").click()
        # The study has quotas on the country of residence: that question comes first.
        page.wait_for_selector("h1:has-text('abord quelques questions')")
        page.select_option("#id_residence_country", "GB")
        page.locator("button[data-screener-submit]").click()
        page.wait_for_selector("h1:has-text('À propos de vous')")
        assert page.input_value("#id_residence_country") == "GB"  # carried over
        fill_profile(
            page,
            {
                "age_band": "25-34",
                "gender": "female",
                "birth_country": "FR",
                "residence_country": "GB",  # a cell of the study's quota
                "english_proficiency": "fluent",
                "education": "graduate",
                "employment": "full_time",
                "marital_status": "married",
                "ethnicity": "prefer_not_to_say",
                "religion": "none",
            },
            first_language="Français",
            ai=("very", "daily"),
            about=("L'honnêteté avant tout.", "Réponds brièvement."),
        )
        page.locator("button[data-save-profile]").click()
        wait_for_task_page(page, "section.task")
        task_type = page.get_attribute("section.task", "data-task-type") or ""
        assert page.inner_text("#task-title") == TITLES_FR[task_type]
        page.screenshot(path=str(shots / f"fr-{task_type}.png"), full_page=True)
        # Wait for the submit's answer itself: the page already shows a task before it,
        # so the check below could pass (and the label not be committed yet).
        with page.expect_response(lambda r: "/submit/" in r.url and r.request.method == "POST"):
            _answer(page, task_type)
        page.wait_for_function(
            "() => !document.querySelector('.error-summary') && "
            "(document.querySelector('[data-completion-code], #done-h') || "
            "document.querySelector('section.task') && document.querySelector('#task-title'))"
        )
        assert re.search(r"lang=\"fr\"", page.content())
    finally:
        context.close()
    consent = server.db.value(
        "SELECT c.language FROM annotate_consent c JOIN annotate_annotator a "
        "ON a.id = c.annotator_id JOIN auth_user u ON u.id = a.user_id "
        "WHERE u.username = 'marie-fr'"
    )
    assert consent == "fr", consent
    labels = server.db.value(
        "SELECT count(*) FROM annotate_annotation n JOIN annotate_annotator a "
        "ON a.id = n.annotator_id JOIN auth_user u ON u.id = a.user_id "
        "WHERE u.username = 'marie-fr'"
    )
    assert labels == 1, labels
    return task_type
