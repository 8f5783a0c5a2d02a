"""Issue 14: labels load as columns (COPY on PostgreSQL, the ORM elsewhere) and snapshots
extend the additive figures with new labels only, equal to a full recompute."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.analytics.report import ReportOptions, campaign_report
from annotate.analytics.tally import Tally, tally_leaderboard, tally_merge, tally_of
from annotate.models import Annotation, ItemResponse
from annotate.selectors.analytics import campaign_analytics_data
from annotate.selectors.analytics_load import label_columns
from annotate.services.analytics import analytics_snapshot_compute
from modelserve.generation.models import ModelEndpoint
from modelserve.learning.models import PolicyVersion
from tests.annotate.analytics import test_campaign_analytics as base
from tests.factories import (
    AnnotatorFactory,
    CampaignFactory,
    ItemFactory,
    PromptFactory,
    ResponseFactory,
)

pytestmark = pytest.mark.django_db
study = base.study  # the fixture: three annotators, pairwise and rating labels
_label = base._label


def _arrays(d):
    return {k: v for k, v in vars(d).items() if isinstance(v, np.ndarray)}


def test_copy_and_orm_paths_give_the_same_arrays(study):
    campaign, _ = study
    fast, orm = (
        campaign_analytics_data(campaign=campaign, group_fields=["residence_country"], fast=f)
        for f in (True, False)
    )
    assert len(fast.label_id) == 36 and len(fast.pw_label) == 18 and len(fast.rt_label) == 72
    for name, value in _arrays(fast).items():
        np.testing.assert_allclose(value, _arrays(orm)[name], err_msg=name, rtol=1e-12)
    for name in ("annotator_names", "model_names", "annotator_groups", "label_groups"):
        left, right = getattr(fast, name), getattr(orm, name)
        assert str(left) == str(right), name
    opts = ReportOptions(n_boot=20)
    assert campaign_report(fast, opts) == campaign_report(orm, opts)
    # The gold and attention items of the fixture were judged.
    assert (fast.label_gold >= 0).sum() == 3 and (fast.label_attention >= 0).sum() == 3
    assert len(label_columns(campaign=campaign, after_id=int(fast.label_id.max()))["id"]) == 0


@pytest.mark.django_db(transaction=True)
def test_reads_on_two_connections_give_the_same_arrays(study):
    """Outside a transaction the labels' two id halves and the responses are read on
    connections of their own (annotate.selectors.read_ahead.in_background)."""
    from django.db import connection

    assert not connection.in_atomic_block
    test_copy_and_orm_paths_give_the_same_arrays(study)


def test_tally_of_parts_equals_tally_of_all(study):
    campaign, _ = study
    whole = campaign_analytics_data(campaign=campaign)
    cut = int(np.sort(whole.label_id)[14])
    newer = campaign_analytics_data(campaign=campaign, after_id=cut)
    assert 0 < len(newer.label_id) < len(whole.label_id)
    # The older part: every label, minus the newer ones' tally, is what a snapshot held.
    full = tally_of(whole)
    part = tally_of(newer)
    older = Tally(
        max_label_id=cut,
        n_labels=full.n_labels - part.n_labels,
        by_task={k: v - part.by_task.get(k, 0) for k, v in full.by_task.items()},
        by_annotator={k: v - part.by_annotator.get(k, 0) for k, v in full.by_annotator.items()},
        battles={
            k: [w - part.battles.get(k, [0, 0])[0], n - part.battles.get(k, [0, 0])[1]]
            for k, (w, n) in full.battles.items()
        },
    )
    merged = tally_merge(older, part)
    assert merged.to_json() == full.to_json()
    assert Tally.from_json(full.to_json()).to_json() == full.to_json()
    board = tally_leaderboard(full)
    assert [r["model"] for r in board] == ["strong", "weak"]
    assert sum(r["battles"] for r in board) == 2 * 18


def test_incremental_snapshot_equals_full_recompute(study, settings):
    campaign, people = study
    settings.CHORUS_ANALYTICS_INCREMENTAL_MIN_LABELS = 10
    settings.CHORUS_ANALYTICS_FULL_EVERY = 0.5
    first = analytics_snapshot_compute(campaign_id=campaign.pk)
    assert first.data["incremental"]["full_labels"] == 36
    # Three new pairwise labels on a new item.
    item = ItemFactory(campaign=campaign, overlap=3)
    a, b = ItemResponse.objects.filter(item=item).values_list("response_id", flat=True)
    for ann, profile in people:
        _label(
            item,
            ann,
            profile,
            "pairwise",
            {"choice": "A", "strength": -2, "response_ids": [a, b], "chosen": a, "rejected": b},
            [a, b],
        )
    inc = analytics_snapshot_compute(campaign_id=campaign.pk)
    full = analytics_snapshot_compute(campaign_id=campaign.pk, full=True)
    assert inc.n_labels == full.n_labels == 39
    assert inc.data["tally"] == {
        **full.data["tally"],
        "leaderboard": inc.data["tally"]["leaderboard"],
    }
    assert inc.data["tally"]["leaderboard"] == full.data["tally"]["leaderboard"]
    # Carried over: the incremental run did not recompute agreement.
    assert inc.data["incremental"] == first.data["incremental"]
    assert full.data["incremental"]["full_labels"] == 39


def test_deleted_labels_force_a_full_recompute(study, settings):
    campaign, _ = study
    settings.CHORUS_ANALYTICS_INCREMENTAL_MIN_LABELS = 10
    analytics_snapshot_compute(campaign_id=campaign.pk)
    Annotation.objects.filter(pk=Annotation.objects.order_by("id").first().pk).delete()
    again = analytics_snapshot_compute(campaign_id=campaign.pk)
    assert again.n_labels == 35 and again.data["incremental"]["full_labels"] == 35


def test_response_models_and_twins_come_from_the_database_the_same_on_both_paths():
    campaign = CampaignFactory()
    prompt = PromptFactory(campaign=campaign)
    alpha = ModelEndpoint.objects.create(name="alpha")
    version = PolicyVersion.objects.create(campaign=campaign, version=3)
    made = [
        ResponseFactory(prompt=prompt, text="same words", endpoint=alpha, policy_version=version),
        ResponseFactory(prompt=prompt, text="other words", policy_version=version),
        ResponseFactory(prompt=prompt, text="third", source="human-written"),
        ResponseFactory(prompt=prompt, text="same words", source=""),  # r0's twin
    ]
    annotator = AnnotatorFactory()
    for a, b in ((made[0], made[1]), (made[2], made[3])):
        item = ItemFactory(campaign=campaign, prompt=prompt)
        ItemResponse.objects.filter(item=item).delete()  # the factory's own pair
        for position, response in enumerate((a, b)):
            ItemResponse.objects.create(item=item, response=response, position=position)
        _label(
            item,
            annotator,
            None,
            "pairwise",
            {"choice": "A", "strength": -1, "response_ids": [a.pk, b.pk]},
            [a.pk, b.pk],
        )
    fast, orm = (campaign_analytics_data(campaign=campaign, fast=f) for f in (True, False))
    for d in (fast, orm):
        assert d.response_id.tolist() == [r.pk for r in made]
        names = [d.model_names[m] for m in d.response_model]
        assert names == ["alpha", "policy v3", "human-written", "unknown"]
        assert d.response_canonical.tolist() == [0, 1, 2, 0]


def test_response_facts_give_response_rows_for_any_selection():
    """The campaign-wide response facts (read alongside the labels) give exactly what
    response_rows gives for the responses the labels use: twins only within a prompt,
    the lowest *selected* id as canonical, and None for a response outside the
    campaign's items."""
    from annotate.selectors.analytics_load import (
        campaign_response_facts,
        response_rows,
        response_rows_from_facts,
    )

    campaign = CampaignFactory()
    p1, p2 = PromptFactory(campaign=campaign), PromptFactory(campaign=campaign)
    r = [
        ResponseFactory(prompt=p1, text="same"),
        ResponseFactory(prompt=p1, text="same"),
        ResponseFactory(prompt=p1, text="same"),
        ResponseFactory(prompt=p2, text="same"),  # another prompt: not a twin
        ResponseFactory(prompt=p1, text="other"),
    ]
    for a, b in ((r[0], r[1]), (r[2], r[3]), (r[4], r[0])):
        item = ItemFactory(campaign=campaign, prompt=a.prompt)
        ItemResponse.objects.filter(item=item).delete()
        for position, response in enumerate((a, b)):
            ItemResponse.objects.create(item=item, response=response, position=position)
    outside = ResponseFactory(prompt=p1, text="same")  # on no item of the campaign
    facts = campaign_response_facts(campaign.pk)
    assert sorted(facts.ids.tolist()) == sorted(x.pk for x in r)
    for chosen in ([0, 1, 2, 3, 4], [1, 2, 3], [4, 2], [3], []):
        ids = np.array(sorted(r[i].pk for i in chosen), dtype=np.int64)
        assert response_rows_from_facts(facts, ids) == response_rows(ids.tolist()), chosen
    assert response_rows_from_facts(facts, np.array([r[1].pk, outside.pk])) is None
