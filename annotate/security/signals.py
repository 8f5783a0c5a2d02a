"""Signal handlers: count failed logins, and write the audit log for admin actions,
permission changes, grants, API tokens and exports.

Connected once from ``AnnotateConfig.ready`` via :func:`connect`. Handlers are plain
functions so tests can call them; each audit write joins the transaction of the change
it records, so a rolled-back change leaves no audit row and vice versa.
"""

from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from rest_framework.authtoken.models import Token

from annotate.models import CampaignGrant, Export
from annotate.services.audit import audit_record

from .client_ip import client_ip
from .lockout import login_failure_record, login_success_record

# django.contrib.admin.models ADDITION, CHANGE, DELETION (not imported: the admin app is
# optional, and importing its models without it installed is an error).
_ADMIN_ACTIONS = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}
_USER_FLAGS = ("is_staff", "is_superuser", "is_active")


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    username = credentials.get("username")
    ip = client_ip(request) or None
    for key in login_failure_record(username=username, ip=ip):
        audit_record(action="auth.lockout", target=key, details={"username": username}, ip=ip)


def on_logged_in(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    login_success_record(username=user.get_username())


def on_admin_log(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    if not created or kw.get("raw"):
        return
    ct: Any = instance.content_type if instance.content_type_id else None
    label = f"{ct.app_label}.{ct.model} {instance.object_id}: " if ct is not None else ""
    audit_record(
        actor=instance.user,
        action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        target=f"{label}{instance.object_repr}",
        details={
            "content_type": ct.model if ct is not None else None,
            "object_id": instance.object_id,
            "change_message": instance.get_change_message(),
        },
    )


def on_grant_saved(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    if created and not kw.get("raw"):
        audit_record(
            actor=instance.granted_by,
            action="grant.create",
            target=instance,
            details={"campaign": instance.campaign.slug, "user": instance.user.get_username()},
        )


def on_grant_deleted(sender: Any, instance: Any, **kw: Any) -> None:
    audit_record(
        action="grant.delete",
        target=instance,
        details={"campaign_id": instance.campaign_id, "user_id": instance.user_id},
    )


def on_export_saved(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    if created and not kw.get("raw"):
        audit_record(
            actor=instance.requested_by,
            action="export.create",
            target=instance,
            details={
                "campaign_id": instance.campaign_id,
                "shape": instance.shape,
                "format": instance.format,
                "filters": instance.filters,
                "options": instance.options,
            },
        )


def on_token_saved(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    if created and not kw.get("raw"):
        audit_record(
            action="token.create",
            target=f"API token of {instance.user.get_username()}",
            details={"user_id": instance.user_id},
        )


def on_user_pre_save(sender: Any, instance: Any, **kw: Any) -> None:
    fields = kw.get("update_fields")
    if fields is not None and not set(fields) & set(_USER_FLAGS):
        return  # e.g. the last_login update on every log-in: no extra query
    if instance.pk and not kw.get("raw"):
        old = sender.objects.filter(pk=instance.pk).values(*_USER_FLAGS).first()
        instance._chorus_old_flags = old


def on_user_saved(sender: Any, instance: Any, created: bool, **kw: Any) -> None:
    old = getattr(instance, "_chorus_old_flags", None)
    if created or old is None:
        if created and (instance.is_staff or instance.is_superuser):
            audit_record(
                action="permission.user_flags",
                target=instance,
                details={f: [None, getattr(instance, f)] for f in _USER_FLAGS},
            )
        return
    changed = {
        f: [old[f], getattr(instance, f)] for f in _USER_FLAGS if old[f] != getattr(instance, f)
    }
    instance._chorus_old_flags = None
    if changed:
        audit_record(action="permission.user_flags", target=instance, details=changed)


def _m2m_audit(label: str, names_of: Any) -> Any:
    def handler(
        sender: Any,
        instance: Any,
        action: str,
        reverse: bool,
        model: Any,
        pk_set: set[Any] | None,
        **kw: Any,
    ) -> None:
        if action not in ("post_add", "post_remove", "pre_clear"):
            return
        if action == "pre_clear":
            # The ids are gone after the clear; read them now.
            related = getattr(instance, names_of, None) if not reverse else None
            pk_set = set(related.values_list("pk", flat=True)) if related is not None else set()
        audit_record(
            action=f"{label}.{action.split('_', 1)[1]}",
            target=instance,
            details={
                "model": model._meta.label_lower,
                "ids": sorted(pk_set or []),
                "names": sorted(str(o) for o in model.objects.filter(pk__in=pk_set or [])),
            },
        )

    return handler


def on_request_exception(sender: Any, request: Any = None, **kw: Any) -> None:
    """Mark requests that failed because the database is unreachable (middleware -> 503)."""
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, OperationalError | InterfaceError):
        request._chorus_db_unavailable = True


on_groups_changed = _m2m_audit("permission.groups", "groups")
on_user_perms_changed = _m2m_audit("permission.user_permissions", "user_permissions")
on_group_perms_changed = _m2m_audit("permission.group_permissions", "permissions")


def connect(*, admin_log_entry: Any = None) -> None:
    """Connect every handler. ``admin_log_entry`` is django.contrib.admin's LogEntry when
    the admin is installed (importable only then, so AnnotateConfig.ready passes it)."""
    User = get_user_model()
    uid = "chorus_security_"
    user_login_failed.connect(on_login_failed, dispatch_uid=uid + "login_failed")
    user_logged_in.connect(on_logged_in, dispatch_uid=uid + "logged_in")
    if admin_log_entry is not None:
        post_save.connect(on_admin_log, sender=admin_log_entry, dispatch_uid=uid + "admin_log")
    post_save.connect(on_grant_saved, sender=CampaignGrant, dispatch_uid=uid + "grant_saved")
    post_delete.connect(on_grant_deleted, sender=CampaignGrant, dispatch_uid=uid + "grant_del")
    post_save.connect(on_export_saved, sender=Export, dispatch_uid=uid + "export")
    post_save.connect(on_token_saved, sender=Token, dispatch_uid=uid + "token")
    pre_save.connect(on_user_pre_save, sender=User, dispatch_uid=uid + "user_pre")
    post_save.connect(on_user_saved, sender=User, dispatch_uid=uid + "user_post")
    m2m_changed.connect(on_groups_changed, sender=User.groups.through, dispatch_uid=uid + "groups")
    m2m_changed.connect(
        on_user_perms_changed, sender=User.user_permissions.through, dispatch_uid=uid + "uperms"
    )
    m2m_changed.connect(
        on_group_perms_changed, sender=Group.permissions.through, dispatch_uid=uid + "gperms"
    )
    got_request_exception.connect(on_request_exception, dispatch_uid=uid + "db_down")
