"""Judges and judge prompts are editable in the admin; a prompt edit is a new version."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Judge, JudgePrompt
from tests.factories import CampaignFactory, ModelEndpointFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_add_a_judge_and_edit_its_prompt(client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    campaign, endpoint = CampaignFactory(), ModelEndpointFactory()
    resp = client.post(
        reverse("admin:annotate_judge_add"),
        {
            "campaign": campaign.pk,
            "name": "smol",
            "endpoint": endpoint.pk,
            "enabled": "on",
            "inconsistent_policy": "tie",
            # the prompt inline (read-only rows, none added)
            "prompts-TOTAL_FORMS": "0",
            "prompts-INITIAL_FORMS": "0",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    judge = Judge.objects.get(name="smol")
    assert judge.annotator.pseudonym.startswith("ai_") and judge.prompts.count() == 3
    prompt = judge.prompts.get(task_type="pairwise")
    url = reverse("admin:annotate_judgeprompt_change", args=[prompt.pk])
    assert client.get(url).status_code == 200
    resp = client.post(url, {"system": "Be brief.", "template": "{prompt}: A or B? [[A]]/[[B]]"})
    assert resp.status_code == 302, resp.content.decode()[:2000]
    versions = list(
        JudgePrompt.objects.filter(judge=judge, task_type="pairwise").values_list(
            "version", "system"
        )
    )
    assert sorted(versions) == [(1, prompt.system), (2, "Be brief.")]
    bad = client.post(url, {"system": "", "template": "{unknown}"})
    assert bad.status_code == 200 and "bad judge template" in bad.content.decode()
    assert client.get(reverse("admin:annotate_judgment_changelist")).status_code == 200
