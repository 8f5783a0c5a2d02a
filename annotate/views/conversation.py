"""The live (PRISM-style) conversation task: one page, htmx partials, polling for tokens.

The worker writes each reply's progressive text to its GenerationRequest about every
100 ms (the first piece at once); while any reply is still being written the panel
re-fetches itself every 500 ms (``hx-trigger="every 500ms"``), so tokens appear as they
arrive without a socket. Every POST answers the re-rendered panel to htmx, or redirects
back to the page without it.
Only anonymous labels ever reach the template, never endpoint names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from annotate.input.checks import InputError, parse_int
from annotate.roles import annotator_of
from annotate.selectors.conversation import conversation_view
from annotate.services import conversation as conv
from annotate.services.errors import NotFound, ServiceError


def _next_url(view: Any) -> str:
    """Back to the campaign's task flow (issue 3's ``campaign_work``), else home."""
    try:
        return reverse("campaign_work", args=[view.assignment.campaign.slug])
    except NoReverseMatch:
        return reverse("home")


def _panel(
    request: HttpRequest, assignment_id: int, *, error: str = "", status: int = 200
) -> HttpResponse:
    annotator = annotator_of(request.user)
    try:
        view = conversation_view(assignment_id=assignment_id, annotator=annotator)
    except NotFound:
        raise Http404(gettext("No such task.")) from None
    context: dict[str, Any] = {"view": view, "error": error, "next_url": _next_url(view)}
    template = (
        "conversation/_panel.html"
        if request.headers.get("HX-Request")
        else ("conversation/task.html")
    )
    return render(request, template, context, status=status)


def _annotator_or_403(request: HttpRequest) -> Any:
    return annotator_of(request.user)


@login_required
@require_GET
def conversation_task(request: HttpRequest, assignment_id: int) -> HttpResponse:
    if _annotator_or_403(request) is None:
        return HttpResponseForbidden(gettext("Only annotators can open tasks."))
    return _panel(request, assignment_id)


@login_required
@require_GET
def conversation_panel(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """The polled partial (also what every action answers to htmx)."""
    if _annotator_or_403(request) is None:
        return HttpResponseForbidden(gettext("Only annotators can open tasks."))
    annotator = annotator_of(request.user)
    try:
        view = conversation_view(assignment_id=assignment_id, annotator=annotator)
    except NotFound:
        raise Http404(gettext("No such task.")) from None
    return render(
        request,
        "conversation/_panel.html",
        {"view": view, "error": "", "next_url": _next_url(view)},
    )


def _action(
    request: HttpRequest, assignment_id: int, step: Callable[..., Any], **kwargs: Any
) -> HttpResponse:
    annotator = annotator_of(request.user)
    if annotator is None:
        return HttpResponseForbidden(gettext("Only annotators can answer tasks."))
    error = ""
    try:
        step(assignment_id=assignment_id, annotator=annotator, **kwargs)
    except NotFound:
        raise Http404(gettext("No such task.")) from None
    except (ServiceError, ValueError) as exc:
        error = str(exc) or gettext("That did not work; please try again.")
    if not request.headers.get("HX-Request"):
        if error:
            return _panel(request, assignment_id, error=error, status=400)
        return redirect("conversation_task", assignment_id=assignment_id)
    return _panel(request, assignment_id, error=error)


def _scores(request: HttpRequest, prefix: str) -> dict[Any, Any]:
    return {
        key[len(prefix) :]: value for key, value in request.POST.items() if key.startswith(prefix)
    }


@login_required
@require_POST
def conversation_start(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _action(
        request, assignment_id, conv.conversation_start, text=request.POST.get("text", "")
    )


@login_required
@require_POST
def conversation_rate(request: HttpRequest, assignment_id: int) -> HttpResponse:
    scores: dict[int, Any] = {}
    for key, value in _scores(request, "score-").items():
        # A score field is named after its reply's request id: ASCII digits only (the
        # input boundary); "score-²" or 5,000 digits were 500s.
        try:
            scores[parse_int(key, field=f"score-{key}", min_value=1)] = value
        except InputError as exc:
            if annotator_of(request.user) is None:
                return HttpResponseForbidden("Only annotators can answer tasks.")
            return _panel(request, assignment_id, error=str(exc), status=400)
    return _action(request, assignment_id, conv.conversation_rate_opening, scores=scores)


@login_required
@require_POST
def conversation_continue(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _action(
        request, assignment_id, conv.conversation_continue, text=request.POST.get("text", "")
    )


@login_required
@require_POST
def conversation_choose(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _action(
        request,
        assignment_id,
        conv.conversation_choose,
        choice=request.POST.get("choice", ""),
        scores=_scores(request, "score-"),
    )


@login_required
@require_POST
def conversation_finish(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _action(
        request,
        assignment_id,
        conv.conversation_finish,
        attributes=_scores(request, "attr-"),
        feedback=request.POST.get("feedback", ""),
    )


@login_required
@require_POST
def conversation_retry(request: HttpRequest, assignment_id: int) -> HttpResponse:
    return _action(request, assignment_id, conv.conversation_retry_failed)
