"""bulk_insert: PostgreSQL COPY with bulk_create's contract."""

from __future__ import annotations

from typing import cast

import pytest
from django.db import IntegrityError, transaction

from annotate.models import Campaign, Conversation, GuidelineVersion, Turn
from annotate.services.bulk import bulk_insert
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def test_bulk_insert_sets_pks_defaults_and_foreign_keys():
    campaign = cast(Campaign, CampaignFactory())
    conversations = bulk_insert(
        [Conversation(campaign=campaign, source="t", external_id=str(n)) for n in range(3)]
    )
    assert all(c.pk for c in conversations) and not conversations[0]._state.adding
    roots = bulk_insert([Turn(conversation=c, role="user", text="hi") for c in conversations])
    children = bulk_insert(
        [Turn(conversation=t.conversation, parent=t, role="assistant", text="yo") for t in roots]
    )
    stored = {t.pk: t for t in Turn.objects.all()}
    assert len(stored) == 6
    for root, child in zip(roots, children, strict=True):
        assert stored[child.pk].parent_id == root.pk
        assert stored[child.pk].created_at is not None  # auto_now_add applied
    assert Conversation.objects.get(pk=conversations[2].pk).metadata == {}  # Python default
    assert bulk_insert([]) == []


def test_bulk_insert_raises_djangos_integrity_error():
    campaign = cast(Campaign, CampaignFactory())
    rows = [GuidelineVersion(campaign=campaign, version=1, text=t) for t in ("a", "b")]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(rows)
    assert not GuidelineVersion.objects.exists()
