"""A participant in Debian's Chromium: sign up, consent, profile, live conversations.

Replies come from the real SmolLM2 through the worker; the page streams them by htmx
polling. Each conversation is rated, continued with the best-rated model as an A/B
pair, and finished with attribute ratings and feedback, as a PRISM participant does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

ATTRIBUTES = ["values", "creativity", "fluency", "factuality", "diversity", "safety", "helpfulness"]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "/usr/bin/chromium is missing (make install adds it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Participant:
    def __init__(self, browser: Any, base_url: str, username: str, shots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.dialogs: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url, self.username, self.shots = base_url, username, shots

    def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shots / f"{self.username}-{name}.png"), full_page=True)

    def onboard(self, next_path: str) -> None:
        page = self.page
        page.goto(f"{self.url}/accounts/signup/?next={next_path}")
        page.fill("#id_username", self.username)
        page.fill("#id_password1", "tide-pool-Orbit-42")
        page.fill("#id_password2", "tide-pool-Orbit-42")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Information and consent")
        page.check("#id_agree")
        page.click("button:has-text('I agree')")
        page.wait_for_selector("h1:has-text('About you')")
        fill_profile(
            page,
            {
                "age_band": "35-44",
                "gender": "female",
                "birth_country": "IE",
                "residence_country": "GB",
                "english_proficiency": "fluent",
                "education": "graduate",
                "employment": "self_employed",
                "marital_status": "prefer_not_to_say",
                "ethnicity": "white",
                "religion": "prefer_not_to_say",
            },
            first_language="English",
            ai=("very", "daily"),
            use_case="research",
            about=("Honesty first.", "Answer briefly."),
        )
        page.click("button:has-text('Save profile')")

    def converse(self, campaign: str, *, opening: str, follow_up: str, k: int) -> dict[str, Any]:
        """One whole conversation; returns what the page showed while it streamed."""
        page = self.page
        page.goto(f"{self.url}/c/{campaign}/")
        page.wait_for_url(re.compile(r"/tasks/conversation/\d+/"))
        started = time.monotonic()
        page.fill("#conv-text", opening)
        page.get_by_role("button", name=re.compile(r"^Send to \d+ models$")).click()
        page.wait_for_selector("#conv-panel .cand")
        first_text, streamed = _wait_for_replies(page, k, started)
        opening_s = time.monotonic() - started
        self.shot("1-rate")
        labels = page.eval_on_selector_all(
            "#conv-panel .cand > .cand-label", "els => els.map(e => e.innerText)"
        )
        assert len(labels) == k and len(set(labels)) == k, labels
        for n in range(k):
            _set_range(page, f"#conv-panel .cand:nth-child({n + 1}) input[type=range]", 20 + 30 * n)
        page.get_by_role("button", name="Submit ratings").click()
        page.locator("#conv-panel .msg.assistant").first.wait_for()

        started = time.monotonic()
        page.fill("#conv-text", follow_up)
        page.get_by_role("button", name="Send", exact=True).click()
        _, streamed_pair = _wait_for_replies(page, 2, started)
        pair_s = time.monotonic() - started
        self.shot("2-pair")
        page.check("input[name=choice][value=B]")
        _set_range(page, "input[name=score-A]", 35)
        _set_range(page, "input[name=score-B]", 80)
        page.get_by_role("button", name="Submit choice").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#conv-panel .msg.assistant').length >= 2"
        )
        page.locator("summary", has_text="Finish the conversation").click()
        for n, attribute in enumerate(ATTRIBUTES):
            _set_range(page, f"input[name=attr-{attribute}]", 40 + n)
        page.fill("#conv-feedback", "Short answers, but on topic.")
        page.get_by_role("button", name="Submit and finish").click()
        page.locator("#conv-panel p.done").wait_for()
        assert "Thank you" in page.inner_text("#conv-panel p.done")
        self.shot("3-done")
        assert self.dialogs == []
        return {
            "first_text_s": first_text,
            "opening_s": opening_s,
            "pair_s": pair_s,
            "saw_partial_text": streamed or streamed_pair,
        }

    def close(self) -> None:
        self.context.close()


def fill_profile(
    page: Any,
    selects: dict[str, str],
    *,
    first_language: str,
    ai: tuple[str, str],
    about: tuple[str, str],
    use_case: str | None = None,
) -> None:
    """Answer the profile form the way a participant does (every e2e step that onboards
    someone in Chromium goes through here): the drop-downs, first language, AI
    familiarity and frequency, an optional use case, then the self-description and the
    system prompt. Saving is left to the caller: the button's label depends on the UI
    language."""
    for field, value in selects.items():
        page.select_option(f"#id_{field}", value)
    page.fill("#id_first_language", first_language)
    page.check(f"input[name=ai_familiarity][value={ai[0]}]")
    page.check(f"input[name=ai_frequency][value={ai[1]}]")
    if use_case:
        page.check(f"input[name=use_cases][value={use_case}]")
    page.fill("#id_self_description", about[0])
    page.fill("#id_system_prompt", about[1])


def _set_range(page: Any, selector: str, value: int) -> None:
    page.locator(selector).evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        value,
    )


def _wait_for_replies(
    page: Any, n: int, started: float, timeout_s: float = 240
) -> tuple[float | None, bool]:
    """Wait until n candidates are done, each with non-empty text. Returns when the
    first text was visible (s) and whether the page showed a reply's text while it was
    still being generated (fast replies may finish between two polls)."""
    deadline = time.monotonic() + timeout_s
    first_text: float | None = None
    streamed = False
    while time.monotonic() < deadline:
        states = page.eval_on_selector_all(
            "#conv-panel .cand",
            "els => els.map(e => [e.dataset.status, e.querySelector('.text').innerText])",
        )
        if first_text is None and any(t.strip() for _, t in states):
            first_text = time.monotonic() - started
        streamed = streamed or any(s == "running" and t.strip() for s, t in states)
        if any(s == "failed" for s, _ in states):
            raise AssertionError(f"a reply failed: {states}")
        if (
            len(states) == n
            and all(s == "done" for s, _ in states)
            and page.locator("#conv-panel input[type=range]").count() >= n
        ):
            assert all(t.strip() for _, t in states), f"an empty reply: {states}"
            return first_text, streamed
        time.sleep(0.1)
    raise AssertionError(f"{n} replies not done in {timeout_s} s")


def researcher_session(
    browser: Any, base_url: str, *, username: str, password: str, campaign: str, shots: Path
) -> dict[str, Any]:
    """The researcher's web page, in Chromium: from the home page to /research/, a new
    API token, one export downloaded from the form and one run in the background with
    its progress bar. Returns the token and the two files' bytes."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form [type=submit]").first.click()
    page.click("#research-link")
    page.wait_for_url(re.compile(r"/research/"))
    assert page.locator(f"#campaign-{campaign}").count() == 1
    page.click("#token-rotate")
    token = page.input_value("#api-token")
    assert re.fullmatch(r"[0-9a-f]{40}", token), token

    page.select_option("#id_campaign", campaign)
    page.select_option("#id_shape", "trl-preference")
    page.select_option("#id_format", "jsonl")
    with page.expect_download() as download:
        page.click("#export-submit")
    direct = Path(download.value.path()).read_bytes()

    page.select_option("#id_campaign", campaign)
    page.select_option("#id_shape", "raw")
    page.select_option("#id_format", "parquet")
    page.check("#id_async")
    page.click("#export-submit")
    page.wait_for_url(re.compile(r"/research/#export-\d+"))
    export_id = page.url.rsplit("#export-", 1)[1]
    # The row polls itself (htmx) until the worker has written the file.
    page.wait_for_selector(f'#export-{export_id}[data-status="done"]', timeout=120_000)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "research-page.png"), full_page=True)
    with page.expect_download() as download:
        page.click(f"#export-{export_id}-download")
    background = Path(download.value.path()).read_bytes()
    context.close()
    return {"token": token, "direct_jsonl": direct, "background_parquet": background}
