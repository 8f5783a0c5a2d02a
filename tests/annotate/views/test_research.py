"""The researcher page: who may see it, the API token controls, exports from the form.

The ``world`` of the API tests: ``alpha`` granted to ``res_a`` (10 labels by ann_1 and
ann_2), ``beta`` granted to ``res_b``, annotators ann_1..3, staff ``admin``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotate.models import AuditEvent, Export, ExportStatus, Item
from tests.annotate.api import conftest as api_conftest

world = api_conftest.world  # the API tests' fixture, reused here

RESEARCH = "/research/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(getattr(user, "user", user))  # annotators carry their user
    return client


def _api_status(key: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return int(api.get("/api/v1/campaigns/alpha/").status_code)


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _export(user: Any, **fields: Any) -> Export:
    defaults: dict[str, Any] = {
        "shape": "raw",
        "format": "jsonl",
        "is_async": True,
        "status": ExportStatus.RUNNING,
        "progress": 0.42,
    }
    defaults.update(fields)
    campaign = defaults.pop("campaign")
    return Export.objects.create(campaign=campaign, requested_by=user, **defaults)


def test_urls_have_stable_names():
    assert reverse("research") == RESEARCH
    assert reverse("research_token") == "/research/token/"
    assert reverse("research_export") == "/research/export/"
    assert reverse("research_export_row", args=[7]) == "/research/exports/7/"


def test_page_access_matrix(world):
    anonymous = Client().get(RESEARCH)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/accounts/login/?next=%2Fresearch%2F"
    annotator = _client(world.ann_1)
    assert annotator.get(RESEARCH).status_code == 403
    assert annotator.post(reverse("research_token"), {"action": "rotate"}).status_code == 403
    assert not Token.objects.filter(user=world.ann_1.user).exists()
    export_post = {"campaign": "alpha", "shape": "raw", "format": "jsonl"}
    assert annotator.post(reverse("research_export"), export_post).status_code == 403
    assert not Export.objects.exists()

    # The world's labels bypass the submit service: count them on the items by hand.
    Item.objects.filter(campaign=world.alpha).update(n_submitted=F("overlap"))
    page = _client(world.res_a).get(RESEARCH)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="campaign-alpha"' in body and 'id="campaign-beta"' not in body
    assert '<option value="beta"' not in body  # the export form offers granted ones only
    assert 'id="campaign-alpha-progress" max="100" value="100"' in body
    assert "<td>10 / 10</td>" in body  # labels / wanted

    staff = _client(world.admin).get(RESEARCH).content.decode()
    assert 'id="campaign-alpha"' in staff and 'id="campaign-beta"' in staff


def test_researcher_without_grants_sees_an_empty_page(world):
    world.res_a.campaign_grants.all().delete()
    body = _client(world.res_a).get(RESEARCH).content.decode()
    assert 'id="no-campaigns"' in body and 'id="campaign-alpha"' not in body


def test_home_links_researchers_and_staff_to_the_page(world):
    for who in (world.res_a, world.admin):
        body = _client(who).get("/").content.decode()
        assert 'id="research-link"' in body and f'href="{RESEARCH}"' in body
    assert 'id="research-link"' not in _client(world.ann_1).get("/").content.decode()


def test_page_query_count_does_not_grow_with_exports(world, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(world.res_a)
    _export(world.res_a, campaign=world.alpha)
    with CaptureQueriesContext(connection) as one:
        assert client.get(RESEARCH).status_code == 200
    for _ in range(5):
        _export(world.res_a, campaign=world.alpha, status=ExportStatus.DONE, file_path="/x")
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(RESEARCH).status_code == 200


def test_token_rotate_creates_one_token_audits_and_kills_the_old_key(world):
    client = _client(world.res_a)
    first = client.post(reverse("research_token"), {"action": "rotate"})
    assert first.status_code == 303 and first["Location"] == RESEARCH + "#token"
    old_key = Token.objects.get(user=world.res_a).key
    page = client.get(RESEARCH).content.decode()
    assert f'id="api-token" class="token-key" value="{old_key}"' in page
    assert old_key not in client.get(RESEARCH).content.decode()  # shown once
    assert _api_status(old_key) == 200

    before = AuditEvent.objects.filter(action="token.rotate").count()
    client.post(reverse("research_token"), {"action": "rotate"})
    assert Token.objects.filter(user=world.res_a).count() == 1
    new_key = Token.objects.get(user=world.res_a).key
    assert new_key != old_key
    events = AuditEvent.objects.filter(action="token.rotate", actor=world.res_a)
    assert events.count() == before + 1 == 2
    event = events.first()
    assert event is not None
    assert event.details["replaced"] is True and event.details["old_key_end"] == old_key[-4:]
    assert old_key not in json.dumps(event.details) and new_key not in json.dumps(event.details)
    assert _api_status(old_key) == 401
    assert _api_status(new_key) == 200


def test_token_rotation_is_one_transaction(world, monkeypatch):
    """If the audit write fails, the rotation rolls back: the old key keeps working."""
    from annotate.services import tokens

    old = tokens.api_token_rotate(user=world.res_a).key

    def audit_down(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(tokens, "audit_record", audit_down)
    with pytest.raises(RuntimeError):
        tokens.api_token_rotate(user=world.res_a)
    assert list(Token.objects.filter(user=world.res_a).values_list("key", flat=True)) == [old]
    assert _api_status(old) == 200


def test_token_revoke_is_audited_and_the_key_stops_working(world):
    client = _client(world.res_a)
    client.post(reverse("research_token"), {"action": "rotate"})
    key = Token.objects.get(user=world.res_a).key
    response = client.post(reverse("research_token"), {"action": "revoke"})
    assert response.status_code == 303
    assert not Token.objects.filter(user=world.res_a).exists()
    assert AuditEvent.objects.filter(action="token.revoke", actor=world.res_a).count() == 1
    assert _api_status(key) == 401
    assert 'id="api-token-status">You have no token.' in client.get(RESEARCH).content.decode()


def test_account_token_page_rotates_through_the_audited_service(world):
    client = _client(world.res_b)
    page = client.post(reverse("api_tokens"), {"action": "create"})
    key = Token.objects.get(user=world.res_b).key
    assert page.status_code == 200 and f'value="{key}"' in page.content.decode()
    assert AuditEvent.objects.filter(action="token.rotate", actor=world.res_b).count() == 1
    client.post(reverse("api_tokens"), {"action": "revoke"})
    assert AuditEvent.objects.filter(action="token.revoke", actor=world.res_b).count() == 1


def test_token_post_needs_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.res_a)
    assert client.post(reverse("research_token"), {"action": "rotate"}).status_code == 403
    assert not Token.objects.filter(user=world.res_a).exists()
    export_post = {"campaign": "alpha", "shape": "raw", "format": "jsonl"}
    assert client.post(reverse("research_export"), export_post).status_code == 403


def test_export_form_downloads_the_file_for_a_granted_campaign(world):
    response = _client(world.res_a).post(
        reverse("research_export"),
        {"campaign": "alpha", "shape": "trl-preference", "format": "jsonl", "ranking_pairs": "all"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    export = Export.objects.get(pk=int(response["X-Chorus-Export-Id"]))
    assert response["Content-Disposition"] == (
        f'attachment; filename="alpha-trl-preference-{export.pk}.jsonl"'
    )
    rows = [json.loads(line) for line in _body(response).decode().splitlines()]
    assert len(rows) == 12 and {"prompt", "chosen", "rejected"} <= set(rows[0])
    export.refresh_from_db()
    assert export.requested_by == world.res_a and export.status == ExportStatus.DONE
    assert export.row_count == 12 and not export.is_async


def test_export_failing_before_the_download_starts_is_reported_on_the_page(world, monkeypatch):
    from annotate.services.exports import export_fail
    from annotate.views import research

    def broken(*, export: Export) -> Any:
        export_fail(export=export, error="OSError: disk full")
        raise OSError("disk full")

    monkeypatch.setattr(research, "export_stream", broken)
    client = _client(world.res_a)
    response = client.post(
        reverse("research_export"), {"campaign": "alpha", "shape": "raw", "format": "jsonl"}
    )
    export = Export.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"{RESEARCH}#export-{export.pk}"
    page = client.get(RESEARCH).content.decode()
    assert f"Export {export.pk} failed" in page
    assert f'id="export-{export.pk}-error">OSError: disk full<' in page


def test_export_form_filters_are_applied(world):
    response = _client(world.res_a).post(
        reverse("research_export"),
        {"campaign": "alpha", "shape": "raw", "format": "csv", "task_type": ["rating"]},
    )
    assert response.status_code == 200
    lines = _body(response).decode().strip().splitlines()
    assert len(lines) == 1 + 2  # header + one rating label by each of two annotators
    export = Export.objects.get(pk=int(response["X-Chorus-Export-Id"]))
    assert export.filters == {"task_type": ["rating"]}


def test_export_form_refuses_a_campaign_not_granted(world):
    client = _client(world.res_a)
    response = client.post(
        reverse("research_export"), {"campaign": "beta", "shape": "raw", "format": "jsonl"}
    )
    assert response.status_code == 404
    nothing = client.post(
        reverse("research_export"), {"campaign": "no-such", "shape": "raw", "format": "jsonl"}
    )
    assert nothing.status_code == 404
    assert not Export.objects.exists()


def test_export_form_shows_the_apis_errors(world):
    client = _client(world.res_a)
    response = client.post(
        reverse("research_export"),
        {"campaign": "alpha", "shape": "trl-preference", "format": "jsonl", "attribute": "wit"},
    )
    assert response.status_code == 400
    assert "Not rated in this campaign" in response.content.decode()
    unpublished = client.post(
        reverse("research_export"),
        {"campaign": "alpha", "shape": "raw", "format": "jsonl", "religion": "x"},
    )
    assert unpublished.status_code == 400
    bad_shape = client.post(
        reverse("research_export"), {"campaign": "alpha", "shape": "nope", "format": "jsonl"}
    )
    assert bad_shape.status_code == 400 and 'id="export-errors"' in bad_shape.content.decode()
    assert not Export.objects.exists()


@pytest.fixture
def eager_celery():
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def test_large_export_runs_in_the_background_and_is_listed(
    world, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.CHORUS_EXPORT_SYNC_MAX_ROWS = 3
    client = _client(world.res_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("research_export"),
            {"campaign": "alpha", "shape": "trl-preference", "format": "jsonl"},
        )
    export = Export.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"{RESEARCH}#export-{export.pk}"
    assert export.is_async and export.status == ExportStatus.DONE and export.row_count == 12
    page = client.get(RESEARCH).content.decode()
    download = reverse("api:export-download", args=[export.pk])
    assert f'id="export-{export.pk}-download" href="{download}"' in page
    file = client.get(download)  # the API endpoint, with the page's session
    assert file.status_code == 200 and len(_body(file).decode().splitlines()) == 12
    assert _client(world.res_b).get(download).status_code == 404


def test_progress_partial_renders_a_running_export(world):
    export = _export(world.res_a, campaign=world.alpha)
    url = reverse("research_export_row", args=[export.pk])
    response = _client(world.res_a).get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="export-{export.pk}"')
    assert f'hx-get="{url}" hx-trigger="every 1s" hx-swap="outerHTML"' in body
    assert f'id="export-{export.pk}-progress" max="100" value="42"' in body
    assert 'data-status="running"' in body
    # The full page lists the same row, polling too.
    assert f'hx-get="{url}"' in _client(world.res_a).get(RESEARCH).content.decode()


def test_progress_partial_stops_polling_when_done_or_failed(world):
    done = _export(
        world.res_a,
        campaign=world.alpha,
        status=ExportStatus.DONE,
        progress=1.0,
        row_count=12,
        file_path="/tmp/x.jsonl",
        sha256="ab" * 32,
    )
    body = _client(world.res_a).get(reverse("research_export_row", args=[done.pk])).content
    text = body.decode()
    assert "hx-trigger" not in text and f'id="export-{done.pk}-download"' in text
    assert f'id="export-{done.pk}-rows">12<' in text
    failed = _export(world.res_a, campaign=world.alpha, status=ExportStatus.FAILED)
    Export.objects.filter(pk=failed.pk).update(error="MemoryError: <boom>")
    text = _client(world.res_a).get(reverse("research_export_row", args=[failed.pk])).content
    assert b"hx-trigger" not in text
    assert f'id="export-{failed.pk}-error">MemoryError: &lt;boom&gt;<'.encode() in text


def test_other_peoples_exports_are_invisible(world):
    mine = _export(world.res_a, campaign=world.alpha)
    theirs = _export(world.res_b, campaign=world.beta)
    client = _client(world.res_a)
    assert client.get(reverse("research_export_row", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("research_export_row", args=[10**9])).status_code == 404
    page = client.get(RESEARCH).content.decode()
    assert f'id="export-{mine.pk}"' in page and f'id="export-{theirs.pk}"' not in page
    # Losing the grant hides one's own export too, as in the API.
    world.alpha.grants.filter(user=world.res_a).delete()
    assert client.get(reverse("research_export_row", args=[mine.pk])).status_code == 404
    # Annotators are refused before any lookup.
    row = reverse("research_export_row", args=[mine.pk])
    assert _client(world.ann_1).get(row).status_code == 403
    assert Client().get(row).status_code == 302
