"""Fuzz every form field of the pages (and the query parameters they read) on PostgreSQL.

Each surface is one page or action. Hypothesis builds its form from the fields the page
sends, each value either a valid one or hostile (tests/fuzz/strategies.py), plus hostile
extra fields; the request goes through Django's full stack (middleware, CSRF off as in
the test client, the real view, PostgreSQL). Every answer >= 500 is counted per surface;
the counts go to test-artifacts/fuzz-forms.json and the test fails on any.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.models import Item, TaskType
from annotate.selectors.onboarding import consent_document
from annotate.services import conversation as conv
from modelserve.models import GenerationRequest
from tests.annotate.ui_helpers import PROFILE_POST
from tests.conversation_helpers import FAKE_BACKENDS, run_pending_generations
from tests.factories import AssignmentFactory, ModelEndpointFactory
from tests.fuzz.strategies import HOSTILE_KEY, HOSTILE_TEXT, near_valid_form
from tests.fuzz.tally import Tally
from tests.fuzz.world import (
    EXAMPLES,
    FORM,
    FUZZ,
    World,
    build_world,
    form_body,
    fresh_annotator,
)

pytestmark = pytest.mark.slow
HX = {"HTTP_HX_REQUEST": "true"}


def form(valid: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """The page's fields, valid, with one or two made hostile (or a made-up one added)."""
    return near_valid_form(valid)


def prefixed(prefix: str, keys: list[str], values: list[str]) -> st.SearchStrategy[Any]:
    """Fields named ``prefix + key``: real keys, or keys such as ``²`` and 5,000 digits."""
    key = st.one_of(st.sampled_from(keys), HOSTILE_KEY) if keys else HOSTILE_KEY
    value = st.one_of(st.sampled_from(values), HOSTILE_TEXT)
    return st.lists(st.tuples(key.map(lambda k: prefix + k), value), max_size=8)


@pytest.fixture
def world(transactional_db, settings) -> World:
    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS
    w = build_world()
    for n in range(2):
        ModelEndpointFactory(
            name=f"fuzz-model-{n}", anon_label=f"Model {n}", model="echo", pool=[w.chat]
        )
    return w


def _conversation(world: World, stage: str) -> tuple[Any, list[int]]:
    """A conversation assignment driven to ``stage``; returns it and its request ids."""
    item = Item.objects.create(campaign=world.chat, task_type=TaskType.CONVERSATION, overlap=1)
    a = AssignmentFactory(item=item, annotator=world.annotator, presented_order=[])
    if stage == "new":
        return a, []
    conv.conversation_start(assignment_id=a.pk, annotator=world.annotator, text="Hello")
    run_pending_generations()
    ids = list(
        GenerationRequest.objects.filter(prompt__conversation__external_id=f"assignment:{a.pk}")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if stage == "rating":
        return a, ids
    conv.conversation_rate_opening(
        assignment_id=a.pk,
        annotator=world.annotator,
        scores={pk: 50 + n for n, pk in enumerate(ids)},
    )
    if stage == "writing":
        return a, ids
    conv.conversation_continue(assignment_id=a.pk, annotator=world.annotator, text="More")
    run_pending_generations()
    return a, list(
        GenerationRequest.objects.filter(prompt__conversation__external_id=f"assignment:{a.pk}")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


Surface = tuple[str, Callable[[World], st.SearchStrategy[Any]], Callable[..., Any]]


def _post(who: str, url: str, *, htmx: bool = False) -> Callable[..., Any]:
    def send(world: World, pairs: list[tuple[str, str]]) -> int:
        extra = HX if htmx else {}
        return world.client(who).post(url, form_body(pairs), content_type=FORM, **extra).status_code

    return send


def _get(who: str | None, url: str) -> Callable[..., Any]:
    def send(world: World, pairs: list[tuple[str, str]]) -> int:
        return world.client(who).get(f"{url}?{form_body(pairs)}").status_code

    return send


def _task(task_type: str) -> Callable[..., Any]:
    def send(world: World, pairs: list[tuple[str, str]]) -> int:
        a = world.assignment(task_type)
        client = world.client("annotator")
        return client.post(
            f"/tasks/{a.pk}/submit/", form_body(pairs), content_type=FORM, **HX
        ).status_code

    return send


def _task_form(task_type: str) -> Callable[[World], st.SearchStrategy[Any]]:
    def build(world: World) -> st.SearchStrategy[Any]:
        item = world.items[task_type]
        ids = [str(i) for i in item.item_responses.values_list("response_id", flat=True)]
        common = {"time_spent_ms": ["1200"], "guideline_version_id": ["1"]}
        spans = ['[{"start": 0, "end": 3, "category": "x"}]', "[]"]
        fields = {
            TaskType.PAIRWISE: {
                "choice": ["A", "B", "tie"],
                "strength": ["1", "3"],
                "reason": ["ok"],
            },
            TaskType.EDIT: {"response_id": ids, "edited_text": ["Better text."]},
            TaskType.BWS: {"best": ids, "worst": ids},
            TaskType.CRITIQUE: {"critique": ["Too long."], "suggestion": ["Cut."], "spans": spans},
        }.get(task_type, {})
        prefix = {TaskType.RANKING: "rank_", TaskType.RATING: "rating_"}.get(task_type)
        base = form({**fields, **common})
        if prefix is None:
            return base
        keys = ids if prefix == "rank_" else [f"{i}_helpfulness" for i in ids]
        return st.builds(lambda a, b: a + b, base, prefixed(prefix, keys, ["1", "2", "5"]))

    return build


def _conv(action: str, stage: str, prefix: str = "") -> Callable[..., Any]:
    def send(world: World, pairs: list[tuple[str, str]]) -> int:
        a, _ = _conversation(world, stage)
        client = world.client("annotator")
        url = f"/tasks/conversation/{a.pk}/{action}"
        return client.post(url, form_body(pairs), content_type=FORM, **HX).status_code

    return send


def _conv_rate(world: World, pairs: list[tuple[str, str]]) -> int:
    a, ids = _conversation(world, "rating")
    # The real score fields of this conversation, then the fuzzed ones (which may override).
    real = [(f"score-{pk}", "60") for pk in ids]
    client = world.client("annotator")
    body = form_body([*real, *pairs])
    return client.post(
        f"/tasks/conversation/{a.pk}/rate", body, content_type=FORM, **HX
    ).status_code


def _delete_data(world: World, pairs: list[tuple[str, str]]) -> int:
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(fresh_annotator().user)
    return client.post("/account/my-data/delete", form_body(pairs), content_type=FORM).status_code


def _join(world: World, pairs: list[tuple[str, str]]) -> int:
    from django.test import Client

    client = Client(raise_request_exception=False)
    return client.get(f"/join/{world.campaign.slug}/?{form_body(pairs)}").status_code


def _admin_campaign(world: World, pairs: list[tuple[str, str]]) -> int:
    client = world.client("admin")
    url = f"/admin/annotate/campaign/{world.campaign.pk}/change/"
    return client.post(url, form_body(pairs), content_type=FORM).status_code


def _admin_item(world: World, pairs: list[tuple[str, str]]) -> int:
    client = world.client("admin")
    item = world.items[TaskType.PAIRWISE]
    url = f"/admin/annotate/item/{item.pk}/change/"
    return client.post(url, form_body(pairs), content_type=FORM).status_code


def _admin_join_links(world: World, pairs: list[tuple[str, str]]) -> int:
    url = f"/admin/annotate/campaign/{world.campaign.pk}/join-links/"
    return world.client("admin").post(url, form_body(pairs), content_type=FORM).status_code


def _const(strategy: st.SearchStrategy[Any]) -> Callable[[World], st.SearchStrategy[Any]]:
    return lambda world: strategy


def _consent_form(world: World) -> st.SearchStrategy[Any]:
    doc = consent_document(campaign=None)
    return form({"version": [doc.version], "text_sha256": [doc.sha256], "agree": ["on"]})


PROFILE = {k: (v if isinstance(v, list) else [v]) for k, v in PROFILE_POST.items()}
CAMPAIGN_ADMIN = {
    "name": ["Fuzz"],
    "description": [""],
    "task_mix": ['{"pairwise": 1}'],
    "overlap": ["2"],
    "lease_seconds": ["900"],
    "rating_scale": ["likert7"],
    "rating_attributes": ['["helpfulness"]'],
    "overall_attribute": ["helpfulness"],
    "critique_categories": ['["x"]'],
    "config": ["{}", '{"gold_rate": 0.1}'],
    "gold_rate": ["0.1"],
    "min_seconds": ["2"],
    "completion_code": ["C0DE"],
}
EXPORT_FORM = {
    "campaign": ["fuzz"],
    "shape": ["raw", "trl-preference"],
    "format": ["jsonl", "csv"],
    "min_margin": ["1"],
    "threshold": ["3"],
    "attribute": ["helpfulness"],
    "guideline_version": ["1"],
    "endpoint": ["1"],
    "policy_version": ["1"],
    "annotator": ["a1"],
    "created_after": ["2026-01-01"],
    "residence_country": ["GB"],
    "task_type": ["pairwise"],
}

SURFACES: list[Surface] = [
    *[
        (f"task-submit-{t}", _task_form(t), _task(t))
        for t in TaskType.values
        if t != "conversation"
    ],
    ("task-skip", _const(form({"reason": ["too hard"]})), None),
    (
        "signup",
        _const(
            form(
                {
                    "username": ["newbie"],
                    "password1": ["x7!long-pass"],
                    "password2": ["x7!long-pass"],
                }
            )
        ),
        _post("", "/accounts/signup/"),
    ),
    (
        "login",
        _const(form({"username": ["someone"], "password": ["pw"]})),
        _post("", "/accounts/login/"),
    ),
    ("consent", _consent_form, _post("annotator", "/consent/")),
    ("campaign-consent", _consent_form, _post("annotator", "/c/fuzz/consent/")),
    (
        "profile-edit",
        _const(form({**PROFILE, "next": ["/c/fuzz/"]})),
        _post("annotator", "/profile/edit/"),
    ),
    ("campaign-work-query", _const(form({"next": ["/"]})), _get("annotator", "/c/fuzz/")),
    ("conversation-start", _const(form({"text": ["How do tides work?"]})), _conv("start", "new")),
    ("conversation-rate", lambda w: prefixed("score-", ["1", "2"], ["1", "50", "100"]), _conv_rate),
    ("conversation-continue", _const(form({"text": ["And then?"]})), _conv("continue", "writing")),
    (
        "conversation-choose",
        _const(
            st.builds(
                lambda a, b: a + b, form({"choice": ["A", "B"]}), prefixed("score-", [], ["50"])
            )
        ),
        _conv("choose", "choosing"),
    ),
    (
        "conversation-finish",
        _const(
            st.builds(
                lambda a, b: a + b,
                form({"feedback": ["Nice."]}),
                prefixed("attr-", ["values", "safety", "helpfulness"], ["70"]),
            )
        ),
        _conv("finish", "writing"),
    ),
    (
        "account-tokens",
        _const(form({"action": ["create", "rotate", "revoke"]})),
        _post("annotator", "/account/tokens/"),
    ),
    ("my-data-delete", _const(form({"confirm": ["DELETE", "no"]})), _delete_data),
    ("research-page-query", _const(form({"campaign": ["fuzz"]})), _get("researcher", "/research/")),
    (
        "research-token",
        _const(form({"action": ["rotate", "revoke"]})),
        _post("researcher", "/research/token/"),
    ),
    ("research-export", _const(form(EXPORT_FORM)), _post("researcher", "/research/export/")),
    (
        "join-link",
        _const(form({"PROLIFIC_PID": ["5f1a2b3c"], "STUDY_ID": ["s1"], "sig": ["0" * 64]})),
        _join,
    ),
    (
        "dashboard-annotators",
        _const(
            form(
                {
                    "q": ["a"],
                    "min_labels": ["2"],
                    "flagged": ["1"],
                    "sort": ["n_labels"],
                    "dir": ["asc"],
                }
            )
        ),
        _get("admin", "/dashboard/fuzz/annotators/"),
    ),
    (
        "dashboard-cases",
        _const(form({"annotator": ["a"], "page": ["2"]})),
        _get("admin", "/dashboard/fuzz/cases/"),
    ),
    (
        "dashboard-leaderboard",
        _const(form({"field": ["residence_country"]})),
        _get("admin", "/dashboard/fuzz/leaderboard/"),
    ),
    (
        "dashboard-freshness",
        _const(form({"shown": ["1"]})),
        _get("admin", "/dashboard/fuzz/freshness/"),
    ),
    ("admin-campaign-change", _const(form(CAMPAIGN_ADMIN)), _admin_campaign),
    (
        "admin-join-links",
        _const(form({"participants": ["p-1\np-2"], "study_id": ["s"], "csv": ["1", ""]})),
        _admin_join_links,
    ),
    (
        "admin-item-change",
        _const(
            form(
                {"status": ["open"], "priority": ["1"], "metadata": ["{}"], "gold_answer": ["null"]}
            )
        ),
        _admin_item,
    ),
]


def _skip(world: World, pairs: list[tuple[str, str]]) -> int:
    a = world.assignment(TaskType.PAIRWISE)
    return (
        world.client("annotator")
        .post(f"/tasks/{a.pk}/skip/", form_body(pairs), content_type=FORM, **HX)
        .status_code
    )


def _fuzz_surface(world: World, tally: Tally, name: str, build: Any, sender: Any) -> None:
    # A conversation example drives generation first: half the budget keeps CI short.
    budget = max(4, EXAMPLES // 2) if name.startswith("conversation") else EXAMPLES

    @settings(FUZZ, max_examples=budget)
    @given(pairs=build(world))
    def run(pairs: list[tuple[str, str]]) -> None:
        tally.record(name, sender(world, pairs), pairs)

    run()


def test_every_form_field_answers_below_500(world):
    tally = Tally("forms")
    for name, build, send in SURFACES:
        _fuzz_surface(world, tally, name, build, send or _skip)
    tally.assert_clean()
