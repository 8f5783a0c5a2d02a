"""The demo: two campaigns, every task type, gold items, and three logins.

``demo_seed`` is idempotent: it creates what is missing and leaves what exists alone,
so a second run changes nothing (passwords are only set for users it creates, or when
asked to reset them). Content lives in ``annotate.demo_content``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from annotate import demo_content
from annotate.models import Campaign, CampaignGrant, CampaignStatus, Item, ItemResponse, TaskType
from annotate.roles import RESEARCHER_GROUP
from modelserve.generation.registry import endpoint_ensure_default

from .annotators import annotator_get_or_create
from .campaigns import campaign_create
from .items import ItemSpec, ResponseSpec, conversation_items_add, items_add

logger = logging.getLogger(__name__)

DEMO_SLUG = "demo"
CONVERSATION_SLUG = "demo-conversation"
USERNAMES = ("admin", "annotator", "researcher")
N_CONVERSATION_ITEMS = 10


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)  # what this run made
    passwords: dict[str, str] = field(default_factory=dict)  # only those set this run
    notes: list[str] = field(default_factory=list)
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def existed(self) -> bool:
        return not self.created


def new_password() -> str:
    return secrets.token_urlsafe(12)


def _specs() -> list[ItemSpec]:
    specs = []
    for n, entry in enumerate(demo_content.ITEMS):
        gold = entry.get("gold") or {}
        specs.append(
            ItemSpec(
                task_type=entry["task_type"],
                messages=entry["messages"],
                responses=[ResponseSpec(text=t, source=s) for t, s in entry["responses"]],
                source="demo",
                external_id=f"demo-{n + 1}",
                metadata={"demo": True},
                is_gold=gold.get("kind") == "gold",
                is_attention_check=gold.get("kind") == "attention",
            )
        )
    return specs


def _gold_answer(task_type: str, answer: dict[str, Any], ids: list[int], attrs: list[str]) -> Any:
    """Positions in demo_content -> response ids, in quality.gold_matches' shapes."""
    if task_type == TaskType.PAIRWISE:
        return {"chosen": ids[answer["chosen"]]}
    if task_type == TaskType.RANKING:
        return {"best": ids[answer["best"]]}
    if task_type == TaskType.RATING:
        bounds = list(answer["bounds"])
        return {str(ids[answer["position"]]): {a: bounds for a in attrs}}
    raise ValueError(f"no automatic gold answer for {task_type}")


def _mixed_campaign(report: DemoReport) -> Campaign:
    existing = Campaign.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing
    campaign = campaign_create(
        slug=DEMO_SLUG,
        name="Demo: every task type",
        description="Prompts written for the Chorus demo, one campaign with every task type.",
        guidelines=demo_content.GUIDELINES,
        status=CampaignStatus.OPEN,
        task_mix={"pairwise": 2, "ranking": 1, "rating": 1, "edit": 1, "critique": 1, "bws": 1},
        overlap=2,
        rating_attributes=["helpfulness", "factuality", "safety"],
        overall_attribute="helpfulness",
        config={"min_seconds": 3},
    )
    items = items_add(campaign=campaign, specs=_specs())
    positions: dict[int, list[int]] = {}
    for item_id, response_id in (
        ItemResponse.objects.filter(item__in=items)
        .order_by("item_id", "position")
        .values_list("item_id", "response_id")
    ):
        positions.setdefault(item_id, []).append(response_id)
    for item, entry in zip(items, demo_content.ITEMS, strict=True):
        if "gold" in entry:
            answer = _gold_answer(
                item.task_type,
                entry["gold"]["answer"],
                positions[item.pk],
                campaign.rating_attributes,
            )
            Item.objects.filter(pk=item.pk).update(gold_answer=answer)
    report.created.append(f"campaign {DEMO_SLUG} ({len(items)} items, overlap 2)")
    return campaign


def _conversation_campaign(report: DemoReport) -> Campaign:
    existing = Campaign.objects.filter(slug=CONVERSATION_SLUG).first()
    if existing is not None:
        return existing
    campaign = campaign_create(
        slug=CONVERSATION_SLUG,
        name="Demo: live conversations",
        description="PRISM-style live conversations with the campaign's model pool.",
        guidelines=demo_content.CONVERSATION_GUIDELINES,
        status=CampaignStatus.OPEN,
        task_mix={"conversation": 1},
        overlap=1,
        rating_scale="slider100",
        rating_attributes=["overall", "helpfulness", "factuality", "values", "creativity"],
        overall_attribute="overall",
    )
    conversation_items_add(campaign=campaign, n=N_CONVERSATION_ITEMS, metadata={"demo": True})
    report.created.append(
        f"campaign {CONVERSATION_SLUG} ({N_CONVERSATION_ITEMS} live conversation items)"
    )
    return campaign


def _user(username: str, report: DemoReport, *, reset_password: bool) -> AbstractUser:
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, email=f"{username}@example.org")
        if username == "admin":
            user.is_staff = user.is_superuser = True
        report.created.append(f"user {username}")
        reset_password = True
    elif username == "admin" and not user.is_staff:
        # Never promote an account someone else made; say so instead.
        report.notes.append("user 'admin' exists without staff rights: left unchanged")
    if reset_password:
        password = new_password()
        user.set_password(password)
        report.passwords[username] = password
        user.save()
    return user


@transaction.atomic
def demo_seed(*, reset_passwords: bool = False) -> DemoReport:
    """Create whatever part of the demo is missing. Safe to run any number of times."""
    report = DemoReport()
    mixed = _mixed_campaign(report)
    conversation = _conversation_campaign(report)
    report.campaigns = [mixed, conversation]
    users = {name: _user(name, report, reset_password=reset_passwords) for name in USERNAMES}
    annotator_get_or_create(user=users["annotator"])
    group, _ = Group.objects.get_or_create(name=RESEARCHER_GROUP)
    users["researcher"].groups.add(group)
    for campaign in report.campaigns:
        CampaignGrant.objects.get_or_create(
            campaign=campaign, user=users["researcher"], defaults={"granted_by": users["admin"]}
        )
    return report


def demo_attach_models(*, campaign: Campaign) -> str:
    """Give a campaign the default local model endpoints (the packaged SmolLM2).

    Call it outside (after) ``demo_seed``'s transaction: it may be slow or fail, and the
    demo must exist either way (the campaign then has no model pool).
    """
    try:
        result = endpoint_ensure_default(campaign=campaign)
    except Exception:  # the demo must still come up if model serving is misconfigured
        logger.exception("endpoint_ensure_default failed for %s", campaign.slug)
        return "model pool: attaching the default endpoint failed (see the log)"
    return f"model pool of {campaign.slug}: {', '.join(str(e) for e in result)}"
