"""Issue 13: check every stored Campaign.config against the typed schema.

Safe fixes are stored (nulls dropped, "3" -> 3; annotate.campaign_config.repair); a
config that cannot be fixed is left as it is and printed, so the operator sees which
campaign and key to correct in the admin. Reversing does nothing (the fixes are lossless).
"""

import sys

from django.db import migrations

from annotate.campaign_config.repair import config_repair, repair_report


def check_configs(apps, schema_editor):
    Campaign = apps.get_model("annotate", "Campaign")
    for campaign in Campaign.objects.order_by("pk").only("pk", "slug", "config"):
        repair = config_repair(campaign.config)
        if repair.changed:
            Campaign.objects.filter(pk=campaign.pk).update(config=repair.config)
        line = repair_report(campaign.slug, repair)
        if line:
            sys.stdout.write(f"\n  {line}")


class Migration(migrations.Migration):
    dependencies = [("annotate", "0009_languages_ui_guidelines_consent")]

    operations = [migrations.RunPython(check_configs, migrations.RunPython.noop)]
