"""Language quotas: labels per item language, enforced by the queue (issue 17).

Config: ``language_quotas`` (annotate/campaign_config/languages.py), e.g.
``{"fr": {"max_labels": 500}, "en": {"min_labels": 100}}``. A language's count is the sum
of ``Item.slots_taken`` over the campaign's items in that language: leases in flight and
submitted labels. Counting leases is what makes the cap exact: a lease that expires or is
skipped gives its slot, and so its place in the quota, back.

Concurrency: when a campaign caps any language, ``assignment_next`` takes
``language_quota_lock`` (a PostgreSQL transaction-level advisory lock per campaign)
before it counts, and keeps it until its lease commits, so two leases can never both
take a language's last place. Leases of campaigns without caps never take it. Lock order
in a lease: annotator row, then this lock, then one item row; nothing takes this lock
while holding an item row, so there is no cycle. A submit counts its label on its item
(a row lock) before it leases the next task, so it takes this lock first
(``language_quota_lock_if_capped``), keeping the same order. On SQLite, BEGIN IMMEDIATE
already serialises writers.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When

from annotate.campaign_config import section_values
from annotate.campaign_config.languages import LanguageQuota, Languages
from annotate.models import Campaign, Item

# First key of the advisory lock: a constant naming "language quotas" (ASCII "lq").
_LOCK_SPACE = 0x6C71


def language_quotas(*, campaign: Campaign) -> dict[str, LanguageQuota]:
    if not (campaign.config or {}).get("language_quotas"):
        return {}
    values = section_values(campaign.config, Languages)
    assert isinstance(values, Languages)
    return dict(values.language_quotas)


def language_label_counts(*, campaign: Campaign, languages: list[str]) -> dict[str, int]:
    """{language: labels leased or submitted} for the given languages (one query)."""
    rows = (
        Item.objects.filter(campaign=campaign, language__in=languages)
        .values("language")
        .annotate(n=Sum("slots_taken"))
        .values_list("language", "n")
    )
    return {language: int(n or 0) for language, n in rows}


def language_quota_lock(*, campaign: Campaign) -> None:
    """Serialise the quota check of concurrent leases in ``campaign`` (until commit)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_SPACE, campaign.pk])


def language_quota_lock_if_capped(*, campaign: Campaign) -> None:
    """``language_quota_lock`` when ``campaign`` caps any language, else nothing."""
    if any(q.max_labels is not None for q in language_quotas(campaign=campaign).values()):
        language_quota_lock(campaign=campaign)


def language_quota_candidates(
    *, campaign: Campaign, candidates: QuerySet[Item]
) -> tuple[QuerySet[Item], list[str]]:
    """The queue's candidates without the languages at their cap, and the ordering
    that serves languages still under their floor first.

    Call inside the lease's transaction: takes ``language_quota_lock`` when a cap exists.
    """
    quotas = language_quotas(campaign=campaign)
    order = ["-priority", "id"]
    if not quotas:
        return candidates, order
    language_quota_lock_if_capped(campaign=campaign)
    counts = language_label_counts(campaign=campaign, languages=list(quotas))
    full = [
        code
        for code, q in quotas.items()
        if q.max_labels is not None and counts.get(code, 0) >= q.max_labels
    ]
    behind = [
        code
        for code, q in quotas.items()
        if q.min_labels is not None and counts.get(code, 0) < q.min_labels
    ]
    if full:
        candidates = candidates.exclude(language__in=full)
    if behind:
        candidates = candidates.annotate(
            x_behind=Case(
                When(Q(language__in=behind), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        order = ["x_behind", *order]
    return candidates, order
