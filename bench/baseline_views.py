"""Baseline views: the database work of one task, with nothing else (bench_load).

GET  /b/start/<campaign>/<annotator>/ lease the next item, redirect to its page
GET  /b/task/<assignment>/            read the assignment, prompt and responses; tiny HTML
POST /b/submit/<assignment>/          store the label, close the assignment, count it on
                                      the item, lease the next item, redirect to it

The statements mirror annotate.services.assignments (row locks, SKIP LOCKED, F()
updates) so the ratio Chorus/baseline is the cost of everything else: sessions, auth,
CSRF, consent/profile/eligibility gates, quality checks, payload validation, templates.
"""

from __future__ import annotations

import html
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from annotate.models import Annotation, Annotator, Assignment, Item, ItemResponse, Response


def _lease(campaign_id: int, annotator_id: int) -> Assignment | None:
    now = timezone.now()
    with transaction.atomic():
        Annotator.objects.select_for_update().only("id").get(pk=annotator_id)
        item = (
            Item.objects.filter(
                campaign_id=campaign_id, status="open", slots_taken__lt=F("overlap")
            )
            .exclude(
                id__in=Assignment.objects.filter(
                    annotator_id=annotator_id, campaign_id=campaign_id
                ).values("item_id")
            )
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("-priority", "id")
            .first()
        )
        if item is None:
            return None
        order = list(
            ItemResponse.objects.filter(item=item)
            .order_by("position")
            .values_list("response_id", flat=True)
        )
        random.shuffle(order)
        assignment = Assignment.objects.create(
            item=item,
            annotator_id=annotator_id,
            campaign_id=campaign_id,
            presented_order=order,
            lease_expires_at=now + timedelta(seconds=900),
        )
        Item.objects.filter(pk=item.pk).update(slots_taken=F("slots_taken") + 1)
    return assignment


def _to(assignment: Assignment | None) -> HttpResponse:
    if assignment is None:
        return HttpResponse("done")
    return HttpResponseRedirect(f"/b/task/{assignment.pk}/", status=303)


def start(request: HttpRequest, campaign_id: int, annotator_id: int) -> HttpResponse:
    return _to(_lease(campaign_id, annotator_id))


def task(request: HttpRequest, assignment_id: int) -> HttpResponse:
    a = Assignment.objects.select_related("item__prompt").get(pk=assignment_id)
    texts = dict(Response.objects.filter(pk__in=a.presented_order).values_list("id", "text"))
    body = "".join(
        f'<h2 id="resp-{rid}-h">{html.escape(texts[rid])}</h2>' for rid in a.presented_order
    )
    prompt = html.escape(a.item.prompt.text if a.item.prompt else "")
    return HttpResponse(
        f"<p>{prompt}</p>{body}<form method=post action=/b/submit/{a.pk}/>"
        f'<input name="choice"></form>'
    )


@csrf_exempt
def submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    with transaction.atomic():
        a = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("item")
            .get(pk=assignment_id)
        )
        if not Annotation.objects.filter(assignment=a).exists():
            Annotation.objects.create(
                assignment=a,
                item=a.item,
                campaign_id=a.campaign_id,
                annotator_id=a.annotator_id,
                task_type=a.item.task_type,
                payload=dict(request.POST.items()),
            )
            Assignment.objects.filter(pk=a.pk).update(
                status="submitted", finished_at=timezone.now()
            )
            Item.objects.filter(pk=a.item_id).update(n_submitted=F("n_submitted") + 1)
    return _to(_lease(a.campaign_id, a.annotator_id))


urlpatterns = [
    path("b/start/<int:campaign_id>/<int:annotator_id>/", start),
    path("b/task/<int:assignment_id>/", task),
    path("b/submit/<int:assignment_id>/", submit),
]
