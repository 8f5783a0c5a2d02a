"""The generation ledger and model registry in the admin: visible failures, retry action."""

import pytest
from django.urls import reverse

from modelserve.generation.models import GenerationRequest, GenerationStatus
from tests.factories import CampaignFactory, ModelEndpointFactory, PromptFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_failed_request_is_visible_and_retryable(staff_client, django_capture_on_commit_callbacks):
    campaign = CampaignFactory()
    endpoint = ModelEndpointFactory(name="visible-endpoint", pool=[campaign])
    req = GenerationRequest.objects.create(
        campaign=campaign,
        prompt=PromptFactory(campaign=campaign),
        endpoint=endpoint,
        purpose="pool",
        batch="b1",
        status=GenerationStatus.FAILED,
        attempts=4,
        error="attempt 4: HTTP 503: server overloaded",
    )
    listing = staff_client.get(reverse("admin:modelserve_generationrequest_changelist"))
    assert listing.status_code == 200
    assert b"HTTP 503: server overloaded" in listing.content
    detail = staff_client.get(reverse("admin:modelserve_generationrequest_change", args=[req.pk]))
    assert detail.status_code == 200
    with django_capture_on_commit_callbacks() as callbacks:
        done = staff_client.post(
            reverse("admin:modelserve_generationrequest_changelist"),
            {"action": "retry_failed", "_selected_action": [req.pk]},
        )
    assert done.status_code == 302 and len(callbacks) == 1
    req.refresh_from_db()
    assert req.status == GenerationStatus.PENDING and req.error == ""


def test_endpoint_admin_pages(staff_client):
    endpoint = ModelEndpointFactory(name="admin-sees-this")
    listing = staff_client.get(reverse("admin:modelserve_modelendpoint_changelist"))
    assert listing.status_code == 200 and b"admin-sees-this" in listing.content
    page = staff_client.get(reverse("admin:modelserve_modelendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200 and b"api_key_env" in page.content
