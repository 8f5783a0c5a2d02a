"""Page parts rendered once per process (annotate.views.fragments, issue 14)."""

from __future__ import annotations

import re

import pytest
from django.template import engines
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import translation

from annotate.models import Assignment, TaskType
from annotate.views import fragments
from annotate.views.fragments import forget_fragments, fragment
from tests.annotate.ui_helpers import campaign_with, client_for, onboarded_annotator


@pytest.fixture(autouse=True)
def _empty():
    forget_fragments()
    yield
    forget_fragments()


@pytest.fixture
def renders(monkeypatch):
    """Counts the fragment renders (cache misses)."""
    calls: list[str] = []
    real = fragments.render_to_string

    def counting(name, context):
        calls.append(name)
        return real(name, context)

    monkeypatch.setattr(fragments, "render_to_string", counting)
    return calls


def test_a_fragment_is_rendered_once_per_key_and_language(renders):
    shortcuts = [("a", "A is better")]
    with translation.override("en"):
        first = fragment("annotate/tasks/_shortcuts.html", "pairwise", shortcuts=shortcuts)
        again = fragment("annotate/tasks/_shortcuts.html", "pairwise", shortcuts=shortcuts)
        other = fragment("annotate/tasks/_shortcuts.html", "rating", shortcuts=[])
    with translation.override("fr"):
        french = fragment("annotate/tasks/_shortcuts.html", "pairwise", shortcuts=shortcuts)
    assert again is first and "A is better" in first and "A is better" not in other
    assert "Raccourcis clavier" in french and "Keyboard shortcuts" in first
    assert len(renders) == 3


@override_settings(DEBUG=True)
def test_under_debug_nothing_is_kept(renders):
    for _ in range(2):
        fragment("annotate/tasks/_shortcuts.html", "pairwise", shortcuts=[])
    assert len(renders) == 2


def test_the_oldest_fragment_goes_when_the_bound_is_reached(monkeypatch, renders):
    monkeypatch.setattr(fragments, "MAX_FRAGMENTS", 2)
    for key in ("a", "b", "a", "c", "a", "b"):
        fragment("annotate/tasks/_shortcuts.html", key, shortcuts=[])
    # a, b rendered; a kept (recently used); c pushes b out; a kept; b rendered again.
    assert renders == ["annotate/tasks/_shortcuts.html"] * 4


def test_a_fragment_cannot_reach_the_request():
    # Rendered without the request: no context processors, so no user and no token.
    html = fragment("annotate/tasks/_skip_fields.html", "probe", error="", skip_reasons=["x"])
    assert "csrfmiddlewaretoken" not in html
    probe = engines["django"].from_string("{{ user }}|{{ csrf_token }}|{{ request }}")
    assert probe.render({}) == "||"


@pytest.mark.django_db
@pytest.mark.parametrize("task_type", [TaskType.PAIRWISE, TaskType.RATING, TaskType.CRITIQUE])
def test_two_annotators_pages_share_no_person_specific_part(task_type):
    campaign = campaign_with(task_type, n_items=1, overlap=2)
    pages, names = [], []
    for _ in range(2):
        annotator = onboarded_annotator()
        names.append(annotator.user.username)
        html = client_for(annotator).get(reverse("campaign_work", args=[campaign.slug]))
        assert html.status_code == 200
        pages.append(html.content.decode())
    tokens = [set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', p)) for p in pages]
    assert tokens[0] and tokens[1] and not tokens[0] & tokens[1]
    assert names[0] in pages[0] and names[0] not in pages[1]
    assert names[1] in pages[1] and names[1] not in pages[0]
    # Each page's forms post to that person's own task.
    for page, assignment in zip(
        pages, Assignment.objects.filter(campaign=campaign).order_by("pk"), strict=True
    ):
        assert f"/tasks/{assignment.pk}/submit/" in page
        assert f"/tasks/{assignment.pk}/skip/" in page


@pytest.mark.django_db
def test_a_refused_pairwise_answer_shows_its_errors_and_typed_values_after_a_clean_page():
    annotator = onboarded_annotator()
    client = client_for(annotator)
    campaign = campaign_with(TaskType.PAIRWISE)
    clean = client.get(reverse("campaign_work", args=[campaign.slug])).content.decode()
    assert 'value="A" data-key="a" checked' not in clean
    assignment = Assignment.objects.get(campaign=campaign)
    kept = set(fragments._kept)
    refused = client.post(
        reverse("task_submit", args=[assignment.pk]),
        {"choice": "", "strength": "3", "reason": "Because <b>"},
    )
    html = refused.content.decode()
    assert refused.status_code == 422
    assert "Choose A, B or tie." in html
    assert 'value="3" data-key="3" checked' in html
    assert "Because &lt;b&gt;</textarea>" in html
    # What someone typed is rendered, never kept (it could fill every process's memory).
    assert not any("Because <b>" in str(key) for key in set(fragments._kept) - kept)
    # And the next clean page is clean again.
    again = client.get(reverse("task", args=[assignment.pk])).content.decode()
    assert "Choose A, B or tie." not in again and "Because" not in again
