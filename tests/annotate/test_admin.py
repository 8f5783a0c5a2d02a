"""Django admin: pages render for staff, changelists do not grow queries with rows, and
what labels depend on cannot be edited."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from annotate.models import (
    Annotation,
    Annotator,
    Assignment,
    AssignmentStatus,
    Campaign,
    CampaignGrant,
    CampaignStatus,
    Consent,
    Conversation,
    GuidelineVersion,
    Item,
    ProfileVersion,
    Prompt,
    Response,
    Turn,
)
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

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "campaign",
    "item",
    "assignment",
    "annotation",
    "annotator",
    "profileversion",
    "consent",
    "conversation",
    "prompt",
    "response",
]


def url(model: str, view: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:annotate_{model}_{view}", args=args)


def add_rows(campaign: Campaign, n: int) -> list[Annotation]:
    """n labelled items, each by its own annotator with a profile and a consent."""
    annotations = []
    for k in range(n):
        item = cast(Item, ItemFactory(campaign=campaign, metadata={"k": k}))
        assert item.prompt is not None
        conversation = Conversation.objects.create(campaign=campaign, source="test")
        turn = Turn.objects.create(
            conversation=conversation, role="user", text=item.prompt.text, depth=0
        )
        Prompt.objects.filter(pk=item.prompt.pk).update(conversation=conversation, turn=turn)
        profile = cast(ProfileVersion, ProfileVersionFactory())
        annotator = profile.annotator
        annotator.current_profile = profile
        annotator.save(update_fields=["current_profile"])
        Consent.objects.create(annotator=annotator, campaign=campaign, version="1", text_sha256="0")
        assignment = cast(
            Assignment,
            AssignmentFactory(item=item, annotator=annotator, status=AssignmentStatus.SUBMITTED),
        )
        annotations.append(
            Annotation.objects.create(
                assignment=assignment,
                item=item,
                campaign=campaign,
                annotator=annotator,
                task_type=item.task_type,
                payload={"choice": "A"},
                profile_version=profile,
                flags={"too_fast": True} if k % 2 else {},
            )
        )
    return annotations


def query_count(client: Client, target: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(target)
    assert response.status_code == 200, target
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(admin_client: Client, model: str):
    campaign = cast(Campaign, CampaignFactory())
    GuidelineFactory(campaign=campaign)
    add_rows(campaign, 2)
    few = query_count(admin_client, url(model))
    add_rows(campaign, 12)
    many = query_count(admin_client, url(model))
    assert many == few, f"{model}: {few} queries for 2 rows, {many} for 14"
    assert many <= 14


def test_change_pages_render_for_staff(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory())
    GuidelineFactory(campaign=campaign)
    (annotation,) = add_rows(campaign, 1)
    item = annotation.item
    prompt = Prompt.objects.get(items=item)
    objects = {
        "campaign": campaign,
        "item": item,
        "assignment": annotation.assignment,
        "annotation": annotation,
        "annotator": annotation.annotator,
        "profileversion": annotation.profile_version,
        "consent": Consent.objects.get(annotator=annotation.annotator),
        "conversation": prompt.conversation,
        "prompt": prompt,
        "response": Response.objects.filter(prompt=prompt).first(),
    }
    for model, obj in objects.items():
        assert obj is not None
        response = admin_client.get(url(model, "change", obj.pk))
        assert response.status_code == 200, model
    page = admin_client.get(url("item", "change", item.pk)).content.decode()
    for text in Response.objects.filter(prompt=prompt).values_list("text", flat=True):
        assert escape(text) in page  # the read-only inline shows the responses
    assert admin_client.get(url("campaign", "add")).status_code == 200


def test_non_staff_are_sent_to_the_admin_login(client: Client):
    client.force_login(cast(User, UserFactory()))
    response = client.get(url("item"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def post_data(page: Any, **changes: Any) -> dict[str, Any]:
    """The POST a browser would send for an admin change page, with ``changes`` applied."""
    data: dict[str, Any] = {}

    def put(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if value is True:
                data[key] = "on"
            elif value not in (None, False):
                data[key] = value

    put(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            put(form)
    data.update(changes)
    return data


def test_item_counters_and_content_are_read_only(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory(overlap=3))
    (annotation,) = add_rows(campaign, 1)
    item = annotation.item
    Item.objects.filter(pk=item.pk).update(slots_taken=1, n_submitted=1)
    page = admin_client.get(url("item", "change", item.pk))
    form_fields = set(page.context["adminform"].form.fields)
    assert {"slots_taken", "n_submitted", "overlap", "prompt", "campaign"}.isdisjoint(form_fields)
    assert {"priority", "gold_answer", "is_gold"} <= form_fields
    data = post_data(page, priority="5.5", slots_taken="0", n_submitted="0", overlap="1")
    response = admin_client.post(url("item", "change", item.pk), data)
    assert response.status_code == 302, (
        getattr(response, "context", None) and response.context["adminform"].form.errors
    )
    item.refresh_from_db()
    assert (item.priority, item.slots_taken, item.n_submitted, item.overlap) == (5.5, 1, 1, 3)
    assert admin_client.get(url("item", "add")).status_code == 403


def test_labels_profiles_and_assignments_cannot_be_changed(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory())
    (annotation,) = add_rows(campaign, 1)
    page = admin_client.get(url("annotation", "change", annotation.pk))
    assert page.status_code == 200 and b'name="payload"' not in page.content
    response = admin_client.post(url("annotation", "change", annotation.pk), {"payload": "{}"})
    assert response.status_code == 403
    assert Annotation.objects.get(pk=annotation.pk).payload == {"choice": "A"}
    assert admin_client.get(url("annotation", "delete", annotation.pk)).status_code == 403
    profile = annotation.profile_version
    assert profile is not None
    response = admin_client.post(url("profileversion", "change", profile.pk), {"age_band": "65+"})
    assert response.status_code == 403
    # A submitted assignment holds its slot: no delete; a skipped one may go.
    submitted = annotation.assignment
    assert admin_client.get(url("assignment", "delete", submitted.pk)).status_code == 403
    skipped = cast(Assignment, AssignmentFactory(status=AssignmentStatus.SKIPPED))
    assert admin_client.get(url("assignment", "delete", skipped.pk)).status_code == 200
    admin_client.post(url("assignment", "delete", skipped.pk), {"post": "yes"})
    assert not Assignment.objects.filter(pk=skipped.pk).exists()


def test_prompt_and_response_texts_are_read_only_and_labelled_ones_kept(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory())
    (annotation,) = add_rows(campaign, 1)
    prompt = annotation.item.prompt
    assert prompt is not None
    page = admin_client.get(url("prompt", "change", prompt.pk))
    assert "text" not in page.context["adminform"].form.fields
    data = post_data(page, text="Changed!", metadata='{"note": "checked"}')
    assert admin_client.post(url("prompt", "change", prompt.pk), data).status_code == 302
    prompt.refresh_from_db()
    assert prompt.text != "Changed!" and prompt.metadata == {"note": "checked"}
    assert admin_client.get(url("prompt", "delete", prompt.pk)).status_code == 403
    response = Response.objects.filter(prompt=prompt).first()
    assert response is not None
    assert admin_client.get(url("response", "delete", response.pk)).status_code == 403
    # Content nobody labelled may be deleted.
    spare = cast(Item, ItemFactory(campaign=campaign))
    assert spare.prompt is not None
    assert admin_client.get(url("prompt", "delete", spare.prompt.pk)).status_code == 200


def test_campaign_edit_publishes_guidelines_and_grants_through_services(admin_client, admin_user):
    campaign = cast(Campaign, CampaignFactory(name="Old name"))
    GuidelineFactory(campaign=campaign, text="First rules.")
    researcher = cast(User, UserFactory(username="res"))
    researcher.groups.add(Group.objects.get_or_create(name=RESEARCHER_GROUP)[0])
    page = admin_client.get(url("campaign", "change", campaign.pk))
    form_fields = set(page.context["adminform"].form.fields)
    assert "slug" not in form_fields and "status" not in form_fields
    data = post_data(
        page,
        name="New name",
        slug="hijacked",
        **{
            "guidelines-2-0-text": "Second rules.",
            "grants-2-0-user": str(researcher.pk),
        },
    )
    prefixes = {i.formset.prefix for i in page.context["inline_admin_formsets"]}
    assert prefixes == {"guidelines", "guidelines-2", "grants", "grants-2"}
    response = admin_client.post(url("campaign", "change", campaign.pk), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.slug) == ("New name", campaign.slug)
    assert campaign.slug != "hijacked"
    versions = dict(
        GuidelineVersion.objects.filter(campaign=campaign).values_list("version", "text")
    )
    assert versions == {1: "First rules.", 2: "Second rules."}
    grant = CampaignGrant.objects.get(campaign=campaign)
    assert (grant.user_id, grant.granted_by_id) == (researcher.pk, admin_user.pk)
    # Revoking: tick "delete" on the existing grant row.
    page = admin_client.get(url("campaign", "change", campaign.pk))
    data = post_data(page, **{"grants-0-DELETE": "on"})
    assert admin_client.post(url("campaign", "change", campaign.pk), data).status_code == 302
    assert not CampaignGrant.objects.filter(campaign=campaign).exists()


def test_granting_a_non_researcher_in_the_admin_is_a_form_error(admin_client):
    campaign = cast(Campaign, CampaignFactory())
    outsider = cast(User, UserFactory(username="outsider"))
    page = admin_client.get(url("campaign", "change", campaign.pk))
    data = post_data(page, **{"grants-2-0-user": str(outsider.pk)})
    response = admin_client.post(url("campaign", "change", campaign.pk), data)
    assert response.status_code == 200  # the form again, with the reason
    assert "add the user to the" in response.content.decode()
    assert not CampaignGrant.objects.filter(campaign=campaign).exists()


def test_campaign_config_errors_are_form_errors(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory())
    page = admin_client.get(url("campaign", "change", campaign.pk))
    data = post_data(page, config='{"privacy": {"k_anonymity": 0}}', task_mix='{"nope": 1}')
    response = admin_client.post(url("campaign", "change", campaign.pk), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "config" in errors and "task_mix" in errors


def test_campaign_status_actions(admin_client: Client):
    campaigns = [cast(Campaign, CampaignFactory(status=CampaignStatus.DRAFT)) for _ in range(2)]
    ids = [str(c.pk) for c in campaigns]
    for action, status in (
        ("open_campaigns", CampaignStatus.OPEN),
        ("pause_campaigns", CampaignStatus.PAUSED),
        ("close_campaigns", CampaignStatus.CLOSED),
    ):
        response = admin_client.post(url("campaign"), {"action": action, "_selected_action": ids})
        assert response.status_code == 302
        assert set(Campaign.objects.filter(pk__in=ids).values_list("status", flat=True)) == {status}


def test_annotator_pause_is_editable_but_identity_is_not(admin_client: Client):
    annotator = cast(Annotator, AnnotatorFactory())
    page = admin_client.get(url("annotator", "change", annotator.pk))
    assert set(page.context["adminform"].form.fields) == {"paused", "paused_reason"}
    data = post_data(page, paused="on", paused_reason="Spam answers", pseudonym="ann_x")
    assert admin_client.post(url("annotator", "change", annotator.pk), data).status_code == 302
    annotator.refresh_from_db()
    assert annotator.paused and annotator.paused_reason == "Spam answers"
    assert annotator.pseudonym != "ann_x"


def test_retire_action_and_flag_filter(admin_client: Client):
    campaign = cast(Campaign, CampaignFactory())
    annotations = add_rows(campaign, 4)
    ids = [str(a.item_id) for a in annotations[:2]]
    admin_client.post(url("item"), {"action": "retire_items", "_selected_action": ids})
    assert set(Item.objects.filter(status="retired").values_list("pk", flat=True)) == {
        a.item_id for a in annotations[:2]
    }
    page = admin_client.get(url("annotation"), {"flag": "too_fast"})
    shown = {row.pk for row in page.context["cl"].result_list}
    assert shown == {a.pk for a in annotations if a.flags.get("too_fast")}


def test_export_records_are_listed_read_only(admin_client: Client):
    from annotate.models import Export

    campaign = cast(Campaign, CampaignFactory())
    exports = [
        Export.objects.create(campaign=campaign, shape="raw", format="jsonl", sha256=f"{k:064x}")
        for k in range(3)
    ]
    response = admin_client.get(url("export"))
    assert response.status_code == 200
    found = admin_client.get(url("export"), {"q": exports[1].sha256})
    assert found.context["cl"].result_count == 1
    few = query_count(admin_client, url("export"))
    for k in range(3, 12):
        Export.objects.create(campaign=campaign, shape="raw", format="csv", sha256=f"{k:064x}")
    assert query_count(admin_client, url("export")) == few
    change = admin_client.get(url("export", "change", exports[0].pk))
    assert change.status_code == 200 and b'name="shape"' not in change.content  # read-only
    assert admin_client.get(url("export", "add")).status_code == 403
