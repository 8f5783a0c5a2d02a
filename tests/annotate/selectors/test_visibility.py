"""Authorization, visibility and privacy reads: who sees what, in a fixed number of queries
whatever the number of rows (the API endpoints only call these selectors)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotate.exports.privacy import privacy_settings
from annotate.models import Annotation, Assignment
from annotate.roles import annotator_of, is_admin, is_researcher
from annotate.selectors.annotations import annotations_for_api, campaign_of_annotations
from annotate.selectors.annotators import annotator_profiles
from annotate.selectors.assignments import assignments_visible_to
from annotate.selectors.items import items_of_campaign
from modelserve.generation.models import ModelEndpoint
from modelserve.generation.selectors import endpoints_visible_to
from modelserve.learning.models import PolicyVersion, RewardModelVersion
from modelserve.learning.selectors import versions_visible_to
from tests.annotate.api.conftest import annotator_with_profile, label_everything
from tests.annotate.api.conftest import world as world  # the fixture

pytestmark = pytest.mark.django_db


def _user(world: Any, who: str) -> Any:
    person = getattr(world, who)
    user = getattr(person, "user", person)
    # Role lookups are cached on the user object (once per request): warm them, so the
    # counts below are the selector's own queries.
    is_admin(user), is_researcher(user), annotator_of(user)
    return user


def _queries(run: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        run()
    return len(ctx.captured_queries)


def _grow(world: Any, n: int) -> None:
    for i in range(n):
        who = annotator_with_profile(f"grown-{n}-{i}", residence_country="GB")
        label_everything(world.alpha, who)
        label_everything(world.beta, who)
        endpoint = ModelEndpoint.objects.create(name=f"grown-{n}-{i}")
        endpoint.campaigns.add(world.alpha, world.beta)
        for campaign in (world.alpha, world.beta):
            PolicyVersion.objects.create(campaign=campaign, version=100 * n + i)
            RewardModelVersion.objects.create(campaign=campaign, version=100 * n + i)


def _read_annotations(user: Any) -> list[Any]:
    return [
        (a.campaign.slug, a.annotator.pseudonym, a.guideline_version, a.profile_version)
        for a in annotations_for_api(user=user)
    ]


def test_annotations_are_scoped_by_role(world):
    alpha_ids = set(world.alpha.annotations.values_list("pk", flat=True))
    own = {a.pk for a in world.labels["ann_1"]}
    seen = {
        who: set(annotations_for_api(user=_user(world, who)).values_list("pk", flat=True))
        for who in ("admin", "res_a", "res_b", "ann_1")
    }
    assert seen["admin"] == set(Annotation.objects.values_list("pk", flat=True))
    assert seen["res_a"] == alpha_ids and seen["res_b"].isdisjoint(alpha_ids)
    assert seen["ann_1"] == own
    rating_gb = annotations_for_api(
        user=_user(world, "res_a"),
        campaign=world.alpha,
        filters={"task_type": ["rating"], "profile": {"residence_country": ["GB"]}},
    )
    assert [a.annotator_id for a in rating_gb] == [world.ann_1.pk]


def test_a_campaign_is_open_to_its_researchers_and_to_annotators_with_labels_in_it(world):
    def slug_for(who: str, slug: str) -> str | None:
        found = campaign_of_annotations(user=_user(world, who), slug=slug)
        return None if found is None else found.slug

    assert slug_for("admin", "beta") == "beta"
    assert slug_for("res_a", "alpha") == "alpha" and slug_for("res_a", "beta") is None
    assert slug_for("ann_3", "beta") == "beta" and slug_for("ann_3", "alpha") is None
    assert slug_for("ann_1", "nope") is None


def test_assignments_are_scoped_by_role(world):
    alpha = set(Assignment.objects.filter(campaign=world.alpha).values_list("pk", flat=True))
    assert set(assignments_visible_to(user=_user(world, "res_a")).values_list("pk", flat=True)) == (
        alpha
    )
    mine = assignments_visible_to(user=_user(world, "ann_3"))
    assert {a.annotator_id for a in mine} == {world.ann_3.pk}
    assert assignments_visible_to(user=_user(world, "admin")).count() == Assignment.objects.count()
    assert not assignments_visible_to(user=_user(world, "res_b"), campaign_slug="alpha").exists()


def test_annotator_profiles_publish_only_values_k_annotators_share(world):
    privacy = privacy_settings(world.alpha.config)  # k = 2
    rows = annotator_profiles(campaign=world.alpha, privacy=privacy, limit=500)
    assert [r["annotator_id"] for r in rows] == sorted(
        [world.ann_1.pseudonym, world.ann_2.pseudonym]
    )
    for row in rows:
        assert row["n_annotations"] == 5 and not row["deleted"]
        # GB and FR are held by one annotator each: suppressed; 25-34 by both: kept.
        assert row["profile"]["residence_country"] is None
        assert row["profile"]["age_band"] == "25-34"
    assert len(annotator_profiles(campaign=world.alpha, privacy=privacy, limit=1)) == 1


def test_model_registry_reads_are_scoped_by_grant(world):
    shared = ModelEndpoint.objects.create(name="shared")
    shared.campaigns.add(world.alpha, world.beta)
    only_beta = ModelEndpoint.objects.create(name="beta-only")
    only_beta.campaigns.add(world.beta)
    PolicyVersion.objects.create(campaign=world.alpha, version=1)
    PolicyVersion.objects.create(campaign=world.beta, version=1)
    res_a = _user(world, "res_a")
    endpoints = list(endpoints_visible_to(user=res_a))
    assert [e.name for e in endpoints] == ["shared"]
    # The other campaigns an endpoint serves are not revealed.
    assert [c.slug for c in endpoints[0].campaigns.all()] == ["alpha"]
    assert {e.name for e in endpoints_visible_to(user=_user(world, "admin"))} == {
        "shared",
        "beta-only",
    }
    assert [v.campaign.slug for v in versions_visible_to(user=res_a, model=PolicyVersion)] == [
        "alpha"
    ]
    assert not versions_visible_to(user=res_a, model=PolicyVersion, campaign_slug="beta").exists()


@pytest.mark.parametrize("who", ["admin", "res_a", "ann_1"])
def test_query_counts_do_not_grow_with_rows(world, who):
    user = _user(world, who)
    privacy = privacy_settings(world.alpha.config)
    reads = {
        "annotations": (1, lambda: _read_annotations(user)),
        "campaign of annotations": (1, lambda: campaign_of_annotations(user=user, slug="alpha")),
        "assignments": (
            1,
            lambda: [a.campaign.slug for a in assignments_visible_to(user=user)],
        ),
        "annotator profiles": (
            1,
            lambda: annotator_profiles(campaign=world.alpha, privacy=privacy, limit=500),
        ),
        "items": (
            2,
            lambda: [
                [ir.response.text for ir in i.item_responses.all()] + [i.prompt.text]
                for i in items_of_campaign(campaign=world.alpha)
            ],
        ),
        "endpoints": (
            2,
            lambda: [[c.slug for c in e.campaigns.all()] for e in endpoints_visible_to(user=user)],
        ),
        "policy versions": (
            1,
            lambda: [v.campaign for v in versions_visible_to(user=user, model=PolicyVersion)],
        ),
    }
    _grow(world, 1)
    before = {name: _queries(run) for name, (_, run) in reads.items()}
    _grow(world, 4)
    after = {name: _queries(run) for name, (_, run) in reads.items()}
    assert after == before
    # At most the stated number (none at all where the role sees nothing: the scope is
    # an empty set, so Django sends no query).
    assert all(before[name] <= n for name, (n, _) in reads.items()), before
    assert before["annotations"] == before["campaign of annotations"] == 1
