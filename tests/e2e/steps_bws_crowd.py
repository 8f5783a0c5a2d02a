"""E2E step (issue 17 part B2): a crowd study of best-worst tasks.

The admin creates, over REST, an unlisted best-worst campaign for a crowd platform:
eligibility (residence in GB), screen-out and completion codes with their Prolific URLs,
one task per participant, and hands out signed join links. In Chromium:

- one participant, living in France, answers the screening question and is sent to the
  platform's screen-out URL (with its code) without ever seeing the rest of the profile;
- another, living in GB, passes the screener, saves the profile (pre-filled with the
  screener's answer), picks the best and the worst of four responses by keyboard
  (j / b / w, then Ctrl+Enter) and is sent to the completion URL with its code.

The platform is not reachable from here: the browser answers its URLs itself, and the
step asserts the URL each participant was sent to. Checked from outside with plain SQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.chromium import wait_for_task_page
from tests.e2e.browser import fill_profile
from tests.e2e.harness import StudyServer, expect_json

SLUG = "e2e-bws-crowd"
PLATFORM = "https://app.prolific.com/submissions/complete"
SCREEN_OUT = f"{PLATFORM}?cc=E2E-SCREENED"
COMPLETE = f"{PLATFORM}?cc=E2E-DONE"


def _create(admin_api: httpx.Client) -> None:
    expect_json(
        admin_api.post(
            "/campaigns/create/",
            json={
                "slug": SLUG,
                "name": "E2E crowd: best-worst",
                "guidelines": "Pick the most and the least helpful answer.",
                "task_mix": {"bws": 1},
                "overlap": 1,
                "config": {
                    "listed": False,
                    "eligibility": {"residence_country": ["GB"]},
                    "max_tasks_per_annotator": 1,
                    "screen_out_code": "E2E-SCREENED",
                    "screen_out_url": PLATFORM + "?cc={code}",
                    "completion_code": "E2E-DONE",
                    "completion_url": PLATFORM + "?cc={code}",
                    "completion_redirect": True,
                },
            },
        ),
        201,
    )
    answers = [
        "The Moon's gravity pulls the oceans into two bulges.",
        "Tides come from the wind.",
        "The Sun and the Moon both pull on the sea; the Moon more.",
        "Nobody knows.",
    ]
    item = {
        "task_type": "bws",
        "messages": [{"role": "user", "content": "How do tides work?"}],
        "responses": [{"text": t, "source": f"e2e-bws:{n}"} for n, t in enumerate(answers)],
        "external_id": "e2e-bws-1",
    }
    expect_json(admin_api.post(f"/campaigns/{SLUG}/items/add/", json={"items": [item]}), 201)
    assert expect_json(admin_api.post(f"/campaigns/{SLUG}/open/"))["status"] == "open"


def _page(browser: Any, server: StudyServer, link: str) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    # The crowd platform, answered by the browser itself (no network here).
    context.route(f"{PLATFORM}*", lambda route: route.fulfill(status=200, body="platform"))
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(link if link.startswith("http") else server.url + link)
    page.wait_for_selector("text=Information and consent")
    page.check("#id_agree")
    page.locator("button[data-agree]").click()
    page.wait_for_selector("h1:has-text('A few questions first')")
    assert page.locator("#id_religion").count() == 0  # only the screening question
    return page


def _fill_profile(page: Any) -> None:
    fill_profile(
        page,
        {
            "age_band": "45-54",
            "gender": "male",
            "birth_country": "GB",
            "english_proficiency": "native",
            "education": "graduate",
            "employment": "full_time",
            "marital_status": "married",
            "ethnicity": "prefer_not_to_say",
            "religion": "none",
        },
        first_language="English",
        ai=("somewhat", "weekly"),
        about=("Fairness matters.", "Be concise."),
    )
    page.locator("button[data-save-profile]").click()


def _profiles(server: StudyServer, participant: str) -> int:
    return int(
        server.db.value(
            "SELECT count(*) FROM annotate_profileversion p JOIN annotate_annotator a "
            f"ON a.id = p.annotator_id WHERE a.external_id = '{participant}'"
        )
    )


def bws_crowd(browser: Any, server: StudyServer, admin_api: httpx.Client, shots: Path) -> None:
    _create(admin_api)
    links = expect_json(
        admin_api.post(
            f"/campaigns/{SLUG}/join-links/", json={"participants": ["e2e-fr-1", "e2e-gb-1"]}
        )
    )
    url = {row["participant"]: row["url"] for row in links}
    shots.mkdir(parents=True, exist_ok=True)

    # Screened out: straight back to the platform, with the screen-out code.
    page = _page(browser, server, url["e2e-fr-1"])
    page.select_option("#id_residence_country", "FR")
    page.locator("button[data-screener-submit]").click()
    page.wait_for_url(SCREEN_OUT)
    page.context.close()
    assert _profiles(server, "e2e-fr-1") == 0

    # Eligible: the profile, one best-worst task by keyboard, then the completion URL.
    page = _page(browser, server, url["e2e-gb-1"])
    page.select_option("#id_residence_country", "GB")
    page.locator("button[data-screener-submit]").click()
    page.wait_for_selector("h1:has-text('About you')")
    assert page.input_value("#id_residence_country") == "GB"
    _fill_profile(page)
    wait_for_task_page(page, "section.task-bws")
    shown = [
        int(x.get_attribute("data-response-id")) for x in page.locator("[data-bws-card]").all()
    ]
    assert len(shown) == 4
    page.keyboard.press("j")  # focus the first response
    page.keyboard.press("b")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the fourth
    page.keyboard.press("w")
    # Checked before the submit, so a lost key fails here, with what the page showed.
    best = page.locator("[data-bws-best]")
    worst = page.locator("[data-bws-worst]")
    assert best.nth(0).is_checked() and worst.nth(3).is_checked(), page.inner_text("main")
    page.screenshot(path=str(shots / "bws-crowd-task.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(COMPLETE)
    page.context.close()
    payload = server.db.value(
        "SELECT n.payload FROM annotate_annotation n JOIN annotate_annotator a "
        "ON a.id = n.annotator_id WHERE a.external_id = 'e2e-gb-1'"
    )
    assert payload is not None, "the best-worst label was not stored"
    # PostgreSQL's driver gives the jsonb as a dict, SQLite the JSON text.
    stored = payload if isinstance(payload, dict) else json.loads(payload)
    assert (stored["best"], stored["worst"]) == (shown[0], shown[3]), stored
    assert _profiles(server, "e2e-gb-1") == 1
