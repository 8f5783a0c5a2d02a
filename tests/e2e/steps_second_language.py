"""E2E step (issue 17, part B): a second campaign whose items are in French.

The admin imports them through the real import path (``manage.py import_items --create
--language fr``, one line also naming its language itself) with a language quota in the
typed config, and opens the campaign over REST. The French participant of
steps_languages (``marie-fr``, profile already filled) logs in with a French browser,
reads and accepts this campaign's own consent in French, and answers one task by
keyboard. Checked from outside: plain
SQL (items and the label are French), the raw and trl-preference exports over REST carry
``language = fr``, and ``manage.py analytics --json`` splits the figures by language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.chromium import wait_for_task_page
from tests.e2e.harness import StudyServer, expect_json

SLUG = "study-fr"
USERNAME, PASSWORD = "marie-fr", "tide-pool-Orbit-42"  # made by steps_languages
CONSENT_FR = "J'accepte d'annoter des données en français pour cette étude."

ROWS = [
    {
        "id": "fr-1",
        "prompt": "Pourquoi la mer a-t-elle des marées ?",
        "responses": ["La Lune attire les océans.", "À cause du vent."],
        "language": "fr",
    },
    {
        "id": "fr-2",
        "prompt": "Comment faire un bon café ?",
        "responses": ["Avec de l'eau à 93 °C.", "Avec de l'eau froide."],
    },
]


def _import(server: StudyServer, workdir: Path) -> None:
    data, config = workdir / "items-fr.jsonl", workdir / "config-fr.json"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n")
    config.write_text(
        json.dumps(
            {
                "min_seconds": 0,
                "language_quotas": {"fr": {"max_labels": 10}},
                # Its own consent (the site's was given already), translated.
                "consent": {
                    "text": "I agree to label data in French for this study.",
                    "texts": {"fr": CONSENT_FR},
                },
            },
            ensure_ascii=False,
        )
    )
    done = server.manage(
        "import_items",
        str(data),
        "--campaign",
        SLUG,
        "--format",
        "jsonl",
        "--create",
        "--language",
        "fr",
        "--config",
        str(config),
        "--no-progress",
    )
    assert "items created: 2" in done.stdout, done.stdout


def _answer_in_french(browser: Any, server: StudyServer, shots: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{server.url}/accounts/login/?next=/c/{SLUG}/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_selector("h1:has-text('Information et consentement')")
        assert CONSENT_FR in page.inner_text("main")
        page.check("#id_agree")
        page.locator("button[data-agree]").click()
        wait_for_task_page(page, "section.task")
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.get_attribute("section.task", "data-task-type") == "pairwise"
        page.screenshot(path=str(shots / "fr-campaign-task.png"), full_page=True)
        with page.expect_response(lambda r: "/submit/" in r.url and r.request.method == "POST"):
            page.keyboard.press("a")
            page.keyboard.press("Control+Enter")
    finally:
        context.close()


def second_language_campaign(
    browser: Any, server: StudyServer, admin_api: Any, shots: Path
) -> dict[str, Any]:
    shots.mkdir(parents=True, exist_ok=True)
    _import(server, server.workdir)
    assert expect_json(admin_api.post(f"/campaigns/{SLUG}/open/"))["status"] == "open"
    languages = server.db.rows(
        "SELECT i.language, p.language FROM annotate_item i JOIN annotate_prompt p "
        "ON p.id = i.prompt_id JOIN annotate_campaign c ON c.id = i.campaign_id "
        f"WHERE c.slug = '{SLUG}'"
    )
    assert sorted(languages) == [("fr", "fr"), ("fr", "fr")], languages

    _answer_in_french(browser, server, shots)
    labelled = server.db.rows(
        "SELECT i.language FROM annotate_annotation n JOIN annotate_item i ON i.id = n.item_id "
        "JOIN annotate_campaign c ON c.id = n.campaign_id JOIN annotate_annotator a "
        "ON a.id = n.annotator_id JOIN auth_user u ON u.id = a.user_id "
        f"WHERE c.slug = '{SLUG}' AND u.username = '{USERNAME}'"
    )
    assert labelled == [("fr",)], labelled
    consent = server.db.value(
        "SELECT k.language FROM annotate_consent k JOIN annotate_campaign c "
        f"ON c.id = k.campaign_id WHERE c.slug = '{SLUG}'"
    )
    assert consent == "fr", consent

    exported = {}
    for shape in ("raw", "trl-preference"):
        answer = admin_api.get(f"/campaigns/{SLUG}/export", params={"shape": shape})
        assert answer.status_code == 200, answer.text[:500]
        rows = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
        assert len(rows) == 1 and rows[0]["language"] == "fr", (shape, rows)
        exported[shape] = rows[0]
    assert {r["language"] for r in exported["raw"]["responses"]} == {"fr"}

    report = json.loads(server.manage("analytics", "--campaign", SLUG, "--json").stdout)
    assert report["n_labels"] == 1
    assert set(report["per_language"]) == {"fr"}
    assert report["per_language"]["fr"]["n_labels"] == 1
    assert report["progress"]["by_language"]["fr"]["items"]["total"] == 2
    return {"labels": 1, "exported_language": exported["raw"]["language"]}
