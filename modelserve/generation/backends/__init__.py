"""Generation backends behind one interface (see ``base.Backend``) and their registry.

``backend_get`` maps a registry name (``ModelEndpoint.backend``) to a backend object.
Extra backends (tests' fake one, a site's own) are registered with the setting
``CHORUS_GENERATION_BACKENDS = {"name": "dotted.path.Class"}``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from modelserve.generation.backends.base import (
    Backend,
    BackendConfigError,
    BackendError,
    BatchResult,
    BatchRow,
    GenerationResult,
    SamplingParams,
)

DEFAULT_BACKENDS = {
    "local": "modelserve.generation.backends.local.LocalBackend",
    "openai": "modelserve.generation.backends.openai.OpenAIBackend",
}

__all__ = [
    "Backend",
    "BackendConfigError",
    "BackendError",
    "BatchResult",
    "BatchRow",
    "GenerationResult",
    "SamplingParams",
    "backend_get",
]


def backend_get(*, backend: str, model: str, base_url: str = "", api_key_env: str = "") -> Any:
    """A backend object for one endpoint's settings; BackendConfigError if unknown."""
    registry = {**DEFAULT_BACKENDS, **getattr(settings, "CHORUS_GENERATION_BACKENDS", {})}
    try:
        cls = import_string(registry[backend])
    except KeyError:
        raise BackendConfigError(f"unknown backend {backend!r}") from None
    return cls(model=model, base_url=base_url, api_key_env=api_key_env)
