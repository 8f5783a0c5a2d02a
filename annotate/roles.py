"""Who is who: the three roles every permission check is phrased in.

- admin: ``user.is_staff``; sees and changes everything.
- researcher: member of the Django group ``researcher``; reads the campaigns they hold a
  ``CampaignGrant`` for, nothing else.
- annotator: has an ``Annotator`` row; sees only their own assignments and annotations.

A user may hold several roles (an admin who also annotates). These helpers never hit the
database more than once per request for the same question: group membership is cached on
the user object.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, Group

from annotate.models import Annotator

RESEARCHER_GROUP = "researcher"

UserLike = Any  # AbstractBaseUser | AnonymousUser; the stubs make the union awkward


def is_admin(user: UserLike) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def is_researcher(user: UserLike) -> bool:
    if not user or not user.is_authenticated or isinstance(user, AnonymousUser):
        return False
    cached = getattr(user, "_chorus_is_researcher", None)
    if cached is None:
        cached = user.groups.filter(name=RESEARCHER_GROUP).exists()
        user._chorus_is_researcher = cached
    return bool(cached)


def annotator_of(user: UserLike) -> Any:
    """The user's ``Annotator`` or None (one query, cached on the user; none when the
    session's user was loaded with it, annotate.security.backends)."""
    if not user or not user.is_authenticated:
        return None
    if not hasattr(user, "_chorus_annotator"):
        joined = Annotator.user.field.remote_field  # the reverse side: user.annotator
        if joined.is_cached(user):
            user._chorus_annotator = joined.get_cached_value(user)
        else:
            user._chorus_annotator = Annotator.objects.filter(user=user).first()
    return user._chorus_annotator


def is_annotator(user: UserLike) -> bool:
    return annotator_of(user) is not None


def roles_of(user: UserLike) -> list[str]:
    roles = []
    if is_admin(user):
        roles.append("admin")
    if is_researcher(user):
        roles.append("researcher")
    if is_annotator(user):
        roles.append("annotator")
    return roles


def roles_ensure(sender: Any, **kwargs: Any) -> None:
    """``post_migrate`` handler: the researcher group exists on every install, so an admin
    can put a user in it on the admin site without seeding the demo first (a fresh
    install had no such group)."""
    Group.objects.using(kwargs.get("using") or "default").get_or_create(name=RESEARCHER_GROUP)
