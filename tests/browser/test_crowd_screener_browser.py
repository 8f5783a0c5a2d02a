"""In Chromium: a crowd participant the screener refuses reaches the platform's
screen-out URL, and one who finishes reaches its completion URL, under the pages' CSP
(``form-action 'self'`` blocks a plain 302 to another site after a form's POST)."""

from __future__ import annotations

import pytest

from annotate.models import TaskType
from tests.annotate.ui_helpers import campaign_with, give_consent, onboarded_annotator
from tests.browser.test_task_types_by_mouse import _logged_in_page, browser  # noqa: F401
from tests.factories import AnnotatorFactory

PLATFORM = "https://app.prolific.com/submissions/complete"
CONFIG = {
    "eligibility": {"residence_country": ["GB"]},
    "screen_out_code": "OUT",
    "screen_out_url": PLATFORM + "?cc={code}",
    "completion_code": "DONE",
    "completion_url": PLATFORM + "?cc={code}",
    "completion_redirect": True,
}


def _platform(page) -> None:
    # The platform is not reachable from here: the browser answers for it.
    page.context.route(f"{PLATFORM}*", lambda route: route.fulfill(status=200, body="ok"))


@pytest.mark.browser
def test_screen_out_and_completion_reach_the_platform(live_server, browser, transactional_db):  # noqa: F811
    campaign = campaign_with(TaskType.BWS, config=CONFIG, status="open")
    refused = AnnotatorFactory()
    give_consent(refused)
    give_consent(refused, campaign)
    page = _logged_in_page(browser, live_server, refused)
    _platform(page)
    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    assert page.locator("#id_religion").count() == 0  # the screener, not the profile
    page.select_option("#id_residence_country", "FR")
    page.locator("button[data-screener-submit]").click()
    page.wait_for_url(f"{PLATFORM}?cc=OUT")
    page.context.close()

    finisher = onboarded_annotator(residence_country="GB")
    give_consent(finisher, campaign)
    page = _logged_in_page(browser, live_server, finisher)
    _platform(page)
    page.goto(f"{live_server.url}/c/{campaign.slug}/")
    cards = page.locator("[data-bws-card]")
    cards.nth(0).locator("label.bws-best").click()
    cards.nth(1).locator("label.bws-worst").click()
    page.locator("#task-form button[type=submit]").click()
    page.wait_for_url(f"{PLATFORM}?cc=DONE")
    page.context.close()
