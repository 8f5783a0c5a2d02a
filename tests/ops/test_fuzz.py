"""Input robustness: malformed, oversized and hostile input to the submit path (service
and view) and the import commands. Never a 500 or an unexpected exception, never stored
garbage, always a clear error. (The API is fuzzed with schemathesis in tests/annotate/api.)
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotate.models import Annotation, Assignment, Item, TaskType
from annotate.payloads import PayloadContext, PayloadError, validate_payload
from annotate.services import annotation_submit
from annotate.services.errors import ServiceError
from tests.factories import AnnotatorFactory, AssignmentFactory, CampaignFactory, ItemFactory

pytestmark = pytest.mark.django_db
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\x00\x01\x02",
            "\ud7ff\ue000" * 10,
            "A" * 100_000,
            "{{ 7*7 }}",
            "../../etc/passwd",
            "🙂" * 1000,
        ]
    ),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | HOSTILE_TEXT,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)


def _payloads(task_type: str, ids: list[int]) -> st.SearchStrategy[Any]:
    """Near-valid payloads (right keys, wrong values) mixed with arbitrary JSON."""
    rid = st.one_of(st.sampled_from(ids), st.integers(), HOSTILE_TEXT)
    shaped = {
        TaskType.PAIRWISE: st.fixed_dictionaries(
            {"choice": st.one_of(st.sampled_from(["A", "B", "tie", "a", "C", ""]), JSON)},
            optional={"strength": JSON | st.integers(-10, 10), "reason": HOSTILE_TEXT},
        ),
        TaskType.RANKING: st.fixed_dictionaries(
            {"ranking": st.lists(st.one_of(rid, st.lists(rid, max_size=3)), max_size=6)}
        ),
        TaskType.RATING: st.fixed_dictionaries(
            {
                "ratings": st.dictionaries(
                    st.one_of(st.sampled_from([str(i) for i in ids]), st.text(max_size=5)),
                    st.dictionaries(
                        st.sampled_from(["helpfulness", "safety", "x"]), JSON, max_size=3
                    ),
                    max_size=4,
                )
            }
        ),
        TaskType.EDIT: st.fixed_dictionaries(
            {"response_id": rid, "edited_text": st.one_of(HOSTILE_TEXT, JSON)}
        ),
        TaskType.CRITIQUE: st.fixed_dictionaries(
            {"critique": HOSTILE_TEXT, "suggestion": HOSTILE_TEXT, "spans": JSON}
        ),
    }[task_type]
    return st.one_of(shaped, JSON)


@pytest.mark.parametrize(
    "task_type",
    [TaskType.PAIRWISE, TaskType.RANKING, TaskType.RATING, TaskType.EDIT, TaskType.CRITIQUE],
)
def test_service_submit_rejects_garbage_cleanly(task_type):
    campaign = CampaignFactory(overlap=100)
    item = ItemFactory(campaign=campaign, task_type=task_type)
    ids = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
    annotator_count = [0]

    @FUZZ
    @given(payload=_payloads(task_type, ids), time_spent=st.one_of(st.none(), st.integers()))
    def check(payload, time_spent):
        annotator_count[0] += 1
        assignment = AssignmentFactory(item=item, presented_order=ids)
        try:
            annotation, created = annotation_submit(
                assignment_id=assignment.pk,
                annotator=assignment.annotator,
                payload=payload,
                time_spent_ms=time_spent
                if time_spent is None
                else max(-(2**31), min(time_spent, 2**31)),
            )
        except (PayloadError, ServiceError) as exc:
            assert str(exc) or getattr(exc, "errors", None)
            assert not Annotation.objects.filter(assignment=assignment).exists()
            return
        assert created
        # What was stored is itself a valid, normalised payload (no garbage kept).
        again = validate_payload(
            task_type,
            annotation.payload,
            PayloadContext(
                presented_order=ids,
                response_texts=dict(
                    item.item_responses.values_list("response_id", "response__text")
                ),
                rating_range=campaign.rating_range,
                rating_attributes=campaign.rating_attributes,
                critique_categories=campaign.critique_categories,
            ),
        )
        assert again == annotation.payload
        json.dumps(annotation.payload)
        assert 0 <= (annotation.time_spent_ms or 0) <= 86_400_000

    check()


def test_submit_view_never_500s_on_hostile_forms():
    campaign = CampaignFactory(overlap=100)
    items = {
        t: ItemFactory(campaign=campaign, task_type=t)
        for t in (
            TaskType.PAIRWISE,
            TaskType.RANKING,
            TaskType.RATING,
            TaskType.EDIT,
            TaskType.CRITIQUE,
        )
    }
    annotator = AnnotatorFactory()
    client = Client(raise_request_exception=True)
    client.force_login(annotator.user)
    form = st.dictionaries(
        st.one_of(
            st.sampled_from(
                [
                    "choice",
                    "strength",
                    "reason",
                    "edited_text",
                    "response_id",
                    "critique",
                    "suggestion",
                    "spans",
                    "time_spent_ms",
                    "guideline_version_id",
                ]
            ),
            st.text(max_size=20),
        ),
        HOSTILE_TEXT,
        max_size=8,
    )

    @FUZZ
    @given(task_type=st.sampled_from(list(items)), data=form, htmx=st.booleans())
    def check(task_type, data, htmx):
        item = items[task_type]
        ids = list(item.item_responses.order_by("position").values_list("response_id", flat=True))
        assignment = AssignmentFactory(item=item, annotator=annotator, presented_order=ids)
        Item.objects.filter(campaign=campaign).update(slots_taken=0)
        extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.post(reverse("task_submit", args=[assignment.pk]), data, **extra)
        assert response.status_code in (200, 204, 302, 303, 400, 404, 422), response.status_code
        stored = Annotation.objects.filter(assignment=assignment).first()
        if response.status_code in (400, 422):
            assert stored is None
        if stored is not None:
            json.dumps(stored.payload)
        # Start the next example clean: the view leased the next task after the submit,
        # and an annotator may hold each item only once.
        Annotation.objects.filter(annotator=annotator).delete()
        Assignment.objects.filter(annotator=annotator).delete()

    check()


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            JSON.map(json.dumps),
            st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
            st.just('{"chosen": "Human: hi\\n\\nAssistant: ' + "x" * 50_000 + '"}'),
            st.just('{"chosen": 1, "rejected": [1, 2]}'),
            st.just(
                '{"chosen": "\\n\\nHuman: hi\\u0000\\n\\nAssistant: a\\ud800",'
                ' "rejected": "\\n\\nHuman: hi\\u0000\\n\\nAssistant: b"}'
            ),
            st.just(
                '{"id": "x", "task_type": "rating", "messages": [{"role": "user", '
                '"content": "q\\u0000"}], "responses": [{"text": "r"}]}'
            ),
            st.just("\ufeff{}"),
        ),
        min_size=1,
        max_size=6,
    ),
    fmt=st.sampled_from(["hh-rlhf", "jsonl"]),
)
def test_import_command_rejects_garbage_with_a_clear_error(tmp_path_factory, lines, fmt):
    path = tmp_path_factory.mktemp("fuzz") / "in.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    campaign = CampaignFactory()
    before = Item.objects.filter(campaign=campaign).count()
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import_items",
            str(path),
            f"--campaign={campaign.slug}",
            f"--format={fmt}",
            "--no-progress",
            stdout=out,
            stderr=err,
        )
    except CommandError as exc:
        assert str(exc).strip()
        assert Item.objects.filter(campaign=campaign).count() == before  # all or nothing
    else:
        # Accepted rows became well-formed items only.
        for item in Item.objects.filter(campaign=campaign):
            assert item.task_type in TaskType.values
            assert item.item_responses.count() >= 1
