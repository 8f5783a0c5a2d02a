"""Every JSON textarea of the admin site parses through the input boundary.

Django's admin builds a ``forms.JSONField`` for each model JSONField, which parses with a
bare ``json.loads``: a deeply nested document was a RecursionError (a 500) and a
``"\\u0000"`` reached PostgreSQL. ``admin_json_fields_bounded`` swaps in
annotate.input.forms.BoundedJSONField for every ModelAdmin already registered (any app)
and for those made later (inlines are made per request), so no JSON field is missed.
Called from AnnotateConfig.ready(), after the admin's autodiscovery.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import options
from django.db import models

from annotate.input.forms import BoundedJSONField


def admin_json_fields_bounded(site: admin.AdminSite = admin.site) -> None:
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.JSONField] = {"form_class": BoundedJSONField}
    for model_admin in site._registry.values():
        # ModelAdmin.__init__ made formfield_overrides a plain, per-instance dict.
        overrides: dict[Any, Any] = model_admin.formfield_overrides  # type: ignore[assignment]
        overrides.setdefault(models.JSONField, {}).setdefault("form_class", BoundedJSONField)
