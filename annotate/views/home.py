"""Landing page and health check."""

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotate.roles import annotator_of, is_researcher
from annotate.selectors.onboarding import (
    campaigns_for_annotator,
    consent_document,
    consent_has_given,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Annotators: their campaigns and a start button. Staff: links to admin and dashboard.
    Researchers and staff: the research page (campaigns, API token, exports)."""
    annotator = annotator_of(request.user)
    is_staff = bool(getattr(request.user, "is_staff", False))
    researcher = is_researcher(request.user)
    # A researcher who does not annotate has no studies to take part in: no empty list.
    show_studies = annotator is not None or not (is_staff or researcher)
    context = {
        "annotator": annotator,
        "is_staff": is_staff,
        "is_researcher": researcher,
        "show_studies": show_studies,
        "campaigns": list(campaigns_for_annotator(annotator=annotator)) if show_studies else [],
        "needs_consent": annotator is not None
        and not annotator.consents.exists()
        and not consent_has_given(annotator=annotator, document=consent_document(campaign=None)),
        "needs_profile": annotator is not None and annotator.current_profile_id is None,
    }
    return render(request, "home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: answers 503 if the DB is down."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any DB error means "not ready"
        return JsonResponse({"status": "error", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok"})
