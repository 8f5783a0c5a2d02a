"""Django's admin autodiscovery imports this module: it registers generation's admin (the
model registry and the generation ledger) and learning's (runs, versions, serving)."""

from modelserve.generation import admin as generation_admin
from modelserve.learning import admin as learning_admin

__all__ = ["generation_admin", "learning_admin"]
