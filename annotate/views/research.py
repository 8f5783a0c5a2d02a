"""The researcher page: granted campaigns, the API token, exports to download.

Who: researchers (group ``researcher``, campaigns they hold a grant for) and staff (all
campaigns). Anonymous users are sent to log in; anyone else (annotators) gets 403;
another person's export answers 404, as in the API. Every write is a POST behind the
CSRF middleware and goes through a service: annotate.services.tokens for the token,
annotate.services.export_requests for exports (the API's parameter rules).

Small exports stream straight back from the form's POST; large ones (or ``async``) run
as a Celery job and show up in "Your exports", whose running rows poll a small partial
(``research_export_row``) every second until they are done or failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import ValidationError

from annotate.exports.privacy import FIELD_ALIASES
from annotate.exports.writers import CONTENT_TYPES
from annotate.forms_research import ExportForm
from annotate.roles import is_admin, is_researcher
from annotate.selectors.annotations import campaigns_visible_to
from annotate.selectors.research import (
    api_token_for,
    research_campaigns,
    research_export,
    research_exports,
)
from annotate.services.export_requests import export_request
from annotate.services.exports import (
    export_extension,
    export_filename,
    export_stream,
    sync_max_rows,
)
from annotate.services.tokens import api_token_revoke, api_token_rotate
from annotate.views.common import redirect

log = logging.getLogger(__name__)
# Session key holding a freshly created API key until the next page view shows it once
# (post/redirect/get: a reload must not re-post the rotation).
NEW_KEY_SESSION = "chorus_research_new_token"


def researcher_required(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Log in first (htmx-aware), then researchers and staff only: others get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            here = request.get_full_path() if request.method == "GET" else reverse("research")
            login = resolve_url(settings.LOGIN_URL)
            return redirect(request, f"{login}?{urlencode({'next': here})}")
        if not (is_researcher(request.user) or is_admin(request.user)):
            raise PermissionDenied("The research pages are for researchers and staff.")
        return view(request, *args, **kwargs)

    return wrapper


def _page(
    request: HttpRequest, *, form: ExportForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    campaigns = research_campaigns(user=user)
    if form is None:
        chosen = request.GET.get("campaign", "")
        form = ExportForm(
            campaigns=[p.campaign for p in campaigns],
            initial={"campaign": chosen, "shape": "raw", "format": "jsonl"},
        )
    token = api_token_for(user=user)
    new_key = request.session.pop(NEW_KEY_SESSION, None)
    context = {
        "campaigns": campaigns,
        "form": form,
        "exports": research_exports(user=user),
        "token": token,
        # Only while it is still the live key (not revoked or replaced in another tab).
        "new_key": new_key if token is not None and token.key == new_key else None,
        "sync_max_rows": sync_max_rows(),
        "is_staff": is_admin(user),
    }
    return render(request, "research/index.html", context, status=status)


@require_GET
@researcher_required
def research(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@researcher_required
def research_token(request: HttpRequest) -> HttpResponse:
    """``action=rotate`` (create or replace) or ``action=revoke``; back to the page."""
    user = cast(Any, request.user)
    action = request.POST.get("action")
    if action == "rotate":
        request.session[NEW_KEY_SESSION] = api_token_rotate(user=user).key
    elif action == "revoke":
        request.session.pop(NEW_KEY_SESSION, None)
        if api_token_revoke(user=user):
            messages.info(request, "Your API token was revoked; requests using it now fail.")
        else:
            messages.info(request, "You had no API token.")
    else:
        messages.error(request, "Unknown action.")
    return redirect(request, reverse("research") + "#token")


def _add_errors(form: ExportForm, detail: Any) -> None:
    """The API's ValidationError detail ({param: message(s)}) onto the form's fields."""
    if not isinstance(detail, dict):
        form.add_error(None, [str(m) for m in (detail if isinstance(detail, list) else [detail])])
        return
    for name, msgs in detail.items():
        text = [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
        field = FIELD_ALIASES.get(name, name)
        form.add_error(field if field in form.fields else None, text)


@require_POST
@researcher_required
def research_export_start(request: HttpRequest) -> HttpResponseBase:
    """Stream a small export as a download; queue a large one and show its progress."""
    user = cast(Any, request.user)
    campaigns = list(campaigns_visible_to(user).order_by("name", "pk"))
    slug = request.POST.get("campaign", "")
    campaign = next((c for c in campaigns if c.slug == slug), None)
    if slug and campaign is None:
        raise Http404("No such campaign.")  # not granted, or no such slug: say nothing
    form = ExportForm(request.POST, campaigns=campaigns)
    if not form.is_valid() or campaign is None:
        return _page(request, form=form, status=400)
    try:
        export = export_request(
            campaign=campaign,
            requested_by=user,
            params=form.export_params(),
            admin=is_admin(user),
        )
    except ValidationError as exc:
        _add_errors(form, exc.detail)
        return _page(request, form=form, status=400)
    if export.is_async:
        messages.info(
            request,
            f"Export {export.pk} runs in the background; it is listed under Your exports "
            "with its progress, and a download link once done.",
        )
        return redirect(request, reverse("research") + f"#export-{export.pk}")
    try:
        # export_stream may produce the start of the file before returning, so that a
        # failure is reported here instead of as a download cut short.
        stream = export_stream(export=export)
    except Exception:
        log.exception("export %s failed", export.pk)
        messages.error(
            request, f"Export {export.pk} failed; Your exports says why. Nothing was downloaded."
        )
        return redirect(request, reverse("research") + f"#export-{export.pk}")
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[export_extension(export)])
    response["Content-Disposition"] = f'attachment; filename="{export_filename(export)}"'
    response["X-Chorus-Export-Id"] = str(export.pk)
    return response


@require_GET
@researcher_required
def research_export_row(request: HttpRequest, export_id: int) -> HttpResponse:
    """One row of "Your exports" (htmx polls it while the export runs)."""
    export = research_export(user=request.user, export_id=export_id)
    if export is None:
        raise Http404("No such export.")
    return render(request, "research/_export_row.html", {"e": export})
