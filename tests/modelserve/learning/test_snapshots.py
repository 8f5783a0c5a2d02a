"""Annotations to training records: every label type, exclusions, groups, reference labels."""

from __future__ import annotations

import pytest

from annotate.models import TaskType
from modelserve.learning.selectors import label_cutoff, new_label_count
from modelserve.learning.snapshots import training_records
from modelserve.training.data import build_dataset
from tests.factories import CampaignFactory, ItemFactory

from .helpers import annotator_with_profile, label, response_ids

pytestmark = pytest.mark.django_db


def test_every_label_type_becomes_training_data():
    campaign = CampaignFactory(rating_attributes=["helpfulness", "safety"])
    young = annotator_with_profile(age_band="18-24")
    old = annotator_with_profile(age_band="55-64")
    pw = ItemFactory(campaign=campaign)
    a, b = response_ids(pw)
    label(pw, young, {"choice": "B", "strength": 3, "chosen": b, "rejected": a})
    rk = ItemFactory(campaign=campaign, task_type=TaskType.RANKING)
    r1, r2, r3 = response_ids(rk)
    label(rk, old, {"ranking": [[r2], [r1, r3]]})
    rt = ItemFactory(campaign=campaign, task_type=TaskType.RATING, with_responses__n=2)
    t1, t2 = response_ids(rt)
    label(
        rt,
        old,
        {
            "ratings": {
                str(t1): {"helpfulness": 2, "safety": 7},
                str(t2): {"helpfulness": 5, "safety": 1},
            }
        },
    )
    ed = ItemFactory(campaign=campaign, task_type=TaskType.EDIT)
    (e1,) = response_ids(ed)
    label(ed, young, {"response_id": e1, "edited_text": "A much better answer."})
    cr = ItemFactory(campaign=campaign, task_type=TaskType.CRITIQUE)
    label(cr, young, {"critique": "meh", "suggestion": "", "spans": []})

    records = training_records(campaign=campaign)
    assert sorted(r.task_type for r in records) == ["edit", "pairwise", "ranking", "rating"]
    assert {r.group for r in records} == {"18-24", "55-64"}
    ds = build_dataset(records, val_fraction=0.0)
    texts = {rid: t for r in records for rid, t in r.responses.items()}
    got = sorted((p.source, p.chosen, p.rejected) for p in ds.train_pairs)
    assert got == sorted(
        [
            ("pairwise", texts[b], texts[a]),
            ("ranking", texts[r2], texts[r1]),
            ("ranking", texts[r2], texts[r3]),
            ("rating", texts[t2], texts[t1]),  # by helpfulness, the overall attribute
            ("edit", "A much better answer.", texts[e1]),
        ]
    )
    assert len(ds.train_lists) == 1


def test_attention_checks_deleted_annotators_and_flagged_labels_are_left_out():
    campaign = CampaignFactory()
    ann = annotator_with_profile()
    gone = annotator_with_profile()
    gone.deleted_at = gone.created_at
    gone.save(update_fields=["deleted_at"])
    keep = ItemFactory(campaign=campaign)
    check = ItemFactory(campaign=campaign, is_attention_check=True)
    flagged = ItemFactory(campaign=campaign)
    for item, who in ((keep, ann), (check, ann), (keep, gone)):
        a, b = response_ids(item)
        label(item, who, {"choice": "A", "chosen": a, "rejected": b})
    a, b = response_ids(flagged)
    bad = label(flagged, ann, {"choice": "A", "chosen": a, "rejected": b})
    bad.flags = {"exclude_from_training": True}
    bad.save(update_fields=["flags"])
    records = training_records(campaign=campaign)
    assert [r.prompt_key for r in records] == [str(keep.prompt_id)]


def test_reference_preferences_of_imported_items_are_opt_in():
    campaign = CampaignFactory()
    item = ItemFactory(
        campaign=campaign,
        metadata={
            "reference_preference": {
                "source": "hh-rlhf",
                "chosen_position": 1,
                "rejected_position": 0,
            }
        },
    )
    first, second = response_ids(item)
    assert training_records(campaign=campaign) == []
    (rec,) = training_records(campaign=campaign, include_reference=True)
    assert rec.payload["chosen"] == second and rec.payload["rejected"] == first
    assert rec.annotator == "reference"


def test_new_label_count_and_bad_group():
    campaign = CampaignFactory()
    ann = annotator_with_profile()
    item = ItemFactory(campaign=campaign)
    a, b = response_ids(item)
    label(item, ann, {"choice": "A", "chosen": a, "rejected": b})
    assert label_cutoff(campaign=campaign, kind="reward") == 0
    assert new_label_count(campaign=campaign, kind="reward") == 1
    with pytest.raises(ValueError, match="Cannot group by"):
        training_records(campaign=campaign, group_by="password")
