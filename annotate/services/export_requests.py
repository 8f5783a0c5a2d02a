"""Start an export from request parameters (the web page's form): the API's rules.

The parameters are those of ``GET /api/v1/campaigns/<slug>/export`` and are parsed by
the same functions (annotate.api.filters), so the page and the API cannot drift apart:
unknown names, bad values, unrated attributes and unpublished profile fields are
refused with the API's messages. The export is recorded by
annotate.services.exports.export_create; above CHORUS_EXPORT_SYNC_MAX_ROWS matching
annotations, or when asked, it is queued as a Celery job once the transaction commits.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError

from annotate.api.filters import (
    EXPORT_PARAMS,
    check_known,
    filter_param_names,
    parse_export,
    parse_filters,
)
from annotate.exports.privacy import PrivacyConfigError, privacy_settings
from annotate.models import Campaign, Export
from annotate.services import exports as svc


def export_request(
    *, campaign: Campaign, requested_by: Any, params: Any, admin: bool = False
) -> Export:
    """Parse ``params`` (a QueryDict-like mapping), record the export, queue it if large.

    Raises rest_framework's ValidationError (``detail`` maps a parameter to its message)
    and records nothing when a parameter is wrong. ``export.is_async`` tells the caller
    whether to stream ``export_stream(export=...)`` now or to point at the job.
    """
    check_known(params, (*EXPORT_PARAMS, *filter_param_names()))
    shape, fmt, options, run_async = parse_export(params)
    if options.attribute and options.attribute not in campaign.rating_attributes:
        raise ValidationError(
            {
                "attribute": f"Not rated in this campaign; choose from "
                f"{', '.join(campaign.rating_attributes)}."
            }
        )
    try:
        privacy = privacy_settings(campaign.config)
    except PrivacyConfigError as exc:
        raise ValidationError({"campaign": f"Privacy setting is invalid: {exc}"}) from exc
    filters = parse_filters(params, privacy=privacy, admin=admin)
    if not run_async:
        run_async = svc.export_count(campaign=campaign, filters=filters) > svc.sync_max_rows()
    export = svc.export_create(
        campaign=campaign,
        requested_by=requested_by,
        shape=shape,
        fmt=fmt,
        options=options,
        filters=filters,
        is_async=run_async,
    )
    if run_async:
        svc.export_queue(export=export)
    return export
