"""The steps of one whole study, each asserted from outside (HTTP, files, plain SQL).

The test module runs them in order against a ``StudyServer``; ``Scale`` makes the
embedded run shorter (fewer annotators, one conversation before and after the refit)
without changing what is checked.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import StudyServer, WebUser, api_client, expect_json

STUDY = "study"  # pairwise (HH-RLHF), ranking, rating, edit and critique items
CHAT = "study-chat"  # PRISM-style live conversations with the local SmolLM2
FIVE_TYPES = ("pairwise", "ranking", "rating", "edit", "critique")
SHAPES = ("raw", "trl-preference", "trl-unpaired", "ranking", "prism")
FORMATS = ("jsonl", "csv", "parquet")
ADMIN_PASSWORD = "e2e-Admin-pass-9137"
RESEARCHER_PASSWORD = "e2e-Research-pass-4471"
CONVERSATION_K = 3


@dataclass(frozen=True)
class Scale:
    annotators: int
    simulate_seconds: int
    hh_items: int  # pairwise items imported from HH-RLHF
    per_type_items: int  # ranking, rating, edit and critique items added over the API
    conversations_before_refit: int
    labels_per_conversation: int  # what one finished browser conversation stores
    trainable_per_conversation: int  # of those, what a refit trains on (not the closing)
    max_new_tokens: int
    trl_step: bool


FULL = Scale(
    annotators=4,
    simulate_seconds=40,
    hh_items=8,
    per_type_items=2,
    conversations_before_refit=2,
    labels_per_conversation=6,
    trainable_per_conversation=5,
    max_new_tokens=20,
    trl_step=True,
)
SHORT = Scale(
    annotators=2,
    simulate_seconds=25,
    hh_items=4,
    per_type_items=1,
    # Two opening prompts: the split by prompt then always holds one out, so the reward
    # model has a validation accuracy for its gate (one prompt leaves none: gated).
    conversations_before_refit=2,
    labels_per_conversation=6,
    trainable_per_conversation=5,
    max_new_tokens=16,
    trl_step=False,
)


# -- 1. the admin sets the study up over REST -------------------------------------------
def admin_setup(server: StudyServer, scale: Scale, shared_data: Path) -> dict[str, Any]:
    server.manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "admin",
        "--email",
        "admin@example.org",
        env={"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
    )
    admin = WebUser(server.url)
    admin.login("admin", ADMIN_PASSWORD)
    api = api_client(server.url, admin.api_token())

    quota = {"fields": ["residence_country"], "cells": {"GB": 20, "US": 20, "IN": 20}}
    expect_json(
        api.post(
            "/campaigns/create/",
            json={
                "slug": STUDY,
                "name": "E2E study: every task type",
                "guidelines": "Prefer the response that is more helpful, honest and harmless.",
                "task_mix": {t: 1 for t in FIVE_TYPES},
                "overlap": 2,
                "rating_attributes": ["helpfulness", "factuality", "safety"],
                "overall_attribute": "helpfulness",
                "config": {"quotas": quota, "min_seconds": 0},
            },
        ),
        201,
    )
    hh = shared_data / "hh-rlhf-harmless-base-test.jsonl.gz"
    imported = server.manage(
        "import_items",
        "--campaign",
        STUDY,
        "--format",
        "hh-rlhf",
        str(hh),
        "--limit",
        str(scale.hh_items),
        "--no-progress",
    )
    assert f"{scale.hh_items} items created" in imported.stdout.replace(",", ""), imported.stdout
    expect_json(
        api.post(f"/campaigns/{STUDY}/items/add/", json={"items": _other_items(hh, scale)}), 201
    )

    refit = {
        "enabled": True,
        "every_minutes": 1,
        # Only once the conversations before the refit are in: one refit per kind.
        "min_new_labels": scale.conversations_before_refit * scale.trainable_per_conversation,
        "kinds": ["reward", "dpo"],
        "val_fraction": 0.25,
        # A handful of labels cannot show a gain: the gates must let a sane run through.
        "gates": {
            "reward_min_val_accuracy": 0.0,
            "reward_max_accuracy_drop": 1.0,
            "dpo_max_ranking_accuracy_drop": 1.0,
        },
        "reward": {"epochs": 5, "max_length": 64},
        "dpo": {
            "max_steps": 2,
            "batch_size": 2,
            "max_prompt_tokens": 48,
            "max_response_tokens": 24,
            "eval_prompts": 1,
            "eval_max_new_tokens": 4,
        },
    }
    expect_json(
        api.post(
            "/campaigns/create/",
            json={
                "slug": CHAT,
                "name": "E2E study: live conversations",
                "guidelines": "Talk to the models about anything; rate each answer honestly.",
                "task_mix": {"conversation": 1},
                "overlap": 1,
                "rating_scale": "slider100",
                "rating_attributes": ["overall", "helpfulness", "factuality"],
                "overall_attribute": "overall",
                "config": {
                    "conversation_models": CONVERSATION_K,
                    "conversation_min_turns": 2,
                    "conversation_max_turns": 3,
                    "generation_params": {"max_new_tokens": scale.max_new_tokens},
                    "refit": refit,
                },
            },
        ),
        201,
    )
    # Two endpoints over the packaged SmolLM2 (K=3 > 2, so temperatures differ too); the
    # promoted policy joins later and, with K >= the pool, answers every opening turn.
    pool = expect_json(api.post(f"/campaigns/{CHAT}/models/", json={"default": 2}))
    assert len(pool) == 2
    expect_json(api.post(f"/campaigns/{CHAT}/conversations/add/", json={"n": 6}), 201)
    for slug in (STUDY, CHAT):
        assert expect_json(api.post(f"/campaigns/{slug}/open/"))["status"] == "open"

    researcher = _researcher_via_admin_site(server, admin)
    for slug in (STUDY, CHAT):
        grant = {"campaign": slug, "user": researcher}
        first = expect_json(api.post("/grants/create/", json=grant), 201)
        # Idempotent: a repeated grant answers 200 with the same grant.
        assert expect_json(api.post("/grants/create/", json=grant), 200)["id"] == first["id"]
    items = server.db.value(
        "SELECT count(*) FROM annotate_item i JOIN annotate_campaign c ON c.id = i.campaign_id "
        f"WHERE c.slug = '{STUDY}'"
    )
    assert items == scale.hh_items + 4 * scale.per_type_items
    return {"admin": admin, "admin_api": api, "researcher": researcher}


def _hh_pairs(path: Path, skip: int, n: int) -> list[tuple[str, str, str]]:
    """(prompt, chosen, rejected) of single-turn HH-RLHF lines after the first ``skip``."""
    out: list[tuple[str, str, str]] = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number < skip:
                continue
            row = json.loads(line)
            parts = [re.split(r"\n\nAssistant: ", row[k]) for k in ("chosen", "rejected")]
            if len(parts[0]) != 2 or len(parts[1]) != 2 or not parts[0][1] or not parts[1][1]:
                continue  # multi-turn or empty: the import command covers those
            prompt = parts[0][0].replace("\n\nHuman: ", "").strip()
            out.append((prompt, parts[0][1].strip(), parts[1][1].strip()))
            if len(out) == n:
                break
    return out


def _other_items(path: Path, scale: Scale) -> list[dict[str, Any]]:
    """Ranking, rating, edit and critique items over more HH-RLHF prompts and replies."""
    pairs = _hh_pairs(path, skip=scale.hh_items, n=4 * scale.per_type_items + 1)
    items = []
    for n, (prompt, chosen, rejected) in enumerate(pairs[:-1]):
        kind = ("ranking", "rating", "edit", "critique")[n % 4]
        other = pairs[n + 1][1]
        responses = {
            "ranking": [chosen, rejected, other],
            "rating": [chosen, rejected],
            "edit": [rejected],
            "critique": [chosen],
        }[kind]
        items.append(
            {
                "task_type": kind,
                "messages": [{"role": "user", "content": prompt}],
                "responses": [
                    {"text": t, "source": f"hh-rlhf:{i}"} for i, t in enumerate(responses)
                ],
                "external_id": f"e2e-{kind}-{n}",
            }
        )
    return items


def _researcher_via_admin_site(server: StudyServer, admin: WebUser) -> str:
    """The admin adds a researcher on Django's admin site, as a person would."""
    from annotate.simulation.html import form_with, parse_forms

    username = "researcher1"
    added = admin.post_form(
        "/admin/auth/user/add/",
        {
            "username": username,
            "usable_password": "true",
            "password1": RESEARCHER_PASSWORD,
            "password2": RESEARCHER_PASSWORD,
            "_save": "Save",
        },
    )
    assert added.status_code == 200 and "/change/" in str(added.url), added.text[-3000:]
    change_page = added.text
    form = form_with(parse_forms(change_page), field="username")
    assert form is not None
    group = re.search(r'<option value="(\d+)"[^>]*>researcher</option>', change_page)
    assert group, "the researcher group is missing on a fresh install"
    data = form.defaults()
    data["is_active"] = "on"  # the one checked box of a new user's change form
    data.pop("user_permissions", None)  # an empty multi-select sends nothing
    data["groups"] = [group.group(1)]
    data["_save"] = "Save"
    saved = admin.http.post(str(added.url), data=data, headers={"Referer": str(added.url)})
    errors = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', saved.text, re.S)
    assert saved.status_code == 200 and "was changed successfully" in saved.text, (
        saved.status_code,
        saved.url,
        errors,
    )
    return username


# -- 2. annotators ------------------------------------------------------------------------
def simulate_crowd(server: StudyServer, scale: Scale) -> None:
    done = server.manage(
        "simulate",
        "--campaign",
        STUDY,
        "--annotators",
        str(scale.annotators),
        "--duration",
        str(scale.simulate_seconds),
        "--base-url",
        server.url,
        "--seed",
        "7",
        timeout=scale.simulate_seconds + 240,
    )
    print(done.stdout[-1500:])
    by_type = dict(
        server.db.rows(
            "SELECT a.task_type, count(*) FROM annotate_annotation a "
            f"JOIN annotate_campaign c ON c.id = a.campaign_id WHERE c.slug = '{STUDY}' "
            "GROUP BY a.task_type"
        )
    )
    assert set(FIVE_TYPES) <= set(by_type), f"not every task type was answered: {by_type}"
    # Every label is linked to the profile version and guidelines in force.
    unlinked = server.db.value(
        "SELECT count(*) FROM annotate_annotation a JOIN annotate_campaign c "
        f"ON c.id = a.campaign_id WHERE c.slug = '{STUDY}' "
        "AND (a.profile_version_id IS NULL OR a.guideline_version_id IS NULL)"
    )
    assert unlinked == 0
    admitted = server.db.rows("SELECT cell, count(*) FROM annotate_campaignadmission GROUP BY cell")
    assert admitted and all(cell in ("GB", "US", "IN") and n <= 20 for cell, n in admitted)
    assert_invariants(server)


def assert_invariants(server: StudyServer) -> None:
    """What must hold whatever happened: no lost, doubled or over-assigned label.

    About people's labels (``source = 'human'``): an AI judge's labels (issue 16) take no
    assignment and no overlap slot, and must say which judge gave them."""
    db = server.db
    assert (
        db.value(
            "SELECT count(*) FROM annotate_annotation WHERE source = 'ai' "
            "AND (judge_id IS NULL OR assignment_id IS NOT NULL)"
        )
        == 0
    )
    assert (
        db.rows(
            "SELECT assignment_id FROM annotate_annotation WHERE source = 'human' "
            "GROUP BY assignment_id HAVING count(*) > 1"
        )
        == []
    )
    assert db.rows("SELECT id FROM annotate_item WHERE slots_taken > overlap") == []
    over = db.rows(
        "SELECT i.id FROM annotate_item i JOIN annotate_annotation a ON a.item_id = i.id "
        "WHERE a.source = 'human' GROUP BY i.id, i.overlap HAVING count(*) > i.overlap"
    )
    assert over == [], f"items with more labels than their overlap: {over}"
    twice = db.rows(
        "SELECT item_id, annotator_id FROM annotate_assignment "
        "GROUP BY item_id, annotator_id HAVING count(*) > 1"
    )
    assert twice == []
    orphans = db.value(
        "SELECT count(*) FROM annotate_annotation a LEFT JOIN annotate_assignment s "
        "ON s.id = a.assignment_id WHERE a.source = 'human' "
        "AND (s.id IS NULL OR s.status <> 'submitted')"
    )
    assert orphans == 0


# -- 3. the dashboard refreshes by itself ------------------------------------------------
def dashboard_catches_up(server: StudyServer, admin: WebUser, *, slug: str, debounce: float):
    """Labels arrived; within the debounce (plus a worker's pick-up), the snapshot the
    dashboard shows counts every one of them, with nobody pressing "Recompute now"."""
    expected = server.db.value(
        "SELECT count(*) FROM annotate_annotation a JOIN annotate_campaign c "
        f"ON c.id = a.campaign_id WHERE c.slug = '{slug}'"
    )
    last_label = time.monotonic()
    deadline = last_label + debounce + 45
    seen = None
    while time.monotonic() < deadline:
        snapshot = admin.http.get(f"/api/v1/campaigns/{slug}/analytics/")
        if snapshot.status_code == 200:
            seen = snapshot.json()["n_labels"]
            if seen == expected:
                break
        time.sleep(1)
    assert seen == expected, f"dashboard stale: snapshot has {seen} labels, database {expected}"
    page = admin.http.get(f"/dashboard/{slug}/")
    assert page.status_code == 200
    assert f"{expected} labels" in page.text
    assert "new label" not in page.text  # "N new labels since" would mean stale figures
    return time.monotonic() - last_label


# -- 4. the researcher downloads everything ----------------------------------------------
def export_everything(server: StudyServer, scale: Scale, out: Path, browser: Any) -> dict[str, Any]:
    from tests.e2e.browser import researcher_session

    web = researcher_session(
        browser,
        server.url,
        username="researcher1",
        password=RESEARCHER_PASSWORD,
        campaign=STUDY,
        shots=out,
    )
    api = api_client(server.url, web["token"])
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Any] = {}
    for slug in (STUDY, CHAT):
        n_labels = server.db.value(
            "SELECT count(*) FROM annotate_annotation a JOIN annotate_campaign c "
            f"ON c.id = a.campaign_id WHERE c.slug = '{slug}'"
        )
        assert n_labels > 0
        for shape in SHAPES:
            for fmt in FORMATS:
                answer = api.get(
                    f"/campaigns/{slug}/export", params={"shape": shape, "format": fmt}
                )
                assert answer.status_code == 200, (
                    f"{slug} {shape} {fmt}: {answer.status_code} {answer.text[:1500]}"
                )
                path = out / f"{slug}-{shape}.{'zip' if shape == 'prism' else fmt}"
                path.write_bytes(answer.content)
                rows = _parse_export(path, shape, fmt)
                counts[f"{slug}/{shape}/{fmt}"] = rows
                if shape == "raw":
                    assert rows == n_labels, f"{slug} raw {fmt}: {rows} rows, {n_labels} labels"
        # Every format carries the same rows.
        for shape in SHAPES:
            values = {counts[f"{slug}/{shape}/{fmt}"] for fmt in FORMATS}
            assert len(values) == 1, f"{slug} {shape}: formats disagree {values}"
    assert counts[f"{STUDY}/trl-preference/jsonl"] > 0
    assert counts[f"{CHAT}/trl-preference/jsonl"] > 0
    # What the researcher page gave: the same rows as the API, in the foreground and
    # from the background job (a Celery task on the "default" queue).
    assert _rows(web["direct_jsonl"], "jsonl") == counts[f"{STUDY}/trl-preference/jsonl"]
    assert _rows(web["background_parquet"], "parquet") == counts[f"{STUDY}/raw/parquet"]
    _load_with_datasets(out)
    if scale.trl_step:
        _dpo_trainer_step(out / f"{STUDY}-trl-preference.jsonl", out)
    return {"api": api, "counts": counts}


def _parse_export(path: Path, shape: str, fmt: str) -> int:
    """Parse a downloaded export completely; return its row count (prism: annotations)."""
    data = path.read_bytes()
    if shape == "prism":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert names, "empty prism archive"
            sizes = {}
            for name in names:
                member = archive.read(name)
                member_fmt = name.rsplit(".", 1)[-1]
                if member_fmt in FORMATS:
                    sizes[name] = _rows(member, member_fmt)
                elif name.endswith(".json"):
                    json.loads(member)
            assert sizes, f"prism archive holds no data files: {names}"
            return sum(sizes.values())
    return _rows(data, fmt)


def _rows(data: bytes, fmt: str) -> int:
    if fmt == "jsonl":
        lines = [line for line in data.decode("utf-8").splitlines() if line.strip()]
        for line in lines:
            assert isinstance(json.loads(line), dict)
        return len(lines)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        return len(rows)
    import pyarrow.parquet as pq

    return int(pq.read_table(io.BytesIO(data)).num_rows)


def _load_with_datasets(folder: Path) -> None:
    import datasets

    for slug in (STUDY, CHAT):
        for shape in ("raw", "trl-preference", "trl-unpaired", "ranking"):
            for fmt, loader in (("jsonl", "json"), ("parquet", "parquet")):
                path = folder / f"{slug}-{shape}.{fmt}"
                expected = _rows(path.read_bytes(), fmt)
                if expected == 0:
                    continue  # datasets refuses an empty file; the row check covers it
                ds = datasets.load_dataset(
                    loader, data_files=str(path), split="train", cache_dir=str(folder / "hf")
                )
                assert ds.num_rows == expected, f"{path.name}: datasets read {ds.num_rows}"
        prefs = datasets.load_dataset(
            "json",
            data_files=str(folder / f"{slug}-trl-preference.jsonl"),
            split="train",
            cache_dir=str(folder / "hf"),
        )
        assert {"prompt", "chosen", "rejected"} <= set(prefs.column_names)


def _dpo_trainer_step(path: Path, folder: Path) -> None:
    """One step of TRL's DPOTrainer on the export as downloaded."""
    import datasets
    import torch
    from transformers import AutoTokenizer

    from tests.e2e.harness import shared_default_model
    from tests.trl_helpers import dpo_trainer_one_step

    tok = AutoTokenizer.from_pretrained(shared_default_model())
    ds = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(folder / "hf")
    )
    result, _ = dpo_trainer_one_step(ds, tok, folder / "trl-out", batch_size=2)
    assert result.global_step == 1
    assert torch.isfinite(torch.tensor(result.training_loss))


# -- 5. beat refits, the policy is promoted and serves -----------------------------------
def wait_for_promotion(server: StudyServer, admin_api: Any, *, timeout: float) -> dict[str, int]:
    """Beat's schedule starts a reward and a DPO refit; both pass their gates."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        server.assert_running()
        runs = server.db.rows(
            "SELECT r.kind, r.status, r.error FROM modelserve_trainingrun r "
            f"JOIN annotate_campaign c ON c.id = r.campaign_id WHERE c.slug = '{CHAT}'"
        )
        failed = [(k, e[-3000:]) for k, s, e in runs if s == "failed"]
        assert not failed, f"a refit failed: {failed}"
        # Beat checks every minute: no run after two ticks means the schedule is broken.
        assert runs or time.monotonic() - started < 150, "beat started no refit in 150 s"
        policies = expect_json(admin_api.get("/policy-versions/", params={"campaign": CHAT}))
        rewards = expect_json(admin_api.get("/reward-model-versions/", params={"campaign": CHAT}))
        serving_policy = [p for p in policies["results"] if p["status"] == "serving"]
        serving_reward = [r for r in rewards["results"] if r["status"] == "serving"]
        if serving_policy and serving_reward:
            triggers = server.db.rows(
                "SELECT r.kind, r.config FROM modelserve_trainingrun r JOIN annotate_campaign c "
                f"ON c.id = r.campaign_id WHERE c.slug = '{CHAT}' AND r.status = 'succeeded'"
            )
            kinds = {k: _json(cfg).get("trigger") for k, cfg in triggers}
            assert kinds == {"reward": "schedule", "dpo": "schedule"}, kinds
            return {"policy": serving_policy[0]["id"], "reward": serving_reward[0]["id"]}
        time.sleep(2)
    raise AssertionError(f"no promoted policy in {timeout} s:\n{server.tail(60)}")


def _json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


def policy_answered(server: StudyServer, policy_id: int) -> int:
    """Responses in the conversation campaign written by the promoted policy."""
    return int(
        server.db.value(
            "SELECT count(*) FROM annotate_response r JOIN annotate_prompt p ON p.id = r.prompt_id "
            f"JOIN annotate_campaign c ON c.id = p.campaign_id WHERE c.slug = '{CHAT}' "
            f"AND r.policy_version_id = {int(policy_id)}"
        )
    )


def policy_labels_exported(api: Any, policy_id: int, out: Path) -> int:
    """Labels on the new policy's replies come out of the raw export with its version."""
    answer = api.get(f"/campaigns/{CHAT}/export", params={"shape": "raw", "format": "jsonl"})
    assert answer.status_code == 200, answer.text[:1000]
    (out / f"{CHAT}-raw-after-refit.jsonl").write_bytes(answer.content)
    rows = [json.loads(line) for line in answer.text.splitlines() if line.strip()]
    tagged = [
        row
        for row in rows
        if any(r.get("model") == f"policy:{policy_id}" for r in row.get("responses", []))
    ]
    return len(tagged)


def assert_batched_turns(server: StudyServer) -> int:
    """Issue 12: one generation job per turn and set of weights. All candidates of a live
    turn that share weights went out in one Celery task, and every finished candidate
    says how it ended. Returns the number of live turns checked."""
    rows = server.db.rows(
        "SELECT g.prompt_id, count(DISTINCT g.celery_task_id), count(DISTINCT e.model), "
        "count(*) FROM modelserve_generationrequest g "
        "JOIN modelserve_modelendpoint e ON e.id = g.endpoint_id "
        "WHERE g.purpose = 'live' GROUP BY g.prompt_id"
    )
    assert rows, "no live generation requests"
    for prompt_id, tasks, weights, n in rows:
        assert tasks == weights, (
            f"prompt {prompt_id}: {n} candidates on {weights} set(s) of weights went out "
            f"in {tasks} task(s)"
        )
    # The streamed path: each reply's first tokens were out before it was complete.
    unstreamed = server.db.rows(
        "SELECT id, first_token_ms, latency_ms FROM modelserve_generationrequest "
        "WHERE purpose = 'live' AND status = 'done' AND (first_token_ms IS NULL "
        "OR latency_ms IS NULL OR first_token_ms >= latency_ms)"
    )
    assert unstreamed == [], f"replies with no token before the end: {unstreamed}"
    endings = server.db.rows(
        "SELECT DISTINCT finish_reason FROM modelserve_generationrequest WHERE status = 'done'"
    )
    assert {e for (e,) in endings} <= {"stop", "length"}, endings
    return len(rows)
