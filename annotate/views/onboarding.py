"""Sign up, crowd-platform join links, and consent."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from annotate.forms import ConsentForm, ScreenerForm, SignupForm
from annotate.models import Annotator, Campaign
from annotate.security.backends import SESSION_BACKEND
from annotate.selectors.onboarding import (
    consent_document,
    consent_has_given,
    join_param_names,
    screen_out_url,
)
from annotate.services.annotators import annotator_sign_up
from annotate.services.crowd_links import (
    SIGNATURE_PARAM,
    STUDY_KEY_PARAM,
    crowd_proof_mark,
    join_link,
)
from annotate.services.eligibility import admission_get, screening_fields, screening_refusal
from annotate.services.onboarding import (
    ConsentOutdated,
    JoinNotSigned,
    JoinRefused,
    consent_give,
    participant_join,
)

from .common import annotator_required, platform_redirect, redirect, safe_next

# The screener's answers wait in the session until the profile form saves them:
# {"campaign": id, "answers": {field: value}}. Nothing about a refused participant is kept.
SCREENER_SESSION_KEY = "chorus_screener"


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account with a password; the next stop is the consent page."""
    if request.user.is_authenticated:
        return redirect(request, reverse("home"))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = annotator_sign_up(
            username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
        )
        login(request, user, backend=SESSION_BACKEND)
        next_url = safe_next(request, reverse("home"))
        return redirect(request, _with_next(reverse("consent"), next_url))
    return render(
        request, "annotate/signup.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET"])
def join(request: HttpRequest, slug: str) -> HttpResponse:
    """Crowd admission: /join/<slug>/?PROLIFIC_PID=..&STUDY_ID=..&sig=.. logs the participant
    in. The signature (or, for a first join, the campaign's study key) is what admits them:
    annotate.services.crowd_links. Parameter names: Campaign.config participant_param /
    study_param. ``next`` (same site) is where to go afterwards, e.g. the data page.
    """
    campaign = get_object_or_404(Campaign, slug=slug)
    pid_param, study_param = join_param_names(campaign=campaign)
    try:
        joined = participant_join(
            campaign=campaign,
            external_id=request.GET.get(pid_param, ""),
            study_id=request.GET.get(study_param, ""),
            signature=request.GET.get(SIGNATURE_PARAM, ""),
            study_key=request.GET.get(STUDY_KEY_PARAM, ""),
            session_user_id=request.user.pk if request.user.is_authenticated else None,
        )
    except JoinRefused as exc:
        status = 403 if isinstance(exc, JoinNotSigned) else 400
        return render(
            request,
            "annotate/message.html",
            {"title": gettext("We could not start the study"), "message": str(exc)},
            status=status,
        )
    if request.user.is_authenticated and request.user.pk != joined.user.pk:
        # Another person's session on a shared computer must not carry over.
        logout(request)
    if not request.user.is_authenticated:
        login(request, joined.user, backend=SESSION_BACKEND)  # type: ignore[arg-type]
    if joined.signed:
        crowd_proof_mark(session=request.session, annotator_id=joined.annotator.pk)
    elif joined.created:
        # Came in with the study key: hand out the participant's own link now.
        link = request.build_absolute_uri(
            join_link(
                campaign=campaign,
                participant_id=joined.annotator.external_id,
                study_id=joined.annotator.study_id,
            )
        )
        messages.info(
            request,
            gettext(
                "Your personal link (keep it private): %(link)s . Use it to come back to this "
                "study, and to download or delete your data."
            )
            % {"link": link},
        )
    return redirect(request, safe_next(request, reverse("campaign_work", args=[campaign.slug])))


def _consent(request: HttpRequest, annotator: Annotator, campaign: Campaign | None) -> HttpResponse:
    document = consent_document(campaign=campaign)
    default_next = (
        reverse("campaign_work", args=[campaign.slug]) if campaign else reverse("profile_edit")
    )
    next_url = safe_next(request, default_next)
    fresh = {
        "version": document.version,
        "text_sha256": document.sha256,
        "language": document.language,
    }
    form = ConsentForm(request.POST if request.method == "POST" else None, initial=fresh)
    if request.method == "POST" and form.is_valid():
        try:
            consent_give(
                annotator=annotator,
                campaign=document.campaign,
                version=form.cleaned_data["version"],
                text_sha256=form.cleaned_data["text_sha256"],
                language=form.cleaned_data["language"] or None,
            )
        except ConsentOutdated as exc:
            messages.warning(request, str(exc))
            form = ConsentForm(initial=fresh)
        else:
            if annotator.current_profile_id is None:
                if campaign is not None and screening_fields(campaign=campaign):
                    # Screening questions come before the rest of the profile.
                    return redirect(request, reverse("campaign_screen", args=[campaign.slug]))
                return redirect(request, _with_next(reverse("profile_edit"), next_url))
            return redirect(request, next_url)
    context = {
        "document": document,
        "campaign": campaign,
        "form": form,
        "next": next_url,
        "already": consent_has_given(annotator=annotator, document=document),
    }
    return render(request, "annotate/consent.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@annotator_required
def consent(request: HttpRequest, *, annotator: Annotator) -> HttpResponse:
    """The site-wide consent (campaigns without their own consent text use it too)."""
    return _consent(request, annotator, None)


@require_http_methods(["GET", "POST"])
@annotator_required
def campaign_consent(request: HttpRequest, slug: str, *, annotator: Annotator) -> HttpResponse:
    campaign = get_object_or_404(Campaign, slug=slug)
    return _consent(request, annotator, campaign)


def screener_passed(request: HttpRequest, campaign: Campaign) -> bool:
    """Whether this browser answered ``campaign``'s screener and was let through."""
    kept = request.session.get(SCREENER_SESSION_KEY) or {}
    return isinstance(kept, dict) and kept.get("campaign") == campaign.pk


def screener_answers(request: HttpRequest) -> dict[str, object]:
    """The screener's answers not yet saved in a profile (pre-fill the profile form)."""
    kept = request.session.get(SCREENER_SESSION_KEY) or {}
    answers = kept.get("answers") if isinstance(kept, dict) else None
    return dict(answers) if isinstance(answers, dict) else {}


def screened_out(request: HttpRequest, campaign: Campaign, reason: str) -> HttpResponse:
    """A participant the study cannot take: to the crowd platform's screen-out URL (with
    its code) when the campaign names one, else a page that says why."""
    url = screen_out_url(campaign=campaign)
    if url:
        return platform_redirect(request, url, reason)
    return render(
        request,
        "annotate/message.html",
        {"title": gettext("No tasks for you in this study"), "message": reason},
        status=403,
    )


@require_http_methods(["GET", "POST"])
@annotator_required
def campaign_screen(request: HttpRequest, slug: str, *, annotator: Annotator) -> HttpResponse:
    """The screening questions of a campaign with eligibility rules or quotas, asked
    after consent and before the rest of the profile (crowd platforms expect a refusal
    to come first, not after a whole survey)."""
    campaign = get_object_or_404(Campaign, slug=slug)
    work = reverse("campaign_work", args=[campaign.slug])
    fields = screening_fields(campaign=campaign)
    if (
        not fields
        or annotator.current_profile_id is not None
        or admission_get(campaign=campaign, annotator=annotator) is not None
    ):
        return redirect(request, work)  # nothing to screen: the campaign page decides
    document = consent_document(campaign=campaign)
    if not consent_has_given(annotator=annotator, document=document):
        return redirect(request, reverse("campaign_consent", args=[campaign.slug]))
    form = ScreenerForm(request.POST or None, fields=fields)
    if request.method == "POST" and form.is_valid():
        answers = form.answers()
        reason = screening_refusal(campaign=campaign, answers=answers)
        if reason:
            request.session.pop(SCREENER_SESSION_KEY, None)
            return screened_out(request, campaign, reason)
        request.session[SCREENER_SESSION_KEY] = {"campaign": campaign.pk, "answers": answers}
        return redirect(request, _with_next(reverse("profile_edit"), work))
    return render(
        request,
        "annotate/screener.html",
        {"form": form, "campaign": campaign},
        status=400 if form.errors else 200,
    )
