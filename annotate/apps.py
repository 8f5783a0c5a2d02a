from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    name = "annotate"
    verbose_name = "Annotation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's documented hook: this module is imported while the app registry is
        # still loading, so everything that imports models is imported here, once models
        # are ready. django.contrib.admin's LogEntry is importable only when the admin is
        # installed.
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from annotate import listeners
        from annotate import tasks as _tasks  # noqa: F401  (registers the tasks by name)
        from annotate.i18n.signals import connect as connect_i18n
        from annotate.roles import roles_ensure
        from annotate.security import checks as _security_checks  # noqa: F401
        from annotate.security import signals as security_signals

        log_entry = None
        if apps.is_installed("django.contrib.admin"):
            # Optional app: its models import only when it is installed.
            from django.contrib.admin.models import LogEntry

            from annotate.input.admin import admin_json_fields_bounded  # the admin's forms
            from annotate.security import admin as _security_admin  # noqa: F401

            log_entry = LogEntry
            # Issue 13: every admin JSON textarea parses through the input boundary.
            admin_json_fields_bounded()
        # Issue 8: login lockout counting, the audit log hooks and its admin page.
        security_signals.connect(admin_log_entry=log_entry)
        listeners.connect()
        connect_i18n()
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="annotate_ensure_roles")
