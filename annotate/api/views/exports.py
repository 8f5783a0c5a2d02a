"""Exports: stream a dataset, or queue it as a Celery job and poll for the download link."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.http import FileResponse, Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from annotate.api import serializers as s
from annotate.api.base import ChorusAPIView, IdCursorPagination, campaign_or_404
from annotate.api.filters import (
    PAGING_PARAMS,
    check_known,
)
from annotate.api.views.data import FILTER_DOCS
from annotate.exports.schemas import SHAPES
from annotate.exports.writers import CONTENT_TYPES, FORMATS
from annotate.models import ExportStatus
from annotate.roles import is_admin
from annotate.selectors.research import exports_visible_to, research_export
from annotate.services import exports as svc
from annotate.services.export_requests import export_request

log = logging.getLogger(__name__)


class ExportFailed(APIException):
    """A streamed export that failed before its first byte was sent (500, no details)."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_code = "export_failed"

    def __init__(self, export_id: int) -> None:
        super().__init__(
            f"Export {export_id} failed; its record at /api/v1/exports/{export_id}/ says why."
        )


class IgnoreFormatParam(BaseContentNegotiation):
    """``?format=`` names the export format here, not a DRF renderer: always answer JSON
    for errors and job descriptions (the data itself bypasses renderers)."""

    def select_renderer(
        self, request: Any, renderers: Any, format_suffix: Any = None
    ) -> tuple[Any, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None


EXPORT_DOC = """Export a campaign's labels.

**shape** (default raw):
- `raw`: one row per annotation: payload, item, prompt, responses, timing, guideline and
  profile version, pseudonymous `annotator_id`, `source` (human | ai) with `judge` and
  `judge_prompt_version` for AI judges' labels, and `profile_<field>` columns for the
  fields the campaign publishes (k-suppressed).
- `trl-preference`: `prompt`, `chosen`, `rejected` + `annotator_id`, `margin`, `source`
  (pairwise | ranking | rating | edit | bws), ids and model labels. Ties are excluded.
  Ranking pairs: `ranking_pairs=all|adjacent|best`; a best-worst (`bws`) label is the
  partial ranking [best], [the others], [worst] and gives its pairs the same way;
  rating pairs (same annotator, same prompt): `min_margin` (default 1) on `attribute`
  (default the campaign's overall attribute);
  `sources=pairwise,edit` restricts the label types used.
- `trl-unpaired`: `prompt`, `completion`, `label` from ratings: rating > `threshold` is
  true, below is false, equal is dropped (default threshold: middle of the scale).
- `ranking`: prompt with every response, best first (`responses`, `ranking` groups); a
  best-worst label appears as `[[best], [the others], [worst]]`.
- `prism`: a zip of `survey`, `conversations` and `utterances` files in `format`.

Every shape has a `language` column: the item's BCP 47 tag in lower case (`und` when
its data declared none); `raw` responses also carry their own `language`. Filter with
`language=fr,de`.

`conversational=1` turns prompt/chosen/rejected/completion into chat message lists
(TRL's conversational format) instead of plain text.

**format**: `jsonl` (default), `csv` (nested values as JSON text), `parquet` (zstd).

Filters are those of `/api/v1/annotations/`. `source=human` (the default), `source=ai`
or `source=all` picks whose labels are exported: people's, AI judges' or both (so
`shape=trl-preference&source=all` trains on both); the derived shapes name it in
`label_source`, with `judge` and `judge_prompt_version`. Up to CHORUS_EXPORT_SYNC_MAX_ROWS matching
annotations (default 200000) stream in the response; above that, or with `async=1`, the
answer is 202 with an export job to poll at `/api/v1/exports/{id}/`. Every export is
recorded (filters, options, row count, SHA-256) under `/api/v1/exports/`; the response
headers `X-Chorus-Export-Id` name the record.

An export that fails before its first CHORUS_EXPORT_PRIME_BYTES (default 4 MiB) have
been produced (for most exports: at all) answers 500 with a JSON `detail` naming the
export record, whose `error` says why. A failure later in a long stream cuts the transfer
off unfinished; the record then says `failed` too. Only a record with status `done` and a
`sha256` describes a complete file.
"""


class CampaignExportApi(ChorusAPIView):
    content_negotiation_class = IgnoreFormatParam
    renderer_classes = [JSONRenderer]

    @extend_schema(
        description=EXPORT_DOC,
        parameters=[
            OpenApiParameter("shape", str, enum=list(SHAPES), description="Dataset shape."),
            OpenApiParameter("format", str, enum=list(FORMATS), description="File format."),
            OpenApiParameter("conversational", bool, description="Message lists, not text."),
            OpenApiParameter("ranking_pairs", str, enum=["all", "adjacent", "best"]),
            OpenApiParameter("min_margin", float, description="Rating pairs: min difference."),
            OpenApiParameter("attribute", str, description="Rating attribute used."),
            OpenApiParameter("threshold", float, description="trl-unpaired label threshold."),
            OpenApiParameter("sources", str, description="Comma list of label types."),
            OpenApiParameter("async", bool, description="Run as a background job."),
            *FILTER_DOCS,
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            (202, "application/json"): s.ExportSerializer,
            (400, "application/json"): OpenApiResponse(description="Bad parameter."),
            (404, "application/json"): OpenApiResponse(description="No such campaign."),
        },
        tags=["exports"],
    )
    def get(self, request: Request, slug: str) -> Any:
        campaign = campaign_or_404(request, slug)
        # The same parsing, checks and queueing as the research page's export form.
        export = export_request(
            campaign=campaign,
            requested_by=request.user,
            params=request.query_params,
            admin=is_admin(request.user),
        )
        if export.is_async:
            body = s.ExportSerializer(export, context={"request": request}).data
            return Response(body, status=status.HTTP_202_ACCEPTED)
        ext = svc.export_extension(export)
        try:
            # Produces the first part of the file (all of a small one) now, so a failure
            # is a JSON error answer, never a 200 with a short or corrupt body.
            stream = svc.export_stream(export=export)
        except Exception as exc:
            log.exception("export %s failed", export.pk)
            raise ExportFailed(export.pk) from exc
        response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[ext])
        response["Content-Disposition"] = f'attachment; filename="{svc.export_filename(export)}"'
        response["X-Chorus-Export-Id"] = str(export.pk)
        return response


class ExportListApi(ChorusAPIView):
    pagination_class = IdCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, description="Opaque cursor from next/previous."),
            OpenApiParameter("page_size", int, description="1-500, default 50."),
        ],
        responses=s.ExportSerializer(many=True),
        tags=["exports"],
    )
    def get(self, request: Request) -> Response:
        """Your exports (admins: all), with filters, row counts and checksums."""
        check_known(request.query_params, PAGING_PARAMS)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            exports_visible_to(user=request.user), request, view=self
        )
        data = s.ExportSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class ExportDetailApi(ChorusAPIView):
    @extend_schema(responses=s.ExportSerializer, tags=["exports"])
    def get(self, request: Request, export_id: int) -> Response:
        """An export's status, progress, and download link once done."""
        export = research_export(user=request.user, export_id=export_id)
        if export is None:
            raise Http404("No such export.")
        return Response(s.ExportSerializer(export, context={"request": request}).data)


class ExportDownloadApi(ChorusAPIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (404, "application/json"): OpenApiResponse(description="Not found or not ready."),
        },
        tags=["exports"],
    )
    def get(self, request: Request, export_id: int) -> Any:
        """The file of a finished background export."""
        export = research_export(user=request.user, export_id=export_id)
        if export is None or export.status != ExportStatus.DONE or not export.file_path:
            raise Http404("No such export file (yet).")
        path = Path(export.file_path)
        if not path.is_file():
            raise Http404("The export file is gone; run the export again.")
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=svc.export_filename(export),
            content_type=CONTENT_TYPES[svc.export_extension(export)],
        )


class ExportReproduceApi(ChorusAPIView):
    @extend_schema(request=None, responses={202: s.ExportSerializer}, tags=["exports"])
    def post(self, request: Request, export_id: int) -> Response:
        """Run a recorded export again, pinned to the same annotations (background job).

        Compare the new ``sha256`` with the old one to check a dataset you hold.
        """
        original = research_export(user=request.user, export_id=export_id)
        if original is None:
            raise Http404("No such export.")
        export = svc.export_reproduce(export=original, requested_by=request.user)
        body = s.ExportSerializer(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)
