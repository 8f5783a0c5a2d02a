from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Issue 8: login lockout counting, the audit log hooks and its admin page.
        from annotate.security import admin as _security_admin  # noqa: F401
        from annotate.security.signals import connect

        connect()
