"""A small world for API tests: two campaigns, two researchers, two annotators, an admin.

- campaign ``alpha`` is granted to researcher ``res_a``; ``beta`` to ``res_b``;
- annotators ``ann_1`` and ``ann_2`` each labelled pairwise, ranking, rating and edit
  items in alpha; ``ann_3`` labelled in beta;
- ``admin`` is staff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import Annotation, AssignmentStatus, TaskType
from annotate.roles import RESEARCHER_GROUP
from tests.factories import (
    AnnotatorFactory,
    AssignmentFactory,
    CampaignFactory,
    GuidelineFactory,
    ItemFactory,
    ProfileVersionFactory,
    UserFactory,
)


def make_annotation(item: Any, annotator: Any, payload: dict[str, Any], **extra: Any) -> Any:
    """A submitted label with a payload already in the normalised (stored) shape."""
    order = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
    assignment = AssignmentFactory(
        item=item,
        annotator=annotator,
        presented_order=order,
        status=AssignmentStatus.SUBMITTED,
    )
    return Annotation.objects.create(
        assignment=assignment,
        item=item,
        campaign=item.campaign,
        annotator=annotator,
        task_type=item.task_type,
        payload=payload,
        time_spent_ms=extra.pop("time_spent_ms", 1234),
        profile_version=annotator.current_profile,
        guideline_version=extra.pop("guideline_version", None),
        **extra,
    )


def response_ids(item: Any) -> list[int]:
    return list(item.item_responses.order_by("position").values_list("response_id", flat=True))


def label_everything(campaign: Any, annotator: Any, guideline: Any = None) -> list[Any]:
    """One pairwise, ranking, rating and edit label by ``annotator`` on fresh items."""
    out = []
    pw = ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    a, b = response_ids(pw)
    out.append(
        make_annotation(
            pw,
            annotator,
            {
                "choice": "B",
                "strength": 2,
                "reason": "",
                "response_ids": [a, b],
                "chosen": b,
                "rejected": a,
            },
            guideline_version=guideline,
        )
    )
    rk = ItemFactory(campaign=campaign, task_type=TaskType.RANKING)
    r1, r2, r3 = response_ids(rk)
    out.append(make_annotation(rk, annotator, {"ranking": [[r2], [r1, r3]]}))
    rt = ItemFactory(campaign=campaign, task_type=TaskType.RATING, with_responses__n=3)
    x, y, z = response_ids(rt)
    out.append(
        make_annotation(
            rt,
            annotator,
            {
                "ratings": {
                    str(x): {"helpfulness": 6},
                    str(y): {"helpfulness": 2},
                    str(z): {"helpfulness": 6},
                }
            },
        )
    )
    ed = ItemFactory(campaign=campaign, task_type=TaskType.EDIT)
    (e,) = response_ids(ed)
    original = ed.item_responses.get().response.text
    out.append(
        make_annotation(
            ed,
            annotator,
            {
                "response_id": e,
                "edited_text": original + " Tides repeat twice a day.",
                "original_text": original,
                "edit_distance": 26,
                "diff": [],
            },
        )
    )
    tie = ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    ta, tb = response_ids(tie)
    out.append(
        make_annotation(
            tie,
            annotator,
            {
                "choice": "tie",
                "strength": 0,
                "reason": "",
                "response_ids": [ta, tb],
                "chosen": None,
                "rejected": None,
            },
        )
    )
    return out


def annotator_with_profile(username: str, **profile: Any) -> Any:
    user = UserFactory(username=username)
    annotator = AnnotatorFactory(user=user)
    pv = ProfileVersionFactory(annotator=annotator, **profile)
    annotator.current_profile = pv
    annotator.save(update_fields=["current_profile"])
    return annotator


@dataclass
class World:
    alpha: Any
    beta: Any
    admin: Any
    res_a: Any
    res_b: Any
    ann_1: Any
    ann_2: Any
    ann_3: Any
    labels: dict[str, list[Any]] = field(default_factory=dict)

    def client(self, who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            user = getattr(self, who)
            user = getattr(user, "user", user)  # annotators carry their user
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client


@pytest.fixture
def world(db: Any) -> World:
    group, _ = Group.objects.get_or_create(name=RESEARCHER_GROUP)
    admin = UserFactory(username="admin", is_staff=True)
    res_a = UserFactory(username="res_a")
    res_b = UserFactory(username="res_b")
    res_a.groups.add(group)
    res_b.groups.add(group)
    alpha = CampaignFactory(slug="alpha", config={"privacy": {"k_anonymity": 2}})
    beta = CampaignFactory(slug="beta")
    alpha.grants.create(user=res_a)
    beta.grants.create(user=res_b)
    guideline = GuidelineFactory(campaign=alpha)
    ann_1 = annotator_with_profile("ann-1-person", residence_country="GB", age_band="25-34")
    ann_2 = annotator_with_profile("ann-2-person", residence_country="FR", age_band="25-34")
    ann_3 = annotator_with_profile("ann-3-person", residence_country="US", age_band="18-24")
    w = World(alpha, beta, admin, res_a, res_b, ann_1, ann_2, ann_3)
    w.labels["ann_1"] = label_everything(alpha, ann_1, guideline)
    w.labels["ann_2"] = label_everything(alpha, ann_2, guideline)
    w.labels["ann_3"] = label_everything(beta, ann_3)
    return w
