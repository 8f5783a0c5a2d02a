"""Account pages of the API: personal API tokens, and an annotator's own data.

One token per user (DRF authtoken). Creating a token replaces the old one, so "rotate"
and "create" are the same action; the key is shown once, right after creation. The
writes are annotate.services.tokens (one transaction each, audited); researchers have
the same controls on /research/, next to their campaigns and exports.
"""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from annotate.roles import annotator_of, is_admin, is_researcher
from annotate.selectors.crowd_access import crowd_data_refusal
from annotate.selectors.research import api_token_for
from annotate.services.privacy import annotator_data, annotator_data_delete
from annotate.services.tokens import api_token_revoke, api_token_rotate


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = cast(Any, request.user)  # login_required: never anonymous here
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("create", "rotate"):
            new_key = api_token_rotate(user=user).key
        elif action == "revoke":
            api_token_revoke(user=user)
            messages.info(request, gettext("Your API token was revoked."))
            return redirect("api_tokens")
        else:
            messages.error(request, gettext("Unknown action."))
            return redirect("api_tokens")
    return render(
        request,
        "api/tokens.html",
        {
            "token": api_token_for(user=user),
            "new_key": new_key,
            "annotator": annotator_of(request.user),
            "is_research": is_researcher(user) or is_admin(user),
        },
    )


def _crowd_refused(request: HttpRequest, annotator: Any) -> HttpResponse | None:
    refusal = crowd_data_refusal(user=request.user, annotator=annotator, session=request.session)
    if refusal is None:
        return None
    return render(
        request,
        "annotate/message.html",
        {"title": gettext("Please confirm it is you"), "message": refusal},
        status=403,
    )


@login_required
def my_data_download(request: HttpRequest) -> HttpResponse:
    annotator = annotator_of(request.user)
    if annotator is None:
        messages.error(request, gettext("You have no annotator data."))
        return redirect("api_tokens")
    refused = _crowd_refused(request, annotator)
    if refused is not None:
        return refused
    body = json.dumps(annotator_data(annotator=annotator), cls=DjangoJSONEncoder, indent=2)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="my-chorus-data.json"'
    return response


@login_required
@require_POST
def my_data_delete(request: HttpRequest) -> HttpResponse:
    annotator = annotator_of(request.user)
    refused = _crowd_refused(request, annotator) if annotator is not None else None
    if refused is not None:
        return refused
    if annotator is None:
        messages.error(request, gettext("You have no annotator data."))
    elif request.POST.get("confirm") != "DELETE":
        messages.error(request, gettext("Type DELETE to confirm."))
    else:
        annotator_data_delete(annotator=annotator)
        messages.info(
            request,
            gettext(
                "Your profile was deleted and your labels were pseudonymised. "
                "You will not receive further tasks."
            ),
        )
    return redirect("api_tokens")
