"""Model registry writes: endpoints, a campaign's generation pool, serving a policy.

``endpoint_ensure_default`` is what the demo seeder and a fresh install call to give a
campaign live SmolLM2 answers: it creates (once) local endpoints over the packaged
SmolLM2-135M-Instruct that differ in temperature and system prompt, so a campaign with
one model on disk still shows K distinct, anonymised candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from annotate.models import Campaign
from annotate.tasks_util import enqueue
from modelserve.generation.models import Backend, ModelEndpoint

# (name shown to admins, anonymous label, sampling defaults). Short replies keep a CPU
# demo responsive: SmolLM2 writes roughly 10-20 tokens/s per core here.
DEFAULT_ENDPOINTS: list[tuple[str, str, dict[str, object]]] = [
    (
        "SmolLM2-135M-Instruct (balanced)",
        "Model A",
        {"temperature": 0.7, "top_p": 0.9, "max_new_tokens": 96},
    ),
    (
        "SmolLM2-135M-Instruct (precise)",
        "Model B",
        {
            "temperature": 0.3,
            "top_p": 0.9,
            "max_new_tokens": 96,
            "system_prompt": "You are a precise assistant. Answer accurately and briefly.",
        },
    ),
    (
        "SmolLM2-135M-Instruct (creative)",
        "Model C",
        {
            "temperature": 1.0,
            "top_p": 0.95,
            "max_new_tokens": 96,
            "system_prompt": "You are a creative, warm assistant. Give vivid answers.",
        },
    ),
    (
        "SmolLM2-135M-Instruct (explainer)",
        "Model D",
        {
            "temperature": 0.6,
            "top_p": 0.9,
            "max_new_tokens": 96,
            "system_prompt": "You are a patient teacher. Explain step by step.",
        },
    ),
]


@transaction.atomic
def endpoint_ensure_default(
    *, campaign: Campaign | None = None, count: int = 4
) -> list[ModelEndpoint]:
    """Get or create ``count`` default local endpoints and add them to ``campaign``'s pool.

    Idempotent: names are unique, so calling it again (every ``make run``) changes nothing.
    The model itself is converted from the packaged GGUF once, before workers start
    (``manage.py prepare_models``, which ``runall`` runs; a file lock keeps it to one process).
    """
    endpoints = []
    for name, label, params in DEFAULT_ENDPOINTS[: max(1, min(count, len(DEFAULT_ENDPOINTS)))]:
        endpoint, _ = ModelEndpoint.objects.get_or_create(
            name=name,
            defaults={
                "anon_label": label,
                "backend": Backend.LOCAL,
                "model": "default",
                "params": params,
                "enabled": True,
            },
        )
        endpoints.append(endpoint)
    if campaign is not None:
        campaign.model_pool.add(*endpoints)
    return endpoints


class UnknownEndpoints(ValueError):
    """Some endpoint ids do not exist; the message lists them."""


@transaction.atomic
def campaign_pool_add(
    *, campaign: Campaign, default: int = 0, endpoint_ids: Sequence[int] = ()
) -> list[ModelEndpoint]:
    """Add ``default`` packaged SmolLM2 endpoints and the given endpoints to the campaign's
    generation pool (idempotent); returns the whole enabled pool in a stable order."""
    wanted = sorted(set(endpoint_ids))
    found = list(ModelEndpoint.objects.filter(pk__in=wanted))
    missing = sorted(set(wanted) - {e.pk for e in found})
    if missing:
        raise UnknownEndpoints(f"no model endpoint with id {', '.join(map(str, missing))}")
    if default:
        endpoint_ensure_default(campaign=campaign, count=default)
    if found:
        campaign.model_pool.add(*found)
    return list(campaign.model_pool.filter(enabled=True).order_by("id"))


# Celery task name (see modelserve.generation.tasks); enqueued by name, not imported.
GENERATE_PREPARE_ENGINE = "modelserve.tasks.generate_prepare_engine"


def engine_prepare_soon(*, model: str) -> None:
    """After the caller commits, have a generate worker convert ``model`` (a Hugging Face
    folder) for CTranslate2 and load it, so the first request finds it ready. The copy
    lands in ``<folder>/ct2-int8/``, versioned with the weights."""
    if model:
        transaction.on_commit(lambda: enqueue(GENERATE_PREPARE_ENGINE, model))
