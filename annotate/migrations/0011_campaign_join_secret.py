"""Issue 13: a per-campaign secret that signs crowd join links.

Added with an empty default, then one fresh secret per existing campaign (a callable
default would give every existing row the same value), then the callable default."""

from django.db import migrations, models

import annotate.models.campaign


def fill_secrets(apps, schema_editor):
    Campaign = apps.get_model("annotate", "Campaign")
    for campaign in Campaign.objects.only("pk"):
        Campaign.objects.filter(pk=campaign.pk).update(
            join_secret=annotate.models.campaign.new_join_secret()
        )


class Migration(migrations.Migration):
    dependencies = [("annotate", "0010_campaign_config_checked")]

    operations = [
        migrations.AddField(
            model_name="campaign",
            name="join_secret",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(fill_secrets, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="campaign",
            name="join_secret",
            field=models.CharField(
                default=annotate.models.campaign.new_join_secret, editable=False, max_length=64
            ),
        ),
    ]
