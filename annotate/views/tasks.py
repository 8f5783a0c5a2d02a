"""Task pages: the work loop of an annotator, served as htmx partials.

GET /c/<slug>/            checks consent, profile, eligibility and quota, then shows the
                          next task (a full page).
GET /tasks/<id>/          one assignment (full page, or the fragment for htmx).
POST /tasks/<id>/submit/  stores the answer and answers with the NEXT task's fragment,
                          so there is no page reload between tasks; a validation error
                          answers 422 with the same form, errors inline, input kept.
POST /tasks/<id>/skip/    gives the item back with a reason, then the next task.
Live conversation items are answered on the page named ``conversation_task``.

Campaign.config keys read here:
- ``max_tasks_per_annotator`` (int, optional): after this many submitted tasks the
  participant is done (completion page, completion code).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from annotate.forms import SkipForm, task_payload_from_post
from annotate.input.checks import InputError, parse_int
from annotate.models import Annotator, Assignment, AssignmentStatus, Campaign, TaskType
from annotate.payloads import PayloadError
from annotate.selectors.assignments import TaskView
from annotate.selectors.onboarding import (
    completion_info,
    completion_redirect_url,
    consent_document,
    consent_has_given,
    screen_out_url,
)
from annotate.selectors.task_pages import (
    assignment_for_annotator,
    task_progress,
    task_view_build,
)
from annotate.services import (
    AlreadyFinished,
    AnnotatorPaused,
    CampaignNotOpen,
    NotFound,
    assignment_skip,
)
from annotate.services.assignments import assignment_lease
from annotate.services.eligibility import (
    NotEligible,
    ProfileRequired,
    QuotaFull,
    admission_get,
    campaign_admit,
    screening_fields,
)
from annotate.services.gates import gate_passed, gate_remember
from annotate.services.leasing import Lease, campaign_task_limit
from annotate.services.onboarding import admission_complete
from annotate.services.quality import paused_reason_text, submit_notices
from annotate.services.submit_flow import annotation_submit_and_lease

from .common import annotator_required, is_htmx, platform_redirect, redirect
from .onboarding import screened_out, screener_passed
from .task_context import skip_reason_canonical, task_context

PARTIAL = "annotate/tasks/_task.html"
PAGE = "annotate/task_page.html"


def conversation_url(assignment_id: int) -> str | None:
    """The live-conversation page, if that feature is installed (resolved lazily)."""
    try:
        return reverse("conversation_task", kwargs={"assignment_id": assignment_id})
    except NoReverseMatch:
        return None


def _message_page(
    request: HttpRequest, title: str, message: str, *, status: int = 200, **extra: Any
) -> HttpResponse:
    template = "annotate/tasks/_message.html" if is_htmx(request) else "annotate/message.html"
    return render(request, template, {"title": title, "message": message, **extra}, status=status)


def _gate(request: HttpRequest, campaign: Campaign, annotator: Annotator) -> HttpResponse | None:
    """Everything that must hold before a participant gets tasks, in the order asked."""
    if not campaign.is_open:
        return _message_page(
            request,
            gettext("Not open"),
            gettext("%(name)s is not open at the moment.") % {"name": campaign.name},
        )
    document = consent_document(campaign=campaign)
    # Consent and admission passed before are remembered (annotate.services.gates);
    # profile and pause come from the annotator's row, read with this request's user.
    remembered = gate_passed(annotator=annotator, campaign=campaign, document=document)
    if not remembered and not consent_has_given(annotator=annotator, document=document):
        return redirect(request, reverse("campaign_consent", args=[campaign.slug]))
    if annotator.current_profile_id is None:
        if screening_fields(campaign=campaign) and not screener_passed(request, campaign):
            # Screening questions first: a participant the study cannot take is told
            # (or sent back to the crowd platform) before the rest of the profile.
            return redirect(request, reverse("campaign_screen", args=[campaign.slug]))
        here = reverse("campaign_work", args=[campaign.slug])
        return redirect(request, f"{reverse('profile_edit')}?next={here}")
    if annotator.paused:
        return _message_page(
            request, gettext("Your account is paused"), paused_reason_text(annotator.paused_reason)
        )
    if remembered:
        return None
    try:
        campaign_admit(campaign=campaign, annotator=annotator)
    except ProfileRequired:
        return redirect(request, reverse("profile_edit"))
    except (NotEligible, QuotaFull) as exc:
        if screen_out_url(campaign=campaign):
            return screened_out(request, campaign, str(exc))
        return _message_page(
            request, gettext("No tasks for you in this study"), str(exc), status=403
        )
    gate_remember(annotator=annotator, campaign=campaign, document=document)
    return None


def _progress(campaign: Campaign, annotator: Annotator) -> dict[str, int]:
    return task_progress(campaign=campaign, annotator=annotator)


def _render_task(
    request: HttpRequest,
    view: TaskView,
    annotator: Annotator,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    notices: list[str] | None = None,
    push: bool = False,
    progress: dict[str, int] | None = None,
) -> HttpResponse:
    assignment = view.assignment
    context = task_context(
        view,
        progress=progress or _progress(assignment.campaign, annotator),
        errors=errors,
        values=request.POST if errors else None,
        notices=notices,
    )
    context["partial"] = is_htmx(request)
    response = render(request, PARTIAL if is_htmx(request) else PAGE, context, status=status)
    if push and is_htmx(request):
        response["HX-Push-Url"] = reverse("task", args=[assignment.pk])
    return response


def _conversation_redirect(request: HttpRequest, assignment_id: int) -> HttpResponse:
    url = conversation_url(assignment_id)
    if url is None:
        return _message_page(
            request,
            gettext("Live conversation task"),
            gettext(
                "This task is a live conversation, which this server cannot show yet. "
                "Please skip it to get the next task."
            ),
            skip_url=reverse("task_skip", args=[assignment_id]),
        )
    return redirect(request, url)


def _done(request: HttpRequest, campaign: Campaign, annotator: Annotator) -> HttpResponse:
    admission_complete(campaign=campaign, annotator=annotator)
    platform = completion_redirect_url(campaign=campaign)
    if platform:
        return platform_redirect(request, platform)  # the code is in the URL
    context = {
        "campaign": campaign,
        "completion": completion_info(campaign=campaign),
        "progress": _progress(campaign, annotator),
    }
    if is_htmx(request):
        response = render(request, "annotate/tasks/_done.html", context)
        response["HX-Push-Url"] = reverse("campaign_done", args=[campaign.slug])
        return response
    return redirect(request, reverse("campaign_done", args=[campaign.slug]))


def _serve_next(
    request: HttpRequest,
    campaign: Campaign,
    annotator: Annotator,
    *,
    notices: list[str],
    after_post: bool,
) -> HttpResponse:
    """The one flow that serves an annotator's next task, after the gate (opening the
    campaign's work page) or after a submit or skip: a new lease (quality items mixed
    in, the task limit checked under the same lock, the annotator's counts read with
    it), then the task. A paused annotator or a campaign that closed meanwhile gets a
    message, never a 500. After a POST, a full page is redirected to the task's own URL
    (so a reload does not post again); htmx gets the fragment."""
    try:
        lease = assignment_lease(
            annotator=annotator,
            campaign=campaign,
            quality_mix=True,
            max_done=campaign_task_limit(campaign),
        )
    except AnnotatorPaused as exc:
        return _message_page(request, gettext("Your account is paused"), str(exc))
    except CampaignNotOpen as exc:
        return _message_page(request, gettext("Not open"), str(exc))
    return _serve_lease(request, campaign, annotator, lease, notices=notices, after_post=after_post)


def _serve_lease(
    request: HttpRequest,
    campaign: Campaign,
    annotator: Annotator,
    lease: Lease | None,
    *,
    notices: list[str],
    after_post: bool = True,
) -> HttpResponse:
    """Answer with the leased task, or the completion page when there is none."""
    assignment = lease.assignment if lease is not None else None
    if lease is None or assignment is None:
        return _done(request, campaign, annotator)
    if assignment.item.task_type == TaskType.CONVERSATION:
        return _conversation_redirect(request, assignment.pk)
    if after_post and not is_htmx(request):
        for notice in notices:
            messages.warning(request, notice)
        return redirect(request, reverse("task", args=[assignment.pk]))
    progress = task_progress(
        campaign=campaign,
        annotator=annotator,
        mine={"done": lease.done, "skipped": lease.skipped},
    )
    view = task_view_build(assignment=assignment, campaign=campaign, responses=lease.responses)
    return _render_task(request, view, annotator, notices=notices, push=True, progress=progress)


@require_GET
@annotator_required
def campaign_work(request: HttpRequest, slug: str, *, annotator: Annotator) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    blocked = _gate(request, campaign, annotator)
    if blocked is not None:
        return blocked
    return _serve_next(request, campaign, annotator, notices=[], after_post=False)


@require_GET
@annotator_required
def campaign_done(request: HttpRequest, slug: str, *, annotator: Annotator) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    admission = admission_get(campaign=campaign, annotator=annotator)
    finished = admission is not None and admission.completed_at is not None
    platform = completion_redirect_url(campaign=campaign) if finished else ""
    if platform:
        return platform_redirect(request, platform)
    return render(
        request,
        "annotate/done.html",
        {
            "campaign": campaign,
            "completion": completion_info(campaign=campaign) if finished else {},
            "finished": finished,
            "progress": _progress(campaign, annotator),
        },
    )


def _own_assignment(assignment_id: int, annotator: Annotator) -> Assignment:
    try:
        return assignment_for_annotator(assignment_id=assignment_id, annotator=annotator)
    except NotFound:
        raise Http404(gettext("No such task.")) from None


@require_GET
@annotator_required
def task_page(request: HttpRequest, assignment_id: int, *, annotator: Annotator) -> HttpResponse:
    assignment = _own_assignment(assignment_id, annotator)
    work_url = reverse("campaign_work", args=[assignment.campaign.slug])
    if assignment.item.task_type == TaskType.CONVERSATION:
        return _conversation_redirect(request, assignment.pk)
    if assignment.status in (AssignmentStatus.SUBMITTED, AssignmentStatus.SKIPPED):
        messages.info(request, gettext("That task is already done. Here is your next one."))
        return redirect(request, work_url)
    if assignment.status == AssignmentStatus.EXPIRED or assignment.lease_expires_at <= (
        timezone.now()
    ):
        messages.warning(
            request, gettext("Your time for that task ran out. Here is your next one.")
        )
        return redirect(request, work_url)
    view = task_view_build(assignment=assignment, campaign=assignment.campaign)
    return _render_task(request, view, annotator)


def _int_field(request: HttpRequest, name: str) -> int | None:
    """A hidden bookkeeping field (time on task, guideline shown): unreadable is unknown."""
    value = request.POST.get(name, "")
    try:
        return parse_int(value, field=name) if value else None
    except InputError:
        return None


@require_POST
@annotator_required
def task_submit(request: HttpRequest, assignment_id: int, *, annotator: Annotator) -> HttpResponse:
    """Store the answer and lease the next task in one transaction (issue 14:
    annotate.services.submit_flow), then answer with that task."""

    def parse(assignment: Assignment) -> dict[str, Any]:
        return task_payload_from_post(
            task_type=assignment.item.task_type,
            data=request.POST,
            presented_order=assignment.presented_order,
            rating_attributes=assignment.campaign.rating_attributes,
        )

    try:
        outcome = annotation_submit_and_lease(
            assignment_id=assignment_id,
            annotator=annotator,
            parse=parse,
            time_spent_ms=_int_field(request, "time_spent_ms"),
            guideline_version_id=_int_field(request, "guideline_version_id"),
        )
    except PayloadError as exc:
        # 422 (swapped in by htmx per the page's htmx-config), the form keeps its input.
        assignment = _own_assignment(assignment_id, annotator)
        view = task_view_build(assignment=assignment, campaign=assignment.campaign)
        return _render_task(request, view, annotator, status=422, errors=exc.errors)
    except NotFound:
        raise Http404(gettext("No such task.")) from None
    campaign = outcome.assignment.campaign
    notices = [outcome.notice] if outcome.notice else []
    if outcome.created and outcome.annotation is not None:
        notices.extend(submit_notices(annotation=outcome.annotation, campaign=campaign))
    if outcome.blocked:
        title = gettext("Not open") if not campaign.is_open else gettext("Your account is paused")
        return _message_page(request, title, outcome.blocked)
    return _serve_lease(request, campaign, annotator, outcome.lease, notices=notices)


@require_POST
@annotator_required
def task_skip(request: HttpRequest, assignment_id: int, *, annotator: Annotator) -> HttpResponse:
    assignment = _own_assignment(assignment_id, annotator)
    form = SkipForm(request.POST)
    if not form.is_valid():
        # The same 500-character limit the reason's input shows, kept by the server too.
        view = task_view_build(assignment=assignment, campaign=assignment.campaign)
        errors = {"skip_reason": " ".join(str(e) for e in form.errors.get("reason", []))}
        return _render_task(request, view, annotator, status=422, errors=errors)
    reason = skip_reason_canonical(form.cleaned_data["reason"])
    notices: list[str] = []
    try:
        assignment_skip(assignment_id=assignment.pk, annotator=annotator, reason=reason)
    except AlreadyFinished as exc:
        notices.append(str(exc))
    except NotFound:
        raise Http404(gettext("No such task.")) from None
    return _serve_next(request, assignment.campaign, annotator, notices=notices, after_post=True)
