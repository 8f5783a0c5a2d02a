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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import HttpRequest

from annotate.models import Annotator
from annotate.selectors.sql_rows import cache_related, columns, table

from .client_ip import client_ip
from .lockout import login_locked_until

# The backend a session records when a view logs someone in without a password (sign-up,
# join links): this one, so that later requests load the user with its annotator.
SESSION_BACKEND = "annotate.security.backends.ThrottledModelBackend"


def user_with_annotator(user_id: Any) -> Any:
    """The user with its Annotator (or the cached knowledge that it has none), as
    ``select_related("annotator")`` would give them, in one hand-written query: every
    request of a logged-in person runs it, and the ORM spent more CPU building it than
    PostgreSQL spent answering (issue 14; annotate.selectors.sql_rows)."""
    UserModel = get_user_model()
    try:
        pk = UserModel._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    users, annotators = columns(UserModel), columns(Annotator)
    sql = (
        f"SELECT {users.select('u')}, {annotators.select('n')} FROM {table(UserModel)} u "
        f"LEFT JOIN {table(Annotator)} n ON n.user_id = u.id WHERE u.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    user = users.build(row)
    annotator = None if row[len(users)] is None else annotators.build(row, len(users))
    # The reverse one-to-one's cache: None makes ``user.annotator`` raise DoesNotExist
    # without a query, as after select_related.
    UserModel.annotator.related.set_cached_value(user, annotator)
    if annotator is not None:
        cache_related(annotator, "user", user)
    return user


class ThrottledModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        """The session's user with its Annotator in the same query (every annotator
        request needs both; annotate.roles.annotator_of reads the joined row)."""
        user = user_with_annotator(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

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
