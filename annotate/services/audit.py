"""The audit log: who changed what, exported what, granted what (issue 8).

``audit_record`` is the one writer. Django admin actions, exports, grants, group and
permission changes and login lockouts reach it through signal handlers
(annotate.security.signals); code elsewhere may call it directly, e.g.
``audit_record(actor=request.user, action="export.download", target=export)``.

The acting user and client address of the current request are kept in a context
variable by ``annotate.security.middleware.AuditContextMiddleware``, so a signal fired
deep inside a service is still attributed to the person who caused it.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from django.db import models

from annotate.models import AuditEvent
from annotate.security.client_ip import client_ip

logger = logging.getLogger(__name__)

# The HttpRequest being served by this thread (None in tasks and commands). The user is
# read when an event is recorded: DRF sets request.user only once the view authenticates.
current_request: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "chorus_audit_request", default=None
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def audit_record(
    *,
    actor: Any = None,
    action: str,
    target: Any = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one event. ``actor`` None means "whoever the current request is for".

    ``target`` may be a model instance (type, pk and str() are stored) or a plain string.
    """
    request = current_request.get()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if ip is None and request is not None:
        ip = client_ip(request) or None
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    target_type = target_id = target_repr = ""
    if isinstance(target, models.Model):
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_repr = str(target)[:200]
    elif target is not None:
        target_repr = str(target)[:200]
    return AuditEvent.objects.create(
        actor=actor,
        actor_repr=(actor.get_username() if actor is not None else "")[:200],
        action=action[:64],
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        details=_json_safe(details or {}),
        ip=ip or None,
    )
