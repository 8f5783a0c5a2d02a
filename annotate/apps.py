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
            from annotate.input.admin import admin_json_fields_bounded
            from annotate.security import admin as _security_admin  # noqa: F401

            # Issue 13: the admin's JSON textareas parse through the input boundary.
            admin_json_fields_bounded()

        connect()
        connect_i18n()
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="annotate_ensure_roles")
        # Issue 13: campaign completion and outgoing webhooks listen to annotate.events.
        from annotate import events
        from annotate.services import campaign_done
        from annotate.webhooks import listeners as webhook_listeners

        events.labels_received.connect(
            campaign_done.on_labels_received, dispatch_uid="annotate_campaign_done"
        )
        webhook_listeners.connect()
