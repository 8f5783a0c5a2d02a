"""Judge models: AI labels live beside human ones and stay out of every default read."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from annotate.models import Annotation, AnnotationSource, Judge, JudgePrompt
from annotate.services.judges import judge_create, judge_prompt_current, judge_prompt_save
from tests.factories import ItemFactory, ModelEndpointFactory

pytestmark = pytest.mark.django_db


def _ai_label(judge: Judge, item) -> Annotation:  # type: ignore[no-untyped-def]
    return Annotation.all_sources.create(
        item=item,
        campaign=item.campaign,
        annotator=judge.annotator,
        task_type=item.task_type,
        payload={"choice": "tie"},
        source=AnnotationSource.AI,
        judge=judge,
        judge_prompt_version=1,
    )


def test_judge_create_makes_an_ai_annotator_and_default_prompts() -> None:
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="smol", endpoint=ModelEndpointFactory())
    assert not judge.annotator.user.is_active
    assert not judge.annotator.user.has_usable_password()
    assert set(JudgePrompt.objects.filter(judge=judge).values_list("task_type", flat=True)) == {
        "pairwise",
        "ranking",
        "rating",
    }
    with pytest.raises(ValueError, match="already has a judge"):
        judge_create(campaign=item.campaign, name="smol", endpoint=judge.endpoint)


def test_prompt_edit_makes_a_new_version_and_refuses_bad_templates() -> None:
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="j", endpoint=ModelEndpointFactory())
    v1 = judge_prompt_current(judge=judge, task_type="pairwise")
    assert v1 is not None and v1.version == 1
    same = judge_prompt_save(
        judge=judge, task_type="pairwise", template=v1.template, system=v1.system
    )
    assert same.pk == v1.pk
    v2 = judge_prompt_save(
        judge=judge, task_type="pairwise", template="{prompt} A or B?", system=""
    )
    assert v2.version == 2
    assert judge_prompt_current(judge=judge, task_type="pairwise") == v2
    with pytest.raises(ValueError, match="bad judge template"):
        judge_prompt_save(judge=judge, task_type="pairwise", template="{nope}", system="")
    with pytest.raises(ValueError):
        judge_prompt_save(judge=judge, task_type="edit", template="{prompt}", system="")


def test_ai_labels_are_hidden_from_the_default_and_related_managers() -> None:
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="j", endpoint=ModelEndpointFactory())
    label = _ai_label(judge, item)
    assert not Annotation.objects.filter(pk=label.pk).exists()
    assert item.annotations.count() == 0
    assert item.campaign.annotations.count() == 0
    assert judge.annotator.annotations.count() == 0
    assert Annotation._default_manager.count() == 0
    assert Annotation.all_sources.filter(pk=label.pk).exists()
    assert judge.annotations.count() == 0  # a related manager of Annotation: human only too
    assert Annotation.all_sources.filter(judge=judge).count() == 1


def test_source_constraints() -> None:
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="j", endpoint=ModelEndpointFactory())
    _ai_label(judge, item)
    with pytest.raises(IntegrityError), transaction.atomic():
        _ai_label(judge, item)  # one label per judge and item
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.all_sources.create(  # a human label needs an assignment
            item=item,
            campaign=item.campaign,
            annotator=judge.annotator,
            task_type=item.task_type,
            payload={},
        )


def test_deleting_a_judge_deletes_its_labels() -> None:
    item = ItemFactory()
    judge = judge_create(campaign=item.campaign, name="j", endpoint=ModelEndpointFactory())
    _ai_label(judge, item)
    judge.delete()
    assert Annotation.all_sources.count() == 0
