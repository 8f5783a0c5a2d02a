"""Judges (issue 16): attach one to a campaign, version its prompts, start a judging job.

Running the model is generation's business: the job is the Celery task
``modelserve.tasks.generate_judgments`` (``modelserve.generation.judging``), enqueued
here by name so the core flow never imports model serving. What the job stores (the
judgments and the AI label they add up to) is ``annotate.services.judge_labels``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max

from annotate.judge_prompts import DEFAULT_SYSTEM, DEFAULT_TEMPLATES, template_check
from annotate.models import Annotator, Campaign, Judge, JudgePrompt
from annotate.tasks_util import enqueue

# Routed to the "generate" queue by CELERY_TASK_ROUTES (modelserve.tasks.generate_*),
# where the model is already loaded.
GENERATE_JUDGMENTS = "modelserve.tasks.generate_judgments"


@transaction.atomic
def judge_create(
    *,
    campaign: Campaign,
    name: str,
    endpoint: Any,
    inconsistent_policy: str = "",
    enabled: bool = True,
) -> Judge:
    """A judge with its own AI annotator (a user that cannot log in) and version 1 of the
    default prompt for every task type it can label."""
    name = (name or "").strip()
    if not name:
        raise ValueError("a judge needs a name")
    if Judge.objects.filter(campaign=campaign, name=name).exists():
        raise ValueError(f"campaign {campaign.slug} already has a judge named {name!r}")
    judge = Judge.objects.create(
        campaign=campaign,
        name=name,
        endpoint=endpoint,
        annotator=judge_annotator_create(),
        inconsistent_policy=inconsistent_policy,
        enabled=enabled,
    )
    judge_prompts_default(judge=judge)
    return judge


def judge_annotator_create() -> Annotator:
    """The AI annotator a judge labels as: a user that cannot log in (inactive, no
    usable password), so nobody can act as the judge, and an ``ai_`` pseudonym."""
    user = get_user_model().objects.create_user(
        username=f"judge_{secrets.token_hex(6)}", is_active=False
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return Annotator.objects.create(user=user, pseudonym=f"ai_{secrets.token_hex(8)}")


def judge_prompts_default(*, judge: Judge) -> None:
    """Version 1 of the default prompt for every task type the judge has none for."""
    have = set(JudgePrompt.objects.filter(judge=judge).values_list("task_type", flat=True))
    JudgePrompt.objects.bulk_create(
        JudgePrompt(judge=judge, task_type=t, version=1, system=DEFAULT_SYSTEM, template=tpl)
        for t, tpl in DEFAULT_TEMPLATES.items()
        if t not in have
    )


@transaction.atomic
def judge_prompt_save(*, judge: Judge, task_type: str, template: str, system: str) -> JudgePrompt:
    """A new version of the judge's prompt for ``task_type`` (never an edit in place, so
    earlier judgments keep the text that produced them). Unchanged text adds nothing.

    Locks the judge row so two concurrent edits get distinct version numbers. Raises
    ValueError (TemplateError) for a template that cannot be rendered.
    """
    template_check(task_type, template)
    Judge.objects.select_for_update().filter(pk=judge.pk).first()
    current = judge_prompt_current(judge=judge, task_type=task_type)
    if current is not None and current.template == template and current.system == system:
        return current
    latest = (
        JudgePrompt.objects.filter(judge=judge, task_type=task_type).aggregate(v=Max("version"))[
            "v"
        ]
        or 0
    )
    return JudgePrompt.objects.create(
        judge=judge, task_type=task_type, version=latest + 1, system=system, template=template
    )


def judge_prompt_current(*, judge: Judge, task_type: str) -> JudgePrompt | None:
    """The newest version of the judge's prompt for a task type (None: not labelled)."""
    return JudgePrompt.objects.filter(judge=judge, task_type=task_type).order_by("-version").first()


def judge_job_enqueue(
    *,
    campaign: Campaign,
    judge_ids: Sequence[int] | None = None,
    item_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> None:
    """Ask the generate queue to judge the campaign's items (after the caller commits).

    ``item_ids`` restricts the job to those items (routing sends the items it gives to
    the AI); ``limit`` caps the number of items per judge. Safe to call twice: judgments
    already stored are not asked again.
    """
    kwargs: dict[str, Any] = {
        "judge_ids": list(judge_ids) if judge_ids is not None else None,
        "item_ids": list(item_ids) if item_ids is not None else None,
        "limit": limit,
    }
    transaction.on_commit(lambda: enqueue(GENERATE_JUDGMENTS, campaign.pk, **kwargs))
