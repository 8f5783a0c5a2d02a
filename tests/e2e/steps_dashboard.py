"""E2E step (issue 15): the admin reads the analytics dashboard in Chromium, tab by tab.

From the dashboard's campaign list to the campaign, every section through its tab; the
inconsistent cases page through with htmx when there are more than ten. Each tab's height
and a screenshot go to the artifacts; no tab may be a scroll marathon.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.study import ADMIN_PASSWORD

TABS = (
    "progress",
    "agreement",
    "consistency",
    "cases",
    "annotators",
    "leaderboard",
    "people",
    "judges",
)
MAX_TAB_HEIGHT_PX = 3000


def dashboard_tabs(browser: Any, base_url: str, *, slug: str, shots: Path) -> dict[str, int]:
    """Returns each tab's page height in CSS pixels (a 1200 x 900 window)."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.locator("form [type=submit]").first.click()
    page.goto(f"{base_url}/dashboard/")
    page.click(f"a[href='/dashboard/{slug}/']")
    page.wait_for_url(re.compile(rf"/dashboard/{slug}/$"))
    shots.mkdir(parents=True, exist_ok=True)
    heights: dict[str, int] = {}
    for tab in TABS:
        page.click(f"nav.dash-tabs a[href='?tab={tab}']")
        page.wait_for_selector(f"#dash-panel[data-tab='{tab}']")
        assert page.locator("nav.dash-tabs a[aria-current='page']").get_attribute("href") == (
            f"?tab={tab}"
        )
        heights[tab] = int(page.evaluate("document.documentElement.scrollHeight"))
        page.screenshot(path=str(shots / f"dashboard-{slug}-{tab}.png"), full_page=True)
    page.click("nav.dash-tabs a[href='?tab=cases']")
    total = int(re.search(r"(\d+) inconsistent case", page.inner_text("#cases")).group(1))
    assert page.locator("#cases .case").count() == min(total, 10)
    if total > 10:
        page.locator("#cases nav.pager a", has_text="next").click()
        page.wait_for_selector("#cases[data-page='2']")
        assert page.locator("#cases .case").count() == min(total - 10, 10)
    context.close()
    assert errors == []
    assert max(heights.values()) <= MAX_TAB_HEIGHT_PX, heights
    return heights
