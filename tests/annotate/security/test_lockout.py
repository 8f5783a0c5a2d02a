"""Login rate limiting: lockout after repeated failures, per username and per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from annotate.models import AuditEvent, LoginThrottle
from annotate.security.lockout import login_failure_record, login_locked_until
from tests.factories import UserFactory

PASSWORD = "correct-horse-battery"


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
@override_settings(CHORUS_LOGIN_MAX_FAILURES=5)
def test_account_locks_after_five_failures_and_says_so():
    user = UserFactory()
    client = Client()
    for _ in range(4):
        response = _login(client, user.username, "wrong-guess")
        assert response.status_code == 200
        assert b"Too many failed" not in response.content
    response = _login(client, user.username, "wrong-guess")
    assert b"Too many failed log-in attempts" in response.content
    # Even the right password is refused while locked, from any address.
    response = _login(Client(), user.username, PASSWORD, ip="10.9.9.9")
    assert b"Too many failed log-in attempts" in response.content
    assert not _logged_in(client)
    assert AuditEvent.objects.filter(
        action="auth.lockout", target_repr=f"u:{user.username}"
    ).exists()


@pytest.mark.django_db
def test_lock_expires_and_success_resets_the_count():
    user = UserFactory()
    for _ in range(5):
        login_failure_record(username=user.username, ip=None)
    assert login_locked_until(username=user.username, ip=None) is not None
    LoginThrottle.objects.filter(key=f"u:{user.username}").update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )
    client = Client()
    _login(client, user.username, PASSWORD)
    assert _logged_in(client)
    assert not LoginThrottle.objects.filter(key=f"u:{user.username}").exists()


@pytest.mark.django_db
def test_failures_outside_the_window_are_forgotten():
    user = UserFactory()
    for _ in range(4):
        login_failure_record(username=user.username, ip=None)
    LoginThrottle.objects.filter(key=f"u:{user.username}").update(
        window_start=timezone.now() - timedelta(hours=1)
    )
    login_failure_record(username=user.username, ip=None)
    assert login_locked_until(username=user.username, ip=None) is None
    assert LoginThrottle.objects.get(key=f"u:{user.username}").failures == 1


@pytest.mark.django_db
@override_settings(CHORUS_LOGIN_IP_MAX_FAILURES=6)
def test_password_spraying_from_one_address_is_locked():
    users = [UserFactory() for _ in range(7)]
    client = Client()
    for user in users[:6]:
        _login(client, user.username, "Summer2024!", ip="10.6.6.6")
    # A seventh account, never tried, is refused from that address...
    response = _login(client, users[6].username, PASSWORD, ip="10.6.6.6")
    assert b"Too many failed" in response.content
    assert not _logged_in(client)
    # ...but its owner elsewhere is not.
    other = Client()
    _login(other, users[6].username, PASSWORD, ip="10.7.7.7")
    assert _logged_in(other)


@pytest.mark.django_db
def test_admin_login_is_throttled_too():
    admin = UserFactory(is_staff=True, is_superuser=True)
    for _ in range(5):
        Client().post(
            reverse("admin:login"),
            {"username": admin.username, "password": "nope"},
            REMOTE_ADDR="10.1.1.1",
        )
    client = Client()
    client.post(
        reverse("admin:login"),
        {"username": admin.username, "password": PASSWORD},
        REMOTE_ADDR="10.2.2.2",
    )
    assert not _logged_in(client)


@pytest.mark.django_db
def test_username_case_shares_one_budget():
    UserFactory(username="casey")
    for name in ("casey", "Casey", "CASEY", "cAsey", "caseY"):
        _login(Client(), name, "wrong")
    assert login_locked_until(username="casey", ip=None) is not None


@pytest.mark.django_db
@override_settings(CHORUS_LOGIN_IP_MAX_FAILURES=3)
def test_a_spoofed_forwarded_header_from_an_untrusted_client_is_ignored():
    """No trusted proxy: X-Forwarded-For is the client's own words; its peer address counts."""
    for n in range(3):
        Client().post(
            reverse("login"),
            {"username": f"nobody{n}", "password": "x"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",  # a fresh address per guess
        )
    assert login_locked_until(username=None, ip="203.0.113.7") is not None
    assert not LoginThrottle.objects.filter(key__startswith="ip:198.51.100.").exists()


@pytest.mark.django_db
@override_settings(CHORUS_TRUSTED_PROXIES=["10.0.0.0/8"], CHORUS_LOGIN_IP_MAX_FAILURES=30)
def test_behind_a_trusted_proxy_clients_are_counted_apart():
    """30 failures from one client behind the proxy do not lock out another one."""

    def via_proxy(client, username, password, forwarded):
        return client.post(
            reverse("login"),
            {"username": username, "password": password},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"{forwarded}, 10.1.1.1",  # two proxies in the chain
        )

    for n in range(30):
        via_proxy(Client(), f"sprayed{n}", "wrong", "198.51.100.1")
    assert login_locked_until(username=None, ip="198.51.100.1") is not None
    assert login_locked_until(username=None, ip="10.0.0.2") is None
    user = UserFactory()
    refused = Client()
    via_proxy(refused, user.username, PASSWORD, "198.51.100.1")
    assert not _logged_in(refused)
    other = Client()
    via_proxy(other, user.username, PASSWORD, "198.51.100.2")
    assert _logged_in(other)
