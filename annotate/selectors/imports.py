"""Reads for item imports."""

from __future__ import annotations

from collections.abc import Iterable

from annotate.models import Campaign, Prompt

_CHUNK = 1000  # keep IN (...) lists a reasonable size


def external_ids_present(*, campaign: Campaign, external_ids: Iterable[str]) -> set[str]:
    """Which of ``external_ids`` already name a prompt of ``campaign`` (an earlier import)."""
    wanted = [e for e in dict.fromkeys(external_ids) if e]
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(
            Prompt.objects.filter(
                campaign=campaign, external_id__in=wanted[start : start + _CHUNK]
            ).values_list("external_id", flat=True)
        )
    return found
