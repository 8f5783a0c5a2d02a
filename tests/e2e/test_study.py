"""The acceptance run: one whole study, driven the way its users drive Chorus.

Real processes throughout: ``manage.py runall`` (what ``make run`` starts: gunicorn, a
Celery worker and Celery beat under one supervisor), the real SmolLM2, Chromium for the
participants, the ``simulate`` driver for the crowd, HTTP for the admin and the
researcher. Once on PostgreSQL + Redis with every step, and once in embedded mode (SQLite +
kombu's filesystem broker, what a newcomer's ``make run`` gets) with the core study only:
steps 0-6, the path every deployment depends on. The feature steps (2c-2f, 3c, 7, 8, 9)
exercise code that does not depend on the database or broker backend and run in the
PostgreSQL run only: running them twice cost about two minutes of the suite's budget.

Steps (each one's wall time goes to test-artifacts/e2e-timings-<mode>.json):
1. the admin creates the campaigns over REST (five task types; live conversations with a
   model pool, a demographic quota and a refit schedule) and imports HH-RLHF items;
2. simulated annotators answer every task type over HTTP; participants in Chromium
   hold live conversations with SmolLM2: rated, continued, finished;
3. the dashboard shows the new labels within the debounce, nobody pressing a button; the
   admin reads it in Chromium, one tab per section (steps_dashboard);
4. a researcher, on the research page in Chromium, makes a token and downloads one
   export directly and one from a background job; then, with that token, every export
   shape in every format for every campaign over the API;
   datasets reads them, zips open, row counts match the database, TRL takes a step;
5. beat starts a reward and a DPO refit; both are promoted; the next live reply in the
   conversation campaign comes from the promoted policy;
6. labels on the new policy's replies export with that policy version;
7. hardening (tests/e2e/steps_hardening.py): hostile input answers 400, the typed config
   refuses a typo, a crowd link needs its signature, and a webhook receiver got signed
   events from the worker (labels, export ready, refits finished and promoted);
8. AI judges (tests/e2e/steps_judges.py): a SmolLM2 judge labels a few items in both
   orders; the Judges tab and a ``source=ai`` export show its labels;
9. routing (tests/e2e/steps_routing.py): a human budget, a plan from the worker, people
   get only the item routed to them.
Issue 17 part B1 (steps_second_language, after 2c): a campaign imported in French with
``import_items --language fr``; the French participant labels it; exports carry
``language = fr``; ``analytics --json`` splits by language.
2f. a crowd study of best-worst tasks (tests/e2e/steps_bws_crowd.py): a participant the
   screener refuses goes to the platform's screen-out URL, another does a best-worst task
   in Chromium by keyboard and goes to the completion URL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import (
    steps_bws_crowd,
    steps_dashboard,
    steps_hardening,
    steps_judges,
    steps_languages,
    steps_routing,
    steps_second_language,
    steps_throughput,
    study,
)
from tests.e2e.browser import Participant, chromium
from tests.e2e.harness import StudyServer, Timings

# Both runs on one xdist worker (make test splits the suite): two whole studies at once
# would fight over the two cores, and they share the e2e broker database.
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.xdist_group("e2e"),
]

DEBOUNCE_S = 5.0  # CHORUS_ANALYTICS_DEBOUNCE_S given to the servers (harness)


def _run_study(
    mode: str, scale: study.Scale, tmp_path: Path, shared_data: Path, artifacts: Path
) -> None:
    features = mode == "postgres"  # the feature steps run once (module docstring)
    timings = Timings(mode)
    server = StudyServer(
        mode=mode,
        workdir=tmp_path,
        extra_env={**steps_hardening.SERVER_ENV, **steps_throughput.SERVER_ENV},
    )
    shots = artifacts / f"e2e-{mode}"
    hooks = None
    try:
        with timings.step("0 start (migrate, model, web+worker+beat)"):
            server.start()
        with timings.step("1 admin sets up the study over REST"):
            people = study.admin_setup(server, scale, shared_data)
        if features:
            with timings.step("7a hostile input, typed config, crowd links; webhooks registered"):
                hooks = steps_hardening.webhooks_register(
                    people["admin_api"], (study.STUDY, study.CHAT)
                )
                steps_hardening.hostile_inputs(server, people["admin_api"], study.STUDY)
        with timings.step("2a simulated annotators, every task type"):
            study.simulate_crowd(server, scale)
        with timings.step("3 dashboard refreshes by itself"):
            lag = study.dashboard_catches_up(
                server, people["admin"], slug=study.STUDY, debounce=DEBOUNCE_S
            )
            timings.steps["3 dashboard lag after last label (s)"] = round(lag, 1)

        with chromium() as browser:
            participants = [
                Participant(browser, server.url, f"chat-{n}", shots)
                for n in range(max(2, scale.conversations_before_refit))
            ]
            with timings.step("2b browser conversations before the refit"):
                for n in range(scale.conversations_before_refit):
                    who = participants[n]
                    who.onboard(f"/c/{study.CHAT}/")
                    seen = who.converse(
                        study.CHAT,
                        opening=("How do tides work?", "Give me a tip for learning French.")[n % 2],
                        follow_up="Say it in one short sentence.",
                        k=study.CONVERSATION_K,
                    )
                    timings.steps[f"2b conversation {n + 1} first text (s)"] = round(
                        seen["first_text_s"] or -1, 1
                    )
                    timings.steps[f"2b conversation {n + 1} opening turn (s)"] = round(
                        seen["opening_s"], 1
                    )
                    timings.steps[f"2b conversation {n + 1} partial text seen"] = seen[
                        "saw_partial_text"
                    ]
            if features:
                with timings.step("2c a participant in French (Accept-Language fr)"):
                    steps_languages.french_participant(
                        browser, server, people["admin_api"], study.STUDY, shots
                    )
                # --- issue 17 part B1: a second-language campaign (steps_second_language) ---
                with timings.step("2d a campaign in French: import, label, export, analytics"):
                    steps_second_language.second_language_campaign(
                        browser, server, people["admin_api"], shots
                    )
                # --- end of issue 17 part B1 ---
                # --- issue 14 (steps_throughput): beat and the worker expire a stale lease ---
                with timings.step("2e a lease runs out; beat's task expires it"):
                    timings.steps["2e lease expired after (s)"] = round(
                        steps_throughput.leases_expire_by_beat(server, browser, study.CHAT, shots),
                        1,
                    )
                # --- end of issue 14 ---
                # --- issue 17 part B2 (steps_bws_crowd) ---
                with timings.step("2f crowd: best-worst task, screen-out and completion redirects"):
                    steps_bws_crowd.bws_crowd(browser, server, people["admin_api"], shots)
                # --- end issue 17 part B2 ---
            study.assert_invariants(server)
            chat_labels = server.db.value(
                "SELECT count(*) FROM annotate_annotation a JOIN annotate_campaign c "
                f"ON c.id = a.campaign_id WHERE c.slug = '{study.CHAT}'"
            )
            assert chat_labels == scale.conversations_before_refit * scale.labels_per_conversation

            with timings.step("3b dashboard of the conversation campaign"):
                study.dashboard_catches_up(
                    server, people["admin"], slug=study.CHAT, debounce=DEBOUNCE_S
                )
            if features:
                with timings.step("3c the admin reads the dashboard tab by tab (Chromium)"):
                    heights = steps_dashboard.dashboard_tabs(
                        browser, server.url, slug=study.STUDY, shots=shots
                    )
                    timings.steps["3c tallest dashboard tab (px)"] = max(heights.values())
            with timings.step("4 researcher exports every shape and format"):
                exported = study.export_everything(
                    server, scale, artifacts / f"e2e-{mode}-export", browser
                )
            with timings.step("5a beat refits reward model and DPO policy; promoted"):
                promoted = study.wait_for_promotion(server, people["admin_api"], timeout=600)
            with timings.step("5b the promoted policy answers the next conversation"):
                who = participants[-1] if scale.conversations_before_refit < 2 else participants[0]
                if scale.conversations_before_refit < 2:
                    who.onboard(f"/c/{study.CHAT}/")
                who.converse(
                    study.CHAT,
                    opening="What should I cook tonight?",
                    follow_up="Something quicker, please.",
                    k=study.CONVERSATION_K,
                )
                assert study.policy_answered(server, promoted["policy"]) >= 1
                assert study.assert_batched_turns(server) >= 2 * (
                    scale.conversations_before_refit + 1
                )
            for who in participants:
                who.close()
        with timings.step("6 labels on the policy's replies export with its version"):
            tagged = study.policy_labels_exported(
                exported["api"], promoted["policy"], artifacts / f"e2e-{mode}-export"
            )
            assert tagged >= 1, "no exported label names the promoted policy"
        if features:
            # -- issue 16: AI judges (tests/e2e/steps_judges.py) ---------------------------
            with timings.step("8 an AI judge (SmolLM2) labels two items; dashboard, source=ai"):
                timings.steps["8 AI labels"] = steps_judges.judge_study(
                    server, people["admin"], exported["api"], study.STUDY
                )
            # -- end issue 16 ---------------------------------------------------------------
            with timings.step("7b signed webhooks from the worker"):
                steps_hardening.webhooks_received(server, hooks, study=study.STUDY, timeout=120)
            # --- issue 16, routing (tests/e2e/steps_routing.py) ---
            with timings.step("9 routing: a human budget, a plan from the worker, the queue"):
                routed = steps_routing.route_within_budget(
                    server, people["admin"], people["admin_api"], study.STUDY
                )
                timings.steps["9 routing plan from the worker (s)"] = routed["plan_s"]
            # --- end routing ---
        study.assert_invariants(server)
        server.assert_running()
    finally:
        if hooks is not None:
            hooks.stop()
        timings.save(artifacts)
        server.stop()
        (artifacts / f"e2e-{mode}-runall.log").write_text(server.log_text()[-400_000:])


def test_a_study_on_postgres_and_redis(tmp_path, shared_data, artifacts_dir):
    _run_study("postgres", study.FULL, tmp_path, shared_data, artifacts_dir)


def test_a_study_in_embedded_mode(tmp_path, shared_data, artifacts_dir):
    """What a newcomer's ``make run`` gets: SQLite and the filesystem broker."""
    _run_study("embedded", study.SHORT, tmp_path, shared_data, artifacts_dir)
