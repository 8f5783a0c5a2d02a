# Issue 17: the language of prompts, items and responses (annotate/input/language.py).
# Existing rows become "und" (undetermined): nothing declared their language.

import annotate.models.content
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotate', '0016_routing'),
    ]

    operations = [
        migrations.AddField(
            model_name='item',
            name='language',
            field=models.CharField(db_index=True, db_default='und', default='und', help_text='BCP 47 language tag, lower case (en, fr, pt-br, zh-hans); und: undetermined.', max_length=35, validators=[annotate.models.content.validate_language]),
        ),
        migrations.AddField(
            model_name='prompt',
            name='language',
            field=models.CharField(db_index=True, db_default='und', default='und', help_text='BCP 47 language tag, lower case (en, fr, pt-br, zh-hans); und: undetermined.', max_length=35, validators=[annotate.models.content.validate_language]),
        ),
        migrations.AddField(
            model_name='response',
            name='language',
            field=models.CharField(db_index=True, db_default='und', default='und', help_text='BCP 47 language tag, lower case (en, fr, pt-br, zh-hans); und: undetermined.', max_length=35, validators=[annotate.models.content.validate_language]),
        ),
    ]
