"""Live conversation pages over HTTP: access, htmx partials, anonymity, clear errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotate.models import Annotation, TaskType
from modelserve.generation.models import GenerationRequest
from tests.conversation_helpers import (
    FAKE_BACKENDS,
    conversation_campaign,
    lease_conversation,
    run_pending_generations,
)
from tests.factories import AnnotatorFactory, UserFactory

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fake(settings):
    settings.CHORUS_GENERATION_BACKENDS = FAKE_BACKENDS


@pytest.fixture
def setup(client):
    campaign, endpoints = conversation_campaign(k=3, min_turns=1, max_turns=2)
    annotator = AnnotatorFactory()
    assignment = lease_conversation(campaign, annotator)
    client.force_login(annotator.user)
    return client, campaign, endpoints, annotator, assignment


def url(name, assignment):
    return reverse(name, kwargs={"assignment_id": assignment.pk})


def test_page_flow_with_htmx_partials_and_no_model_names(setup):
    client, campaign, endpoints, annotator, assignment = setup
    page = client.get(url("conversation_task", assignment))
    assert page.status_code == 200
    assert b'name="text"' in page.content and b"htmx.min.js" in page.content

    started = client.post(url("conversation_start", assignment), {"text": "Hello there"}, **HX)
    assert started.status_code == 200
    body = started.content.decode()
    assert 'id="conv-panel"' in body and 'hx-trigger="every 500ms"' in body  # polling
    assert "Model A" in body and "Model C" in body

    # The worker writes progressive text; the polled partial shows it before it finishes.
    req = GenerationRequest.objects.filter(prompt__conversation__isnull=False).first()
    GenerationRequest.objects.filter(pk=req.pk).update(partial_text="Half a rep", status="running")
    polled = client.get(url("conversation_panel", assignment), **HX).content.decode()
    assert "Half a rep" in polled and 'hx-trigger="every 500ms"' in polled

    run_pending_generations()
    ready = client.get(url("conversation_panel", assignment), **HX).content.decode()
    assert "every 500ms" not in ready and 'type="range"' in ready
    assert "Reply " in ready
    for endpoint in endpoints:
        assert endpoint.name not in ready  # "secret-model-N" never reaches annotators

    ids = GenerationRequest.objects.filter(prompt__conversation__isnull=False).values_list(
        "pk", flat=True
    )
    scores = {f"score-{pk}": str(20 + n * 10) for n, pk in enumerate(ids)}
    rated = client.post(url("conversation_rate", assignment), scores, **HX).content.decode()
    assert 'name="text"' in rated and "Finish the conversation" in rated

    finished = client.post(
        url("conversation_finish", assignment),
        {
            "attr-values": "70",
            "attr-creativity": "40",
            "attr-fluency": "80",
            "attr-factuality": "60",
            "attr-diversity": "50",
            "attr-safety": "90",
            "attr-helpfulness": "75",
            "feedback": "Nice.",
        },
        **HX,
    ).content.decode()
    assert "Thank you" in finished
    assert reverse("campaign_work", args=[campaign.slug]) in finished
    closing = Annotation.objects.get(annotator=annotator, task_type=TaskType.CONVERSATION)
    assert closing.payload["attributes"]["safety"] == 90


def test_plain_post_redirects_and_bad_input_is_400(setup):
    client, _, _, _, assignment = setup
    empty = client.post(url("conversation_start", assignment), {"text": ""})
    assert empty.status_code == 400 and b"Write a message first" in empty.content
    ok = client.post(url("conversation_start", assignment), {"text": "Hi"})
    assert ok.status_code == 302 and ok["Location"] == url("conversation_task", assignment)
    early = client.post(url("conversation_rate", assignment), {})
    assert early.status_code == 400 and b"Wait until every model" in early.content
    run_pending_generations()
    bad = client.post(url("conversation_rate", assignment), {"score-1": "abc"})
    assert bad.status_code == 400 and b"1 to 100" in bad.content


def test_access_control(setup, client):
    _, _, _, _, assignment = setup
    other = AnnotatorFactory()
    client.force_login(other.user)
    assert client.get(url("conversation_task", assignment)).status_code == 404
    assert client.post(url("conversation_start", assignment), {"text": "x"}).status_code == 404
    client.force_login(UserFactory())  # not an annotator at all
    assert client.get(url("conversation_task", assignment)).status_code == 403
    client.logout()
    assert client.get(url("conversation_task", assignment)).status_code == 302  # to login
    assert client.get(url("conversation_panel", assignment)).status_code == 302
    client.force_login(other.user)
    assert client.get(url("conversation_start", assignment)).status_code == 405


def test_replies_render_markdown_safely_and_say_when_cut_off(setup):
    client, *_, assignment = setup
    client.post(url("conversation_start", assignment), {"text": "Hello there"}, **HX)
    reqs = list(GenerationRequest.objects.filter(prompt__conversation__isnull=False))
    # Streaming: a running candidate's text so far, rendered as Markdown.
    GenerationRequest.objects.filter(pk=reqs[0].pk).update(
        partial_text="**Bold** start <script>alert(1)</script>", status="running"
    )
    polled = client.get(url("conversation_panel", assignment), **HX).content.decode()
    assert "<strong>Bold</strong> start" in polled
    assert "<script>alert(1)" not in polled and "&lt;script&gt;" in polled
    run_pending_generations()
    GenerationRequest.objects.filter(pk=reqs[1].pk).update(finish_reason="length")
    GenerationRequest.objects.filter(pk=reqs[2].pk).update(
        notice="The conversation was longer than the model's context of 8192 tokens"
    )
    ready = client.get(url("conversation_panel", assignment), **HX).content.decode()
    assert ready.count("(cut off)") == 1
    assert "longer than the model&#x27;s context" in ready


def test_empty_opening_message_is_a_form_error(setup):
    client, *_, assignment = setup
    answer = client.post(url("conversation_start", assignment), {"text": "   "}, **HX)
    assert "Write a message first." in answer.content.decode()
    assert not GenerationRequest.objects.exists()
