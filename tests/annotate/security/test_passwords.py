"""Password validators are on: sign-up refuses weak passwords with clear errors."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", b"too short"),
        ("password123", b"too common"),
        ("8675309241558", b"entirely numeric"),
        ("maryjones-1", b"too similar"),
    ],
)
def test_signup_refuses_weak_passwords(password, message):
    response = Client().post(
        reverse("signup"),
        {"username": "maryjones", "password1": password, "password2": password},
    )
    assert response.status_code == 400
    assert message in response.content
    assert not get_user_model().objects.filter(username="maryjones").exists()


@pytest.mark.django_db
def test_signup_accepts_a_strong_password():
    response = Client().post(
        reverse("signup"),
        {
            "username": "maryjones",
            "password1": "tidal-ochre-lantern-42",
            "password2": "tidal-ochre-lantern-42",
        },
    )
    assert response.status_code in (302, 303)
    assert get_user_model().objects.filter(username="maryjones").exists()
