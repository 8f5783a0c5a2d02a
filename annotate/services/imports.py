"""Writing parsed import rows (annotate.importers) as items, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction

from annotate.importers import ParsedRow
from annotate.models import Campaign

from .items import ItemSpec, ResponseSpec, items_add

BATCH = 2000  # items per items_add call: bigger batches mean fewer COPY round trips


def item_spec_from_row(row: ParsedRow) -> ItemSpec:
    return ItemSpec(
        task_type=row.task_type,
        messages=row.messages,
        responses=[
            ResponseSpec(
                text=r.text,
                source=r.source,
                generation_params=r.generation_params,
                metadata=r.metadata,
                language=r.language,
            )
            for r in row.responses
        ],
        source=row.source,
        external_id=row.external_id,
        metadata=row.metadata,
        allow_empty_responses=row.allow_empty_responses,
        language=row.language,
    )


def items_import(
    *,
    campaign: Campaign,
    specs: Sequence[ItemSpec],
    batch_size: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``specs`` (already checked) all or nothing; returns the number of items.

    Batches only exist so a progress bar can move: the outer transaction makes the whole
    import one unit, so a crash half-way leaves the campaign as it was.
    """
    created = 0
    with transaction.atomic():
        for start in range(0, len(specs), batch_size):
            chunk = specs[start : start + batch_size]
            created += len(items_add(campaign=campaign, specs=chunk, batch_size=batch_size))
            if on_progress is not None:
                on_progress(len(chunk))
    return created
