"""``manage.py prepare_models [--load]``: convert the packaged SmolLM2 before anyone needs it.

The first generation would otherwise pay the GGUF -> Hugging Face conversion (~20 s on
2 cores) while an annotator waits. ``manage.py runall`` runs this after ``migrate``;
run it yourself after installing on a machine that starts workers some other way
(docker-compose, systemd). Instant when the model is already prepared. Safe to run
while workers are starting: conversion holds a file lock in ``CHORUS_MODEL_DIR``, so
whoever comes second waits and then uses the result.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from modelserve.generation.backends.ct2 import engine_device, local_engine
from modelserve.generation.backends.ct2_files import MODEL_FILE, Ct2ConversionError, ct2_dir
from modelserve.generation.model_files import (
    DEFAULT_MODEL_LABEL,
    ModelFilesError,
    default_model_dir,
    default_model_ready,
    load_causal_lm,
)


class Command(BaseCommand):
    help = "Convert the packaged default model (SmolLM2) once, so the first reply is fast."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--load",
            action="store_true",
            help="also load the prepared model once, to check its files read back",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        started = time.monotonic()
        try:
            if default_model_ready():
                path = default_model_dir()
                self.stdout.write(
                    f"Default model ({DEFAULT_MODEL_LABEL}) already prepared at {path}"
                )
            else:
                self.stdout.write(
                    f"Preparing the default model ({DEFAULT_MODEL_LABEL}): converting GGUF "
                    "to Hugging Face format, about 20 s the first time ..."
                )
                self.stdout.flush()
                path = default_model_dir(on_wait=self._say_waiting)
                self.stdout.write(f"ready in {time.monotonic() - started:.1f} s at {path}")
        except ModelFilesError as exc:
            raise CommandError(str(exc)) from exc
        self._prepare_ct2(path)
        if opts["load"]:
            loading = time.monotonic()
            try:
                load_causal_lm(path)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot load the model from {path}: {exc}") from exc
            self.stdout.write(f"loaded in {time.monotonic() - loading:.1f} s")

    def _prepare_ct2(self, path: Any) -> None:
        """The CTranslate2 copy the default engine serves (int8 on CPU), converted now so
        no worker converts it on the first request. A failure is not fatal: generation
        falls back to transformers and says so in the worker log."""
        if local_engine() != "ctranslate2":
            return
        _, quantization = engine_device()
        target = path / f"ct2-{quantization}"
        if (target / MODEL_FILE).exists():
            self.stdout.write(f"CTranslate2 copy ({quantization}) already prepared at {target}")
            return
        started = time.monotonic()
        self.stdout.write(f"Converting it for CTranslate2 ({quantization}), about 5 s ...")
        self.stdout.flush()
        try:
            target = ct2_dir(path, quantization=quantization)
        except Ct2ConversionError as exc:
            self.stderr.write(f"CTranslate2 conversion failed ({exc}); transformers will serve")
            return
        self.stdout.write(f"ready in {time.monotonic() - started:.1f} s at {target}")

    def _say_waiting(self) -> None:
        self.stdout.write("another process is converting it; waiting for that ...")
        self.stdout.flush()
