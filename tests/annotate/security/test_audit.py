"""The audit log: admin actions, permission changes, grants, exports, tokens."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from annotate.models import AuditEvent, CampaignGrant, Export
from annotate.services.audit import audit_record
from tests.factories import UserFactory


@pytest.fixture
def admin_client(db):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    client.admin = admin
    return client


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_admin_change_and_flag_change_are_recorded(admin_client):
    victim = UserFactory()
    url = reverse("admin:auth_user_change", args=[victim.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list)}
    data.update(
        {
            "username": victim.username,
            "is_staff": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    data.pop("password", None)
    data.pop("last_login", None)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    flags = AuditEvent.objects.get(action="permission.user_flags", target_id=str(victim.pk))
    assert flags.details["is_staff"] == [False, True]
    assert flags.actor == admin_client.admin
    change = AuditEvent.objects.get(action="admin.change")
    assert change.actor == admin_client.admin
    assert victim.username in change.target_repr


@pytest.mark.django_db
def test_group_and_permission_changes_are_recorded(world):
    group = Group.objects.create(name="auditors")
    world.a.user.groups.add(group)
    world.a.user.groups.remove(group)
    perm = Permission.objects.first()
    group.permissions.add(perm)
    world.a.user.user_permissions.add(perm)
    actions = _actions()
    for expected in (
        "permission.groups.add",
        "permission.groups.remove",
        "permission.group_permissions.add",
        "permission.user_permissions.add",
    ):
        assert expected in actions, (expected, actions)
    event = AuditEvent.objects.filter(
        action="permission.groups.add", target_id=str(world.a.user.pk)
    ).get()
    assert event.details["names"] == ["auditors"]


@pytest.mark.django_db
def test_grants_and_exports_are_recorded(world):
    granter = UserFactory(is_staff=True)
    grant = CampaignGrant.objects.create(
        campaign=world.other_campaign, user=world.researcher, granted_by=granter
    )
    created = AuditEvent.objects.get(action="grant.create", target_id=str(grant.pk))
    assert created.actor == granter
    assert created.details["campaign"] == world.other_campaign.slug
    grant.delete()
    assert AuditEvent.objects.filter(action="grant.delete").exists()
    export = Export.objects.create(
        campaign=world.campaign,
        requested_by=world.researcher,
        shape="pairwise",
        format="jsonl",
        filters={"min_agreement": 0.5},
    )
    event = AuditEvent.objects.get(action="export.create")
    assert event.actor == world.researcher
    assert event.target_id == str(export.pk)
    assert event.details["filters"] == {"min_agreement": 0.5}


@pytest.mark.django_db
def test_api_grant_and_export_record_the_caller(world):
    """Through the real API: the actor is the token/session user of the request."""
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/api/v1/grants/create/",
        {"campaign": world.other_campaign.slug, "user": world.researcher.username},
        content_type="application/json",
    )
    assert response.status_code in (200, 201), response.content
    event = AuditEvent.objects.get(action="grant.create", actor=admin)
    assert event.details["user"] == world.researcher.username
    researcher = Client()
    researcher.force_login(world.researcher)
    response = researcher.get(
        f"/api/v1/campaigns/{world.campaign.slug}/export?shape=raw&format=jsonl"
    )
    assert response.status_code == 200, response.content[:500]
    if response.streaming:
        b"".join(response.streaming_content)
    assert AuditEvent.objects.filter(action="export.create", actor=world.researcher).exists()


@pytest.mark.django_db
def test_audit_admin_is_read_only(admin_client):
    event = audit_record(action="test.event", target="something", details={"k": 1})
    changelist = admin_client.get(reverse("admin:annotate_auditevent_changelist"))
    assert changelist.status_code == 200
    assert b"test.event" in changelist.content
    assert admin_client.get(reverse("admin:annotate_auditevent_add")).status_code == 403
    url = reverse("admin:annotate_auditevent_change", args=[event.pk])
    assert admin_client.get(url).status_code == 200  # view only
    admin_client.post(url, {"action": "tampered"})
    event.refresh_from_db()
    assert event.action == "test.event"
    delete = reverse("admin:annotate_auditevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
