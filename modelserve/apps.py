from django.apps import AppConfig


class ModelserveConfig(AppConfig):
    name = "modelserve"
    verbose_name = "Models and training"
    default_auto_field = "django.db.models.BigAutoField"
