from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Issue 8: login lockout counting, the audit log hooks and its admin page.
        from django.apps import apps

        from annotate.security.signals import connect

        if apps.is_installed("django.contrib.admin"):
            from annotate.security import admin as _security_admin  # noqa: F401

        connect()
