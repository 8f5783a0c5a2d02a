"""The PRISM-style profile: view it, fill it in, edit it (an edit is a new version)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from annotate.forms import PREFERENCE_LABELS, ProfileForm
from annotate.i18n.languages import ui_language_choices
from annotate.models import Annotator, Campaign
from annotate.models.profile import STATED_PREFERENCES, USE_CASES
from annotate.selectors.onboarding import consent_document, consent_has_given
from annotate.services import profile_version_create
from annotate.services.eligibility import screening_fields

from .common import annotator_required, redirect, safe_next
from .language import language_remember
from .onboarding import SCREENER_SESSION_KEY, screener_answers, screener_passed


@require_http_methods(["GET"])
@annotator_required
def profile_view(request: HttpRequest, *, annotator: Annotator) -> HttpResponse:
    profile = annotator.current_profile
    if profile is None:
        return redirect(request, reverse("profile_edit"))
    form = ProfileForm(instance=profile)
    rows = []
    for name in form.fields:
        if name == "ui_language":
            continue
        if name.startswith("pref_") or name in ("self_description", "system_prompt"):
            continue
        bound = form[name]
        value = getattr(profile, name)
        if name == "use_cases":
            labels = dict(USE_CASES)
            shown = ", ".join(str(labels.get(v, v)) for v in value) or gettext("None")
        elif hasattr(profile, f"get_{name}_display"):
            shown = getattr(profile, f"get_{name}_display")()
        else:
            choices = dict(getattr(form.fields[name], "choices", []) or [])
            shown = choices.get(value, value)
        if name.endswith("_self_describe") and not value:
            continue
        rows.append((bound.label, shown))
    language = annotator.ui_language
    rows.append(
        (
            ProfileForm.base_fields["ui_language"].label or "",
            dict(ui_language_choices()).get(language, language),
        )
    )
    prefs = [(PREFERENCE_LABELS[n], getattr(profile, f"pref_{n}")) for n in STATED_PREFERENCES]
    return render(
        request,
        "annotate/profile_view.html",
        {"profile": profile, "rows": rows, "prefs": prefs, "annotator": annotator},
    )


def _screener_first(request: HttpRequest, next_url: str) -> str | None:
    """The screener's URL when a first profile is on its way to a campaign that screens
    and this browser has not passed its screener (whatever page led here)."""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return None
    if match.url_name != "campaign_work":
        return None
    campaign = Campaign.objects.filter(slug=match.kwargs.get("slug", "")).first()
    if campaign is None or not screening_fields(campaign=campaign):
        return None
    if screener_passed(request, campaign):
        return None
    return reverse("campaign_screen", args=[campaign.slug])


@require_http_methods(["GET", "POST"])
@annotator_required
def profile_edit(request: HttpRequest, *, annotator: Annotator) -> HttpResponse:
    """First fill-in or an edit; saving always creates a new ProfileVersion."""
    site_consent = consent_document(campaign=None)
    next_url = safe_next(request, reverse("home"))
    if not annotator.consents.exists() and not consent_has_given(
        annotator=annotator, document=site_consent
    ):
        # Demographics are collected only from people who agreed to take part.
        return redirect(request, f"{reverse('consent')}?{urlencode({'next': next_url})}")
    current = annotator.current_profile
    screen = _screener_first(request, next_url) if current is None else None
    if screen:
        return redirect(request, screen)
    # A first profile starts from the screener's answers (annotate.views.onboarding).
    initial = model_to_dict(current) if current is not None else screener_answers(request)
    initial["ui_language"] = annotator.ui_language
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            profile_version_create(annotator=annotator, **form.profile_fields())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            language = form.cleaned_data.get("ui_language") or ""
            changed = language != annotator.ui_language
            if changed:
                # The page after this one is in the language just chosen.
                translation.activate(language or translation.get_language())
            request.session.pop(SCREENER_SESSION_KEY, None)
            messages.success(request, gettext("Your profile is saved."))
            response = redirect(request, next_url)
            if changed:
                language_remember(request, response, language)
            return response
    return render(
        request,
        "annotate/profile_form.html",
        {"form": form, "next": next_url, "is_edit": current is not None},
        status=400 if form.errors else 200,
    )
