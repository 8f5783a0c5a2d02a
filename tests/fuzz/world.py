"""The world the fuzzers attack: every page's precondition met, so input reaches the code.

One open campaign with items of every task type (overlap high enough for every example),
a live-conversation campaign over fake models, an onboarded annotator, a researcher
granted both campaigns, and a staff admin. Built once per test on PostgreSQL
(``transactional_db``: each fuzzed request commits or fails on its own, as in production).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import Group
from django.test import Client
from hypothesis import HealthCheck, settings

from annotate.models import Annotation, Assignment, Campaign, CampaignGrant, Item, TaskType
from annotate.roles import RESEARCHER_GROUP
from tests.annotate.ui_helpers import give_consent, onboarded_annotator
from tests.factories import (
    AnnotatorFactory,
    AssignmentFactory,
    CampaignFactory,
    GuidelineFactory,
    ItemFactory,
    UserFactory,
)

# Examples per surface: a CI run stays near a minute; bench/fuzz_deep.py raises it.
EXAMPLES = int(os.environ.get("CHORUS_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("CHORUS_FUZZ_RANDOM", "") != "1",
    suppress_health_check=list(HealthCheck),
)
TASK_TYPES = (
    TaskType.PAIRWISE,
    TaskType.RANKING,
    TaskType.RATING,
    TaskType.EDIT,
    TaskType.CRITIQUE,
    TaskType.BWS,
)
FORM = "application/x-www-form-urlencoded"


def form_body(pairs: list[tuple[str, str]]) -> str:
    """URL-encoded form body; lone surrogates go out as their (invalid) UTF-8 bytes."""
    return urlencode(pairs, encoding="utf-8", errors="surrogatepass")


@dataclass
class World:
    campaign: Campaign
    chat: Campaign
    annotator: Any
    researcher: Any
    admin: Any
    items: dict[str, Item]

    def client(self, who: str | None) -> Client:
        client = Client(raise_request_exception=False)
        user = {
            "annotator": self.annotator.user if self.annotator else None,
            "researcher": self.researcher,
            "admin": self.admin,
        }.get(who or "")
        if user is not None:
            client.force_login(user)
        return client

    def assignment(self, task_type: str) -> Any:
        """A fresh active assignment of the annotator on an item of ``task_type``."""
        item = self.items[task_type]
        # One assignment per (item, annotator): the previous example's goes first.
        Annotation.objects.filter(item=item, annotator=self.annotator).delete()
        Assignment.objects.filter(item=item, annotator=self.annotator).delete()
        order = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
        # The lease holds one slot, as assignment_next leaves it.
        Item.objects.filter(pk=item.pk).update(slots_taken=1)
        return AssignmentFactory(item=item, annotator=self.annotator, presented_order=order)


def build_world() -> World:
    campaign = CampaignFactory(
        slug="fuzz", overlap=1000, task_mix={t: 1.0 for t in TASK_TYPES}, critique_categories=["x"]
    )
    GuidelineFactory(campaign=campaign)
    items = {t: ItemFactory(campaign=campaign, task_type=t, overlap=1000) for t in TASK_TYPES}
    chat = CampaignFactory(
        slug="fuzz-chat",
        task_mix={"conversation": 1},
        rating_scale="slider100",
        config={"conversation_models": 2, "conversation_min_turns": 1},
    )
    annotator = onboarded_annotator()  # the site consent covers both campaigns
    researcher = UserFactory(username="fuzz-researcher")
    researcher.groups.add(Group.objects.get_or_create(name=RESEARCHER_GROUP)[0])
    for c in (campaign, chat):
        CampaignGrant.objects.create(campaign=c, user=researcher)
    admin = UserFactory(username="fuzz-admin", is_staff=True, is_superuser=True)
    return World(campaign, chat, annotator, researcher, admin, items)


def fresh_annotator() -> Any:
    annotator = AnnotatorFactory()
    give_consent(annotator)
    return annotator
