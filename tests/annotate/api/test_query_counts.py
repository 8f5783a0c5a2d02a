"""List endpoints run a fixed number of queries, however many rows a page holds."""

from __future__ import annotations

from annotate.models import ExportStatus, TaskType
from modelserve.generation.models import ModelEndpoint
from modelserve.learning.models import PolicyVersion, RewardModelVersion
from tests.factories import CampaignFactory, ItemFactory

from .conftest import label_everything

# Auth (token + user), role lookups (group, annotator), the page, prefetches.
MAX_QUERIES = 8

PATHS = [
    "/api/v1/campaigns/",
    "/api/v1/campaigns/alpha/items/",
    "/api/v1/campaigns/alpha/annotators/",
    "/api/v1/annotations/",
    "/api/v1/annotations/?campaign=alpha&task_type=rating&country=GB",
    "/api/v1/assignments/",
    "/api/v1/model-endpoints/",
    "/api/v1/policy-versions/",
    "/api/v1/reward-model-versions/",
    "/api/v1/exports/",
    "/api/v1/grants/",
]


def _grow(world, n: int) -> None:
    """Add n more of everything listed under alpha."""
    from annotate.models import Export

    from .conftest import annotator_with_profile

    for i in range(n):
        ItemFactory(campaign=world.alpha, task_type=TaskType.RANKING)
        who = annotator_with_profile(f"extra_{n}_{i}", residence_country="GB")
        label_everything(world.alpha, who)
        endpoint = ModelEndpoint.objects.create(name=f"ep-{n}-{i}")
        endpoint.campaigns.add(world.alpha, world.beta)
        PolicyVersion.objects.create(campaign=world.alpha, version=100 * n + i)
        campaign = CampaignFactory(slug=f"grow-{n}-{i}")
        RewardModelVersion.objects.create(campaign=world.alpha, version=100 * n + i)
        campaign.grants.create(user=world.res_a)
        Export.objects.create(
            campaign=world.alpha,
            requested_by=world.admin,
            shape="raw",
            format="jsonl",
            status=ExportStatus.DONE,
        )


def test_list_queries_do_not_grow_with_rows(world, django_assert_max_num_queries):
    client = world.client("admin")
    _grow(world, 2)
    small = {}
    for path in PATHS:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        small[path] = len(response.json()["results"])
    _grow(world, 6)
    for path in PATHS:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = client.get(path)
        assert response.status_code == 200
        assert len(response.json()["results"]) > small[path], path


def test_researcher_annotation_list_is_bounded_too(world, django_assert_max_num_queries):
    _grow(world, 5)
    client = world.client("res_a")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/api/v1/annotations/?campaign=alpha&age_band=25-34")
    assert response.status_code == 200
    # ann_1, ann_2 and the 5 extras are all 25-34 (factory default): 7 x 5 labels.
    assert len(response.json()["results"]) == 35


def test_export_queries_scale_with_chunks_not_rows(world, django_assert_max_num_queries):
    from annotate.selectors import exports as sel

    _grow(world, 10)
    from annotate.exports.privacy import privacy_settings

    privacy = privacy_settings(world.alpha.config)
    # 60 annotations in chunks of 25: publishable (1) + 3 chunks x 2 + final empty (1).
    with django_assert_max_num_queries(8):
        rows = list(
            sel.export_base_rows(
                campaign=world.alpha, filters={}, privacy=privacy, max_id=None, chunk_size=25
            )
        )
    assert len(rows) == 60
