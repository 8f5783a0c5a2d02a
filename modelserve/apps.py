from django.apps import AppConfig


class ModelserveConfig(AppConfig):
    name = "modelserve"
    verbose_name = "Models and training"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Issue 4: a new lease may drain a campaign's pre-generated pool; top it up.
        from django.db.models.signals import post_save

        from annotate.models import Assignment, Campaign
        from modelserve.signals import assignment_created, campaign_saved

        post_save.connect(
            assignment_created, sender=Assignment, dispatch_uid="modelserve_pool_topup"
        )
        # Refit schedules live in Campaign.config["refit"]; beat reads PeriodicTask rows.
        post_save.connect(campaign_saved, sender=Campaign, dispatch_uid="modelserve_refit_sync")
