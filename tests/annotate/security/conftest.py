"""A small world for the security tests: two annotators with work, two researchers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group

from annotate.roles import RESEARCHER_GROUP
from tests.factories import (
    AssignmentFactory,
    CampaignFactory,
    ItemFactory,
    UserFactory,
)

SECRET = "B-SECRET-RESPONSE-7731"


@dataclass
class World:
    campaign: Any
    other_campaign: Any
    a: Any  # annotator A (the one asking)
    b: Any  # annotator B (the victim)
    a_assignment: Any
    b_assignment: Any
    b_annotation: Any
    b_pending: Any  # B's active assignment (submit/skip targets)
    researcher: Any  # granted on ``campaign`` only
    outsider: Any  # researcher granted on ``other_campaign`` only


@pytest.fixture
def world(db) -> World:
    from annotate.models import Annotation, CampaignGrant

    campaign = CampaignFactory(overlap=3)
    other = CampaignFactory(overlap=3)
    items = [ItemFactory(campaign=campaign) for _ in range(3)]
    for item in items:
        item.item_responses.first().response.__class__.objects.filter(
            pk=item.item_responses.first().response_id
        ).update(text=f"{SECRET} {item.pk}")

    def order(item):
        return list(item.item_responses.order_by("position").values_list("response_id", flat=True))

    a_assignment = AssignmentFactory(item=items[0], presented_order=order(items[0]))
    a = a_assignment.annotator
    b_done = AssignmentFactory(item=items[1], presented_order=order(items[1]))
    b = b_done.annotator
    b_done.status = "submitted"
    b_done.save(update_fields=["status"])
    b_annotation = Annotation.objects.create(
        assignment=b_done,
        item=b_done.item,
        campaign=campaign,
        annotator=b,
        task_type=b_done.item.task_type,
        payload={"choice": "A", "reason": SECRET},
    )
    b_pending = AssignmentFactory(item=items[2], annotator=b, presented_order=order(items[2]))
    group, _ = Group.objects.get_or_create(name=RESEARCHER_GROUP)
    researcher = UserFactory()
    outsider = UserFactory()
    researcher.groups.add(group)
    outsider.groups.add(group)
    CampaignGrant.objects.create(campaign=campaign, user=researcher)
    CampaignGrant.objects.create(campaign=other, user=outsider)
    return World(
        campaign=campaign,
        other_campaign=other,
        a=a,
        b=b,
        a_assignment=a_assignment,
        b_assignment=b_done,
        b_annotation=b_annotation,
        b_pending=b_pending,
        researcher=researcher,
        outsider=outsider,
    )
