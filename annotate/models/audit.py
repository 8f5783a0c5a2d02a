"""Security records: the audit log and the login throttle (issue 8).

``AuditEvent`` is append-only: nothing in the app updates or deletes a row (the admin
shows it read-only). ``LoginThrottle`` counts failed logins per key ("u:<username>" or
"ip:<address>") in the database, so every web process sees the same counts; a cache
would give an attacker one budget per gunicorn worker when the cache is local memory.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from config.jsonutil import JSONEncoder


class AuditEvent(models.Model):
    # Who did it. Kept as text too, so the record survives the user's deletion.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_repr = models.CharField(max_length=200, blank=True)
    # Dotted verb, e.g. "admin.change", "export.create", "grant.delete", "auth.lockout".
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True, encoder=JSONEncoder)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_repr or '-'} {self.action}"


class LoginThrottle(models.Model):
    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    # Start of the counting window; failures older than the window are forgotten.
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} failures"
