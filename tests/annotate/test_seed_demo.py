"""``manage.py seed_demo``: every task type, three logins, idempotent."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from annotate.models import (
    Annotator,
    Campaign,
    CampaignGrant,
    Conversation,
    GuidelineVersion,
    Item,
    ItemResponse,
    Response,
    TaskType,
)
from annotate.payloads import PayloadContext, validate_payload
from annotate.services import assignment_next
from annotate.services import demo as demo_service
from annotate.services.quality import gold_matches

pytestmark = pytest.mark.django_db
User = get_user_model()


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^  (admin|annotator|researcher)\s+(\S+)$", output, re.MULTILINE))


def snapshot() -> dict[str, int]:
    from modelserve.generation.models import ModelEndpoint

    models = (Campaign, Item, Response, ItemResponse, Conversation, GuidelineVersion)
    counts = {m.__name__: m.objects.count() for m in models}
    counts.update(
        users=User.objects.count(),
        annotators=Annotator.objects.count(),
        grants=CampaignGrant.objects.count(),
        groups=Group.objects.count(),
        endpoints=ModelEndpoint.objects.count(),
        pool=ModelEndpoint.campaigns.through.objects.count(),
    )
    return counts


def test_seed_demo_creates_every_task_type_gold_and_logins():
    output = seed()
    demo = Campaign.objects.get(slug="demo")
    types = set(demo.items.values_list("task_type", flat=True))
    assert types == set(TaskType.values) - {TaskType.CONVERSATION}
    assert demo.items.count() >= 20
    assert set(demo.items.values_list("overlap", flat=True)) == {2}
    assert demo.is_open
    assert list(demo.guidelines.values_list("version", flat=True)) == [1]

    chat = Campaign.objects.get(slug="demo-conversation")
    assert chat.task_mix == {"conversation": 1}
    assert chat.items.count() == 10
    assert not chat.items.exclude(task_type=TaskType.CONVERSATION, prompt=None).exists()
    # The model-serving helper's endpoint_ensure_default exists in this tree: the pool
    # must be filled (if it went missing the guard would leave the pool empty).
    assert chat.model_pool.exists()
    assert "model pool of demo-conversation" in output

    logins = passwords(output)
    assert set(logins) == {"admin", "annotator", "researcher"}
    admin = authenticate(username="admin", password=logins["admin"])
    assert admin is not None and admin.is_staff and admin.is_superuser
    annotator_user = authenticate(username="annotator", password=logins["annotator"])
    assert annotator_user is not None and not annotator_user.is_staff
    assert Annotator.objects.filter(user=annotator_user).exists()
    researcher = authenticate(username="researcher", password=logins["researcher"])
    assert researcher is not None and researcher.groups.filter(name="researcher").exists()
    granted = set(CampaignGrant.objects.filter(user=researcher).values_list("campaign__slug"))
    assert granted == {("demo",), ("demo-conversation",)}

    # A demo annotator can start working straight away.
    assignment = assignment_next(
        annotator=Annotator.objects.get(user=annotator_user), campaign=demo
    )
    assert assignment is not None


def _context(item: Item) -> PayloadContext:
    order = list(
        ItemResponse.objects.filter(item=item)
        .order_by("position")
        .values_list("response_id", flat=True)
    )
    campaign = item.campaign
    return PayloadContext(
        presented_order=order,
        rating_range=campaign.rating_range,
        rating_attributes=campaign.rating_attributes,
        critique_categories=campaign.critique_categories,
    )


def test_gold_items_and_attention_check_score_answers():
    seed()
    demo = Campaign.objects.get(slug="demo")
    gold = demo.items.filter(is_gold=True)
    assert set(gold.values_list("task_type", flat=True)) == {"pairwise", "ranking"}
    pairwise = gold.get(task_type="pairwise")
    assert isinstance(pairwise.gold_answer, dict)
    ctx = _context(pairwise)
    right = "A" if ctx.presented_order[0] == pairwise.gold_answer["chosen"] else "B"
    wrong = "B" if right == "A" else "A"
    for choice, expected in ((right, True), (wrong, False)):
        payload = validate_payload("pairwise", {"choice": choice}, ctx)
        assert gold_matches("pairwise", pairwise.gold_answer, payload) is expected

    ranking = gold.get(task_type="ranking")
    assert isinstance(ranking.gold_answer, dict)
    ctx = _context(ranking)
    best = ranking.gold_answer["best"]
    others = [r for r in ctx.presented_order if r != best]
    good = validate_payload("ranking", {"ranking": [best, *others]}, ctx)
    bad = validate_payload("ranking", {"ranking": [*others, best]}, ctx)
    assert gold_matches("ranking", ranking.gold_answer, good)
    assert not gold_matches("ranking", ranking.gold_answer, bad)

    check = demo.items.get(is_attention_check=True)
    assert check.task_type == "rating"
    ctx = _context(check)
    (rid,) = ctx.presented_order

    def rated(value: int) -> dict:
        ratings = {str(rid): {a: value for a in demo.rating_attributes}}
        return validate_payload("rating", {"ratings": ratings}, ctx)

    assert gold_matches("rating", check.gold_answer, rated(1))
    assert not gold_matches("rating", check.gold_answer, rated(6))


def test_seed_demo_is_idempotent_and_keeps_passwords():
    first = seed()
    before = snapshot()
    second = seed()
    assert snapshot() == before
    assert "already exists" in second
    assert passwords(second) == {}
    assert "--reset-passwords" in second
    for username, password in passwords(first).items():
        assert authenticate(username=username, password=password) is not None


def test_reset_passwords_prints_new_working_ones():
    old = passwords(seed())
    new = passwords(seed("--reset-passwords"))
    assert set(new) == {"admin", "annotator", "researcher"}
    for username in new:
        assert new[username] != old[username]
        assert authenticate(username=username, password=new[username]) is not None
        assert authenticate(username=username, password=old[username]) is None


def test_an_existing_plain_admin_account_is_not_promoted():
    User.objects.create_user(username="admin", password="their-own-password-123")
    output = seed()
    admin = User.objects.get(username="admin")
    assert not admin.is_staff and not admin.is_superuser
    assert admin.check_password("their-own-password-123")
    assert "admin" not in passwords(output)
    assert "left unchanged" in output


def test_model_pool_failure_leaves_the_demo_without_a_pool(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("model serving misconfigured")

    monkeypatch.setattr(demo_service, "endpoint_ensure_default", broken)
    output = seed()
    assert "attaching the default endpoint failed" in output
    assert not Campaign.objects.get(slug="demo-conversation").model_pool.exists()
    assert Campaign.objects.filter(slug="demo").exists()


def test_demo_content_passes_the_item_checks():
    # Every entry passes the same checks items_add applies, and gold entries name
    # response positions that exist.
    specs = demo_service._specs()
    for spec, entry in zip(specs, demo_service.demo_content.ITEMS, strict=True):
        spec.check()
        answer = entry.get("gold", {}).get("answer", {})
        for key in ("chosen", "best", "position"):
            if key in answer:
                assert 0 <= answer[key] < len(spec.responses)
    assert len({spec.messages[-1]["content"] for spec in specs}) == len(specs)
