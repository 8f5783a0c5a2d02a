"""The password backend: Django's ModelBackend behind the login lockout.

Listed first in AUTHENTICATION_BACKENDS so every password login (the annotator log-in
page, the admin log-in, anything calling ``authenticate``) is throttled. It raises
PermissionDenied both for a locked key and for a wrong password: ``authenticate`` then
stops at once (ModelBackend, listed after it only so that sessions created with
``login(..., backend="...ModelBackend")`` stay valid, does not hash the password a second
time) and sends ``user_login_failed``, which counts the failure (security.signals).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .client_ip import client_ip
from .lockout import login_locked_until

# The backend a session records when a view logs someone in without a password (sign-up,
# join links): this one, so that later requests load the user with its annotator.
SESSION_BACKEND = "annotate.security.backends.ThrottledModelBackend"


class ThrottledModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """The session's user with its Annotator in the same query (every annotator
        request needs both; annotate.roles.annotator_of reads the joined row)."""
        UserModel = get_user_model()
        try:
            user = UserModel._default_manager.select_related("annotator").get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        name = username if username is not None else kwargs.get("username")
        if password is None or name is None:
            return None  # not a password login; let other backends try
        if login_locked_until(username=name, ip=client_ip(request)) is not None:
            raise PermissionDenied("locked out")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            raise PermissionDenied("invalid credentials")
        return user
