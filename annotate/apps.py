from typing import Any

from django.apps import AppConfig


def _ensure_roles(sender: Any, **kwargs: Any) -> None:
    """The researcher group exists on every install, so an admin can put a user in it on
    the admin site without seeding the demo first (a fresh install had no such group)."""
    from django.contrib.auth.models import Group

    from annotate.roles import RESEARCHER_GROUP

    Group.objects.using(kwargs.get("using") or "default").get_or_create(name=RESEARCHER_GROUP)


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Issue 8: login lockout counting, the audit log hooks and its admin page.
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from annotate.i18n.signals import connect as connect_i18n
        from annotate.security import checks as _security_checks  # noqa: F401
        from annotate.security.signals import connect

        if apps.is_installed("django.contrib.admin"):
            from annotate.security import admin as _security_admin  # noqa: F401

        connect()
        connect_i18n()
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="annotate_ensure_roles")
