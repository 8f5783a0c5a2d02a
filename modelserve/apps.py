from django.apps import AppConfig


class ModelserveConfig(AppConfig):
    name = "modelserve"
    verbose_name = "Models and training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's documented hook: this module is imported while the app registry is
        # still loading, so the listener modules (which import models) and the Celery
        # task modules are imported here, once models are ready.
        from modelserve.generation import listeners as generation_listeners
        from modelserve.generation import tasks as _generation_tasks  # noqa: F401
        from modelserve.learning import listeners as learning_listeners
        from modelserve.learning import tasks as _learning_tasks  # noqa: F401

        # Importing the task modules registers every task in each process, so services
        # can enqueue them by name (annotate.tasks_util.enqueue) without importing them.
        generation_listeners.connect()
        learning_listeners.connect()
