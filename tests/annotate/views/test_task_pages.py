"""Task pages through the views: every task type's good and bad answers, robustness."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.models import Annotation, Assignment, AssignmentStatus, Item, TaskType
from annotate.services import assignment_next, assignments_expire_stale
from tests.annotate.ui_helpers import HX, campaign_with, client_for, onboarded_annotator
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


def _lease(client, campaign):
    """Open the campaign page (leases a task) and return the assignment shown."""
    response = client.get(reverse("campaign_work", args=[campaign.slug]))
    assert response.status_code == 200, response.content[:500]
    return Assignment.objects.get(campaign=campaign, status=AssignmentStatus.ACTIVE)


def _submit(client, assignment, data, **extra):
    return client.post(reverse("task_submit", args=[assignment.pk]), data, **extra)


@pytest.fixture
def annotator():
    return onboarded_annotator()


@pytest.fixture
def client(annotator):
    return client_for(annotator)


# --- pairwise ---------------------------------------------------------------------------


def test_pairwise_good_answer_is_stored_with_signed_strength_and_time(client, annotator):
    campaign = campaign_with(TaskType.PAIRWISE)
    a = _lease(client, campaign)
    a_id, b_id = a.presented_order
    r = _submit(
        client,
        a,
        {"choice": "A", "strength": "2", "reason": "clearer", "time_spent_ms": "4321"},
        **HX,
    )
    assert r.status_code == 200
    ann = Annotation.objects.get(assignment=a)
    assert ann.payload["choice"] == "A"
    assert ann.payload["strength"] == -2  # negative favours A (validate_pairwise)
    assert ann.payload["chosen"] == a_id and ann.payload["rejected"] == b_id
    assert ann.payload["reason"] == "clearer"
    assert ann.time_spent_ms == 4321
    assert ann.guideline_version is not None
    assert ann.profile_version_id == annotator.current_profile_id
    # No more items: the fragment is the completion panel, pushed to its URL.
    assert r["HX-Push-Url"] == reverse("campaign_done", args=[campaign.slug])


def test_pairwise_b_strength_is_positive(client):
    campaign = campaign_with(TaskType.PAIRWISE)
    a = _lease(client, campaign)
    _submit(client, a, {"choice": "B", "strength": "3"}, **HX)
    assert Annotation.objects.get(assignment=a).payload["strength"] == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": ""}, "Choose A, B or tie."),
        ({"choice": "C"}, "Choose A, B or tie."),
        ({"choice": "A", "strength": "5"}, "Strength runs from -3"),
        ({"choice": "A", "strength": "lots"}, "Must be a whole number."),
    ],
)
def test_pairwise_bad_answers_show_inline_errors_and_keep_input(client, data, message):
    campaign = campaign_with(TaskType.PAIRWISE)
    a = _lease(client, campaign)
    r = _submit(client, a, {**data, "reason": "my <b>typed</b> reason"}, **HX)
    assert r.status_code == 422
    body = r.content.decode()
    assert message in body
    assert "my &lt;b&gt;typed&lt;/b&gt; reason" in body  # kept, and escaped
    assert not Annotation.objects.exists()


# --- ranking ----------------------------------------------------------------------------


def test_ranking_with_tie_is_stored_as_groups(client):
    campaign = campaign_with(TaskType.RANKING)
    a = _lease(client, campaign)
    x, y, z = a.presented_order
    r = _submit(client, a, {f"rank_{x}": "2", f"rank_{y}": "1", f"rank_{z}": "2"}, **HX)
    assert r.status_code == 200
    assert Annotation.objects.get(assignment=a).payload["ranking"] == [[y], [x, z]]


def test_ranking_missing_rank_is_refused_and_ranks_kept(client):
    campaign = campaign_with(TaskType.RANKING)
    a = _lease(client, campaign)
    x, y, _z = a.presented_order
    r = _submit(client, a, {f"rank_{x}": "1", f"rank_{y}": "3"}, **HX)
    assert r.status_code == 422
    assert "Give every response a rank." in r.content.decode()
    assert 'value="3" selected' in r.content.decode()
    assert not Annotation.objects.exists()


def test_ranking_forged_response_id_is_refused(client):
    campaign = campaign_with(TaskType.RANKING)
    a = _lease(client, campaign)
    data = {f"rank_{rid}": "1" for rid in a.presented_order}
    data["rank_999999"] = "1"  # extra fields are ignored, missing ones are not
    r = _submit(client, a, data, **HX)
    assert r.status_code == 200
    assert sorted(Annotation.objects.get(assignment=a).payload["ranking"][0]) == sorted(
        a.presented_order
    )


# --- rating -----------------------------------------------------------------------------


def test_rating_likert_several_attributes(client):
    campaign = campaign_with(
        TaskType.RATING,
        rating_attributes=["helpfulness", "safety"],
        overall_attribute="helpfulness",
    )
    a = _lease(client, campaign)
    (rid,) = a.presented_order
    r = _submit(client, a, {f"rating_{rid}_helpfulness": "6", f"rating_{rid}_safety": "7"}, **HX)
    assert r.status_code == 200
    assert Annotation.objects.get(assignment=a).payload["ratings"] == {
        str(rid): {"helpfulness": 6, "safety": 7}
    }


@pytest.mark.parametrize(
    ("value", "message"), [("", "This rating is required."), ("9", "between 1 and 7")]
)
def test_rating_bad_values_are_refused(client, value, message):
    campaign = campaign_with(TaskType.RATING)
    a = _lease(client, campaign)
    (rid,) = a.presented_order
    r = _submit(client, a, {f"rating_{rid}_helpfulness": value}, **HX)
    assert r.status_code == 422
    assert message in r.content.decode()


def test_a_refused_rating_page_keeps_the_points_already_chosen(client):
    campaign = campaign_with(
        TaskType.RATING,
        rating_attributes=["helpfulness", "safety"],
        overall_attribute="helpfulness",
    )
    a = _lease(client, campaign)
    (rid,) = a.presented_order
    page = _submit(client, a, {f"rating_{rid}_helpfulness": "6"}, **HX).content.decode()
    radio = r'<input type="radio" name="(rating_[^"]+)" value="(\d+)"( checked)?>'
    radios = re.findall(radio, page)
    assert len(radios) == 14  # 2 questions x 7 points, each a labelled radio
    assert [(n, v) for n, v, checked in radios if checked] == [(f"rating_{rid}_helpfulness", "6")]
    assert "This rating is required." in page


def test_rating_slider_scale_accepts_1_to_100(client):
    campaign = campaign_with(TaskType.RATING, rating_scale="slider100")
    a = _lease(client, campaign)
    page = client.get(reverse("task", args=[a.pk])).content.decode()
    assert 'type="range"' in page and 'max="100"' in page
    (rid,) = a.presented_order
    assert _submit(client, a, {f"rating_{rid}_helpfulness": "101"}, **HX).status_code == 422
    assert _submit(client, a, {f"rating_{rid}_helpfulness": "73"}, **HX).status_code == 200
    assert Annotation.objects.get(assignment=a).payload["ratings"][str(rid)] == {"helpfulness": 73}


# --- edit -------------------------------------------------------------------------------


def test_edit_stores_text_diff_and_server_side_distance(client):
    campaign = campaign_with(TaskType.EDIT)
    a = _lease(client, campaign)
    (rid,) = a.presented_order
    original = a.item.responses.get().text
    edited = original + " Also, the sun."
    r = _submit(
        client, a, {"response_id": str(rid), "edited_text": edited, "edit_distance": "0"}, **HX
    )
    assert r.status_code == 200
    payload = Annotation.objects.get(assignment=a).payload
    assert payload["edited_text"] == edited
    assert payload["edit_distance"] == len(" Also, the sun.")  # computed, not trusted
    assert ["insert", "Also, the sun."] in payload["diff"]


def test_edit_empty_text_is_refused(client):
    campaign = campaign_with(TaskType.EDIT)
    a = _lease(client, campaign)
    r = _submit(client, a, {"edited_text": "   "}, **HX)
    assert r.status_code == 422
    assert "This field is required." in r.content.decode()


# --- critique ---------------------------------------------------------------------------


def test_critique_with_spans(client):
    campaign = campaign_with(TaskType.CRITIQUE)
    a = _lease(client, campaign)
    text = a.item.responses.get().text
    spans = [{"start": 0, "end": 6, "category": "style"}]
    r = _submit(
        client,
        a,
        {"critique": "Too vague.", "suggestion": "Mention the moon.", "spans": json.dumps(spans)},
        **HX,
    )
    assert r.status_code == 200
    payload = Annotation.objects.get(assignment=a).payload
    assert payload["spans"][0]["text"] == text[:6]
    assert payload["spans"][0]["category"] == "style"
    assert payload["suggestion"] == "Mention the moon."


@pytest.mark.parametrize(
    ("spans", "message"),
    [
        ("not json", "could not be read"),
        (json.dumps([{"start": 0, "end": 9999, "category": "style"}]), "Span must lie inside"),
        (json.dumps([{"start": 0, "end": 3, "category": "nonsense"}]), "listed categories"),
    ],
)
def test_critique_bad_spans_are_refused_and_text_kept(client, spans, message):
    campaign = campaign_with(TaskType.CRITIQUE)
    a = _lease(client, campaign)
    r = _submit(client, a, {"critique": "Keep me", "spans": spans}, **HX)
    assert r.status_code == 422
    body = r.content.decode()
    assert message in body
    assert ">Keep me</textarea>" in body


def test_critique_requires_text(client):
    campaign = campaign_with(TaskType.CRITIQUE)
    a = _lease(client, campaign)
    r = _submit(client, a, {"critique": ""}, **HX)
    assert r.status_code == 422 and "This field is required." in r.content.decode()


# --- every page -------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", [t for t in TaskType.values if t != "conversation"])
def test_every_task_page_shows_guidelines_progress_skip_and_shortcuts(client, task_type):
    campaign = campaign_with(task_type)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    body = r.content.decode()
    assert r.status_code == 200
    assert "Guidelines (version 1)" in body and "Prefer honest answers." in body
    assert "You have completed" in body
    assert "Skip this task" in body
    assert "Keyboard shortcuts" in body and "<kbd>Ctrl+Enter</kbd>" in body
    assert 'name="time_spent_ms"' in body
    assert "vendor/htmx.min.js" in body


def test_htmx_gets_a_fragment_and_the_next_task(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    r = _submit(client, a, {"choice": "tie"}, **HX)
    body = r.content.decode()
    assert "<html" not in body and 'id="task-form"' in body
    nxt = Assignment.objects.get(campaign=campaign, status=AssignmentStatus.ACTIVE)
    assert r["HX-Push-Url"] == reverse("task", args=[nxt.pk])
    assert reverse("task_submit", args=[nxt.pk]) in body


def test_plain_post_redirects_to_next_task(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    r = _submit(client, a, {"choice": "tie"})
    nxt = Assignment.objects.get(campaign=campaign, status=AssignmentStatus.ACTIVE)
    assert r.status_code == 303 and r["Location"] == reverse("task", args=[nxt.pk])


def test_double_submit_stores_one_annotation(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    first = _submit(client, a, {"choice": "A"}, **HX)
    second = _submit(client, a, {"choice": "B"}, **HX)  # retry / back button / double click
    assert first.status_code == second.status_code == 200
    assert Annotation.objects.filter(assignment=a).count() == 1
    assert Annotation.objects.get(assignment=a).payload["choice"] == "A"
    assert "already saved" in second.content.decode()
    # Both answers lead to the same next task, not two leases.
    assert Assignment.objects.filter(campaign=campaign, status=AssignmentStatus.ACTIVE).count() == 1


def test_expired_lease_taken_by_someone_else_tells_and_moves_on(client, annotator):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    Assignment.objects.filter(pk=a.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assignments_expire_stale()  # what the beat task does (annotate.tasks.assignments_expire)
    other = onboarded_annotator()
    taken = assignment_next(annotator=other, campaign=campaign)
    assert taken is not None and taken.item_id == a.item_id  # slot freed and re-leased
    r = _submit(client, a, {"choice": "A"}, **HX)
    body = r.content.decode()
    assert r.status_code == 200
    assert "timed out" in body and "here is your next task" in body
    assert not Annotation.objects.filter(assignment=a).exists()
    assert 'id="task-form"' in body  # the next task is on screen


def test_expired_lease_page_redirects_to_next(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    Assignment.objects.filter(pk=a.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    r = client.get(reverse("task", args=[a.pk]), follow=True)
    assert "ran out" in r.content.decode()


def test_skip_with_reason_gives_next_task(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2)
    a = _lease(client, campaign)
    r = client.post(reverse("task_skip", args=[a.pk]), {"reason": "Offensive"}, **HX)
    assert r.status_code == 200
    a.refresh_from_db()
    assert a.status == AssignmentStatus.SKIPPED and a.skip_reason == "Offensive"
    assert 'id="task-form"' in r.content.decode()


def test_someone_elses_task_is_404(client):
    campaign = campaign_with(TaskType.PAIRWISE)
    other = onboarded_annotator()
    theirs = assignment_next(annotator=other, campaign=campaign)
    assert client.get(reverse("task", args=[theirs.pk])).status_code == 404
    assert _submit(client, theirs, {"choice": "A"}).status_code == 404
    assert not Annotation.objects.exists()


def test_post_without_csrf_token_is_refused(annotator):
    campaign = campaign_with(TaskType.PAIRWISE)
    client = client_for(annotator, csrf=True)
    a = _lease(client, campaign)
    r = client.post(reverse("task_submit", args=[a.pk]), {"choice": "A"})
    assert r.status_code == 403
    assert not Annotation.objects.exists()


def test_xss_in_prompt_and_response_is_shown_as_text(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=0)
    item = ItemFactory(campaign=campaign, task_type=TaskType.PAIRWISE)
    evil = '<script>alert("x")</script><img src=x onerror="alert(1)">'
    item.prompt.text = evil
    item.prompt.save()
    for response in item.responses.all():
        response.text = evil
        response.save()
    body = client.get(reverse("campaign_work", args=[campaign.slug])).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=" in body


def test_anonymous_htmx_request_is_sent_to_login():
    from django.test import Client

    r = Client().post(
        "/tasks/1/submit/", {}, HTTP_HX_CURRENT_URL="http://testserver/tasks/1/", **HX
    )
    assert r.status_code == 204
    assert (
        r["HX-Redirect"].startswith(reverse("login")) and "next=%2Ftasks%2F1%2F" in r["HX-Redirect"]
    )


def test_conversation_item_redirects_to_conversation_page(client):
    campaign = campaign_with(TaskType.CONVERSATION, n_items=0)
    Item.objects.create(campaign=campaign, task_type=TaskType.CONVERSATION, overlap=1)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    a = Assignment.objects.get(campaign=campaign)
    assert r.status_code in (302, 303)
    assert r["Location"] == reverse("conversation_task", kwargs={"assignment_id": a.pk})
    r = client.get(reverse("campaign_work", args=[campaign.slug]), **HX)
    assert r["HX-Redirect"] == reverse("conversation_task", kwargs={"assignment_id": a.pk})


def test_too_fast_submit_is_flagged_and_annotator_told(client):
    campaign = campaign_with(TaskType.PAIRWISE, n_items=2, config={"min_seconds": 5})
    a = _lease(client, campaign)
    r = _submit(client, a, {"choice": "A", "time_spent_ms": "800"}, **HX)
    assert Annotation.objects.get(assignment=a).flags.get("too_fast") is True
    assert "faster than the expected minimum of 5 seconds" in r.content.decode()


def test_conversation_page_missing_shows_message_and_skip(client, monkeypatch):
    from annotate.views import tasks as task_views

    monkeypatch.setattr(task_views, "conversation_url", lambda assignment_id: None)
    campaign = campaign_with(TaskType.CONVERSATION, n_items=0)
    Item.objects.create(campaign=campaign, task_type=TaskType.CONVERSATION, overlap=1)
    r = client.get(reverse("campaign_work", args=[campaign.slug]))
    a = Assignment.objects.get(campaign=campaign)
    body = r.content.decode()
    assert r.status_code == 200 and "live conversation" in body
    assert reverse("task_skip", args=[a.pk]) in body


class _Controls(HTMLParser):
    """Collects form controls and what labels them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self.in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            if a.get("aria-hidden") == "true":
                return  # a visual twin of a labelled control (slider beside its number box)
            self.controls.append({**a, "_wrapped": "1" if self.in_label else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.in_label -= 1


@pytest.mark.parametrize("task_type", [t for t in TaskType.values if t != "conversation"])
@pytest.mark.parametrize("scale", ["likert7", "slider100"])
def test_every_control_on_task_pages_is_labelled(client, task_type, scale):
    campaign = campaign_with(task_type, rating_scale=scale)
    parser = _Controls()
    parser.feed(client.get(reverse("campaign_work", args=[campaign.slug])).content.decode())
    assert parser.controls
    for control in parser.controls:
        labelled = (
            control["_wrapped"]
            or control.get("id", "\0") in parser.label_for
            or control.get("aria-label")
            or control.get("aria-labelledby")
        )
        assert labelled, control


@pytest.mark.parametrize("task_type", [TaskType.PAIRWISE, TaskType.RATING])
def test_model_responses_render_markdown_without_raw_html(client, task_type):
    campaign = campaign_with(task_type, n_items=0)
    item = ItemFactory(campaign=campaign, task_type=task_type)
    for response in item.responses.all():
        response.text = "Use **care**.\n\n[x](javascript:alert(1)) <b onclick=x>raw</b>"
        response.save()
    body = client.get(reverse("campaign_work", args=[campaign.slug])).content.decode()
    assert "<strong>care</strong>" in body
    assert "javascript:alert" not in body.split('href="', 1)[-1][:20]
    assert 'href="javascript' not in body and "<b onclick" not in body
    assert "&lt;b onclick=x&gt;raw&lt;/b&gt;" in body


def test_edit_task_keeps_the_reply_as_plain_text(client):
    campaign = campaign_with(TaskType.EDIT, n_items=0)
    item = ItemFactory(campaign=campaign, task_type=TaskType.EDIT)
    response = item.responses.first()
    response.text = "Use **care**."
    response.save()
    body = client.get(reverse("campaign_work", args=[campaign.slug])).content.decode()
    assert "Use **care**." in body and "<strong>care</strong>" not in body


@pytest.mark.parametrize("step", ["open", "submit", "skip"])
def test_campaign_closing_mid_flow_is_a_message_not_a_500(client, monkeypatch, step):
    """The campaign page, a submit and a skip all serve the next task through one flow:
    a campaign closed between the gate and the lease is the same message on each."""
    from annotate.models import CampaignStatus
    from annotate.services import CampaignNotOpen

    campaign = campaign_with(TaskType.PAIRWISE, n_items=3)
    a = _lease(client, campaign)
    if step == "open":
        # The gate saw it open; it closed before the lease (a race the gate cannot see).
        def closed(**kwargs):
            raise CampaignNotOpen(f"{campaign.name} is not open.")

        monkeypatch.setattr("annotate.views.tasks.assignment_lease", closed)
        r = client.get(reverse("campaign_work", args=[campaign.slug]), **HX)
    else:
        type(campaign).objects.filter(pk=campaign.pk).update(status=CampaignStatus.CLOSED)
        if step == "submit":
            r = _submit(client, a, {"choice": "A"}, **HX)
        else:
            r = client.post(reverse("task_skip", args=[a.pk]), {"reason": "unclear"}, **HX)
    assert r.status_code == 200
    assert b"Not open" in r.content
