"""Under /api/ every error is JSON ``{"detail": ...}`` with its status, never an HTML page.

Covers DRF views (api_exception_handler), what Django answers around them
(ApiJsonErrorsMiddleware: unknown URLs, errors raised outside DRF, debug pages), and
exports that fail: streamed (before and after the first byte) and in the background.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import OperationalError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.test import Client, RequestFactory

from annotate.api.base import SERVER_ERROR, ApiJsonErrorsMiddleware
from annotate.models import Export, ExportStatus
from annotate.services import errors as service_errors
from annotate.services import exports as export_svc


def _json(response: Any) -> Any:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return json.loads(response.content)


def _raiser(exc: BaseException) -> Any:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return boom


# --- URLs and methods ------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("who", [None, "res_a"])
def test_unknown_api_url_is_json_404(world, settings, debug, who):
    settings.DEBUG = debug  # the debug 404 page is HTML too
    for path in ("/api/v1/nope/", "/api/v1/campaigns/alpha/nope", "/api/"):
        response = world.client(who).get(path)
        assert response.status_code == 404, path
        assert _json(response) == {"detail": "Not found."}


def test_a_browser_gets_json_errors_too(world):
    """DRF's browsable page would answer HTML to Accept: text/html; errors stay JSON."""
    client = world.client("res_a")
    response = client.get("/api/v1/campaigns/nope/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert _json(response) == {"detail": "No such campaign."}
    response = client.get("/api/v1/nope/", HTTP_ACCEPT="text/html")
    assert _json(response) == {"detail": "Not found."}


def test_pages_outside_the_api_keep_their_html_404(world):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_wrong_method_is_json_405_with_allow(world):
    response = world.client("res_a").post("/api/v1/exports/")
    assert response.status_code == 405
    assert _json(response) == {"detail": 'Method "POST" not allowed.'}
    assert "GET" in response["Allow"]


def test_django_405_outside_drf_becomes_json_and_keeps_headers():
    """A plain Django view's 405 (HTML-less, text) under /api/ is rewritten, Allow kept."""
    request = RequestFactory().delete("/api/v1/plain/")
    middleware = ApiJsonErrorsMiddleware(lambda r: HttpResponseNotAllowed(["GET", "POST"]))
    response = middleware(request)
    assert response.status_code == 405
    assert _json(response) == {"detail": 'Method "DELETE" not allowed.'}
    assert response["Allow"] == "GET, POST"
    # Outside /api/ and for JSON answers it changes nothing.
    page = HttpResponse("<h1>Gone</h1>", status=410)
    assert ApiJsonErrorsMiddleware(lambda r: page)(RequestFactory().get("/x/")) is page
    assert (
        ApiJsonErrorsMiddleware(lambda r: page)(RequestFactory().get("/api/x")).status_code == 410
    )


# --- Errors raised inside API views ----------------------------------------------------


def test_exception_in_a_view_is_json_500_without_traceback(world, monkeypatch, caplog):
    monkeypatch.setattr(
        "annotate.api.base.campaign_visible_to", _raiser(ZeroDivisionError("secret-detail"))
    )
    with caplog.at_level(logging.ERROR, logger="annotate.api"):
        response = world.client("res_a").get("/api/v1/campaigns/alpha/")
    assert response.status_code == 500
    assert _json(response) == {"detail": SERVER_ERROR}
    assert b"secret-detail" not in response.content
    assert b"Traceback" not in response.content
    # Logged, with the traceback, for whoever runs the server.
    record = next(r for r in caplog.records if r.name == "annotate.api")
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError
    assert "/api/v1/campaigns/alpha/" in record.getMessage()


DJANGO_ERRORS = [
    (Http404("No such thing."), 404, {"detail": "No such thing."}),
    (PermissionDenied(), 403, None),
    (SuspiciousOperation("header smuggling"), 400, {"detail": "Bad request."}),
    (ValidationError({"name": ["Too long."]}), 400, {"name": ["Too long."]}),
    (ValidationError("Not allowed."), 400, ["Not allowed."]),
    (service_errors.NotFound("assignment 7"), 404, {"detail": "Not found."}),
    (service_errors.CampaignNotOpen("This campaign is closed."), 400, None),
]


@pytest.mark.parametrize(("exc", "status", "body"), DJANGO_ERRORS)
def test_django_and_service_errors_in_a_view_get_their_status(
    world, monkeypatch, exc, status, body
):
    monkeypatch.setattr("annotate.api.base.campaign_visible_to", _raiser(exc))
    response = world.client("res_a").get("/api/v1/campaigns/alpha/")
    assert response.status_code == status
    data = _json(response)
    if body is not None:
        assert data == body
    else:
        assert isinstance(data["detail"], str) and data["detail"]
    if isinstance(exc, service_errors.CampaignNotOpen):
        assert data["detail"] == "This campaign is closed."  # meant for the caller


def test_database_down_stays_a_503_not_a_500(world, monkeypatch):
    monkeypatch.setattr(
        "annotate.api.base.campaign_visible_to", _raiser(OperationalError("connection refused"))
    )
    client = world.client("res_a")
    client.raise_request_exception = False
    response = client.get("/api/v1/campaigns/alpha/")
    assert response.status_code == 503
    assert _json(response)["code"] == "database_unavailable"
    assert "Retry-After" in response


# --- Errors Django raises outside DRF --------------------------------------------------


def test_disallowed_host_under_api_is_json_400(world, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = Client(raise_request_exception=False).get(
        "/api/v1/campaigns/", HTTP_HOST="evil.test"
    )
    assert response.status_code == 400
    assert _json(response) == {"detail": "Bad request."}


@pytest.mark.parametrize("debug", [False, True])
def test_crash_outside_drf_is_json_500(world, monkeypatch, settings, debug):
    """A middleware that crashes before any API view runs: JSON, no (debug) HTML page."""
    from django.middleware.common import CommonMiddleware

    settings.DEBUG = debug
    monkeypatch.setattr(
        CommonMiddleware, "process_request", _raiser(RuntimeError("middleware-secret"))
    )
    response = Client(raise_request_exception=False).get("/api/v1/campaigns/")
    assert response.status_code == 500
    assert _json(response) == {"detail": SERVER_ERROR}
    assert b"middleware-secret" not in response.content
    assert (
        not Client(raise_request_exception=False)
        .get("/")
        .get("Content-Type", "")
        .startswith("application/json")
    )  # pages keep Django's answer


@pytest.mark.parametrize(
    ("exc", "status"),
    [(PermissionDenied(), 403), (Http404(), 404), (SuspiciousOperation("x"), 400)],
)
def test_django_errors_raised_outside_drf_are_json(world, monkeypatch, exc, status):
    from django.middleware.common import CommonMiddleware

    monkeypatch.setattr(CommonMiddleware, "process_request", _raiser(exc))
    response = Client(raise_request_exception=False).get("/api/v1/campaigns/")
    assert response.status_code == status
    assert isinstance(_json(response)["detail"], str)


# --- Exports that fail -----------------------------------------------------------------


def _export(world: Any, **params: Any) -> Any:
    return world.client("res_a").get("/api/v1/campaigns/alpha/export", params)


def _failing_rows(after: int = 0) -> Any:
    def rows(base: Any, *args: Any, **kwargs: Any) -> Any:
        for n, _row in enumerate(base):
            if n >= after:
                raise RuntimeError("shape exploded")
            yield {}

    return rows


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("shape exploded")


@pytest.mark.parametrize(
    ("shape", "fmt", "target"),
    [
        ("raw", "jsonl", "annotate.exports.shapes.raw_rows"),
        ("trl-preference", "parquet", "annotate.exports.shapes.preference_rows"),
        # On PostgreSQL trl-preference is shaped a chunk at a time (export_fast).
        ("trl-preference", "parquet", "annotate.exports.fast_preference.preference_chunk"),
        ("trl-preference", "jsonl", "annotate.exports.fast_preference.preference_label_lines"),
        ("ranking", "csv", "annotate.exports.shapes.ranking_rows"),
        ("prism", "jsonl", "annotate.exports.prism.utterance_rows"),
        ("prism", "parquet", "annotate.exports.prism.utterance_rows"),
    ],
)
def test_streamed_export_that_fails_is_a_json_500_and_recorded(
    world, monkeypatch, settings, shape, fmt, target
):
    """The failure comes from inside the streaming generator (the 62-byte zip case)."""
    if target.endswith("utterance_rows"):
        monkeypatch.setattr(target, lambda rows, *a, **k: _failing_rows()(rows))
    elif ".fast_preference." in target:
        monkeypatch.setattr(target, _explode)
    elif target.endswith("shapes.preference_rows"):
        # The general path shapes the labels the chunked one hands over (none here are
        # not pairwise), so it runs with fast reads off.
        settings.CHORUS_EXPORT_FAST_READS = False
        monkeypatch.setattr(target, lambda row, *a, **k: _failing_rows()([row]))
    else:
        monkeypatch.setattr(target, lambda row, *a, **k: _failing_rows()([row]))
    response = _export(world, shape=shape, format=fmt)
    assert response.status_code == 500
    export = Export.objects.get()
    assert _json(response) == {
        "detail": f"Export {export.pk} failed; its record at /api/v1/exports/{export.pk}/ says why."
    }
    assert b"shape exploded" not in response.content
    assert export.status == ExportStatus.FAILED
    assert export.error == "RuntimeError: shape exploded"
    assert export.sha256 == "" and export.finished_at is not None
    detail = world.client("res_a").get(f"/api/v1/exports/{export.pk}/").json()
    assert detail["status"] == "failed"
    assert detail["error"] == "RuntimeError: shape exploded"


def test_failure_after_the_primed_part_cuts_the_stream_and_is_recorded(
    world, monkeypatch, settings
):
    """Past CHORUS_EXPORT_PRIME_BYTES the status is sent: the body is cut off unfinished."""
    settings.CHORUS_EXPORT_PRIME_BYTES = 1  # the PRISM survey member's header is enough
    monkeypatch.setattr(
        "annotate.exports.prism.utterance_rows", lambda rows, *a, **k: _failing_rows()(rows)
    )
    response = _export(world, shape="prism", format="jsonl")
    assert response.status_code == 200
    with pytest.raises(RuntimeError, match="shape exploded"):
        b"".join(response.streaming_content)
    export = Export.objects.get()
    assert export.status == ExportStatus.FAILED
    assert export.error == "RuntimeError: shape exploded" and export.sha256 == ""


def test_successful_stream_is_only_finished_once_fully_sent(world):
    response = _export(world, shape="raw", format="jsonl")
    export = Export.objects.get()
    assert export.status == ExportStatus.RUNNING  # primed, not yet delivered
    b"".join(response.streaming_content)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.error == ""


def _queued(world: Any, **params: Any) -> Export:
    """A background export, recorded but not run (on_commit never fires in these tests)."""
    response = _export(world, **{"async": 1, **params})
    assert response.status_code == 202
    return Export.objects.get(pk=response.json()["id"])


def test_background_export_that_fails_records_why(world, monkeypatch, settings, tmp_path):
    settings.CHORUS_EXPORT_DIR = tmp_path  # ids restart with each test database
    monkeypatch.setattr("annotate.exports.fast_preference.preference_label_lines", _explode)
    export = _queued(world, shape="trl-preference")
    assert export.status == ExportStatus.QUEUED
    with pytest.raises(RuntimeError):
        export_svc.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error == "RuntimeError: shape exploded"
    assert not list(tmp_path.iterdir())  # no partial file left behind
    detail = world.client("res_a").get(f"/api/v1/exports/{export.pk}/").json()
    assert detail["status"] == "failed" and detail["error"] == "RuntimeError: shape exploded"
    assert detail["download_url"] is None
    # Run again once the cause is gone: done, and the old reason is cleared.
    monkeypatch.undo()
    export_svc.export_run(export_id=export.pk)
    detail = world.client("res_a").get(f"/api/v1/exports/{export.pk}/").json()
    assert detail["status"] == "done" and detail["error"] == "" and detail["row_count"] == 12


def test_background_export_failing_before_it_writes_is_not_left_running(world, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.CHORUS_EXPORT_DIR = blocker / "exports"
    export = _queued(world, shape="raw")
    with pytest.raises(OSError):
        export_svc.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error.startswith(("FileExistsError", "NotADirectoryError"))


def test_the_celery_task_records_the_failure(world, monkeypatch):
    from annotate.tasks import export_run

    monkeypatch.setattr(
        "annotate.exports.shapes.raw_rows", lambda row, *a, **k: _failing_rows()([row])
    )
    export = _queued(world, shape="raw")
    result = export_run.apply(args=[export.pk])
    assert result.failed()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and "shape exploded" in export.error
