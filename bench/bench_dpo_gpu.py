"""DPO throughput of the lean loop on a GPU, against TRL's DPOTrainer (never in CI).

The setup of issue 14: bf16, the SmolLM2-135M architecture, 1,024 HH-RLHF pairs, batch
16, max length 512, one epoch. The weights are random, drawn from the model's
``config.json`` with a fixed seed: the trained weights (540 MB) do not travel to a lent
GPU machine, and throughput does not depend on them. The pairs are the first 1,024 whose
prompt plus longer answer fit 512 tokens untruncated, so every trainer sees the same
tokens.

Each variant trains a fresh model from the same seed:
- ``before``: the loop as it was (``--before``: a folder holding a copy of the old
  ``modelserve/training`` as the package ``training_before``), bf16 weights;
- ``lean bf16``: the loop now, bf16 weights;
- ``lean masters``: the loop now as a GPU refit runs it by default: the model loaded in
  fp32, computing in bf16, AdamW updating fp32 master weights
  (``modelserve.training.precision``);
- ``trl``: TRL's DPOTrainer, bf16 weights, ``bf16=True``, its defaults otherwise
  (a reference copy of the model run every step), if trl and datasets import.

Prints a table: training-step pairs/s (the loop's own clock, reference log-probs
excluded), whole-epoch pairs/s (tokenising, reference log-probs and training: the wall
time of the call), peak GPU memory and the final loss. Also the tokens each layout
computes per pair, and how far the new layout's log-probs are from the old one's in fp32.

``python bench/bench_dpo_gpu.py [--model-dir D] [--data HH.jsonl.gz] [--before DIR]``;
prints one line and exits when no CUDA device is present (as in ``make bench`` on a
machine without one). ``--profile`` adds a profile of 16 steps, ``--compile`` a two-epoch
run with the decoder layers compiled; ``--device cpu --layers 2 --pairs 32`` is a smoke
test of the script itself. bench/DPO_GPU.md has the figures and how to run it on a lent
GPU machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from modelserve.training import dpo as lean  # noqa: E402
from modelserve.training.data import parse_hh_transcript  # noqa: E402
from modelserve.training.dpo_batch import encode_prompt, encode_response  # noqa: E402

MAX_LEN = 512
BATCH = 16
DEVICE = "cuda"  # --device cpu: a smoke test of this script on a machine without a GPU


def sync() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def reset_peak() -> None:
    sync()
    if DEVICE == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_gb() -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if DEVICE == "cuda" else float("nan")


def hh_pairs(path: Path, tokenizer: Any, n: int) -> list[dict[str, Any]]:
    """The first ``n`` HH pairs whose prompt plus longer answer fit ``MAX_LEN`` tokens."""
    out = []
    with gzip.open(path, "rt") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            prompt, chosen = parse_hh_transcript(row["chosen"])
            _, rejected = parse_hh_transcript(row["rejected"])
            if not chosen or not rejected or chosen == rejected:
                continue
            p = len(encode_prompt(tokenizer, prompt, 10**6))
            c = len(encode_response(tokenizer, chosen, 10**6))
            r = len(encode_response(tokenizer, rejected, 10**6))
            if p + max(c, r) > MAX_LEN:
                continue
            out.append(
                {
                    "prompt_key": f"hh{i}",
                    "prompt": tuple(prompt),
                    "chosen": chosen,
                    "rejected": rejected,
                    "margin": 0.0,
                    "source": "pairwise",
                    "annotator": "hh",
                    "group": "all",
                    "annotation_id": i,
                    "lengths": (p, c, r),
                }
            )
            if len(out) == n:
                break
    return out


def dataset_for(package: str, pairs: list[dict[str, Any]]) -> Any:
    """The pairs as the given training package's own Dataset (it checks its own types)."""
    data = importlib.import_module(f"{package}.data")
    fields = {f.name for f in dataclasses.fields(data.PreferencePair)}
    return data.Dataset(
        train_pairs=[
            data.PreferencePair(**{k: v for k, v in p.items() if k in fields}) for p in pairs
        ]
    )


def layout_tokens(pairs: list[dict[str, Any]]) -> dict[str, float]:
    """Tokens computed per pair (padding included) in length-sorted batches of ``BATCH``:
    one row per answer (the prompt twice, as before) against one row per pair."""
    old_rows = sorted(pairs, key=lambda p: 2 * p["lengths"][0] + p["lengths"][1] + p["lengths"][2])
    new_rows = sorted(pairs, key=lambda p: sum(p["lengths"]))
    old = new = real_old = real_new = 0
    for i in range(0, len(pairs), BATCH):
        b = old_rows[i : i + BATCH]
        old += 2 * len(b) * max(p["lengths"][0] + max(p["lengths"][1:]) for p in b)
        real_old += sum(2 * p["lengths"][0] + p["lengths"][1] + p["lengths"][2] for p in b)
        b = new_rows[i : i + BATCH]
        new += len(b) * max(sum(p["lengths"]) for p in b)
        real_new += sum(sum(p["lengths"]) for p in b)
    n = len(pairs)
    return {
        "old_tokens_per_pair": old / n,
        "old_real_per_pair": real_old / n,
        "new_tokens_per_pair": new / n,
        "new_real_per_pair": real_new / n,
    }


def fresh_model(config: Any, dtype: torch.dtype) -> Any:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=dtype, attn_implementation="sdpa")
    return model.to(DEVICE)


def run_lean(
    name: str,
    package: str,
    pairs,
    tokenizer,
    config,
    dtype,
    *,
    epochs: int = 1,
    compile_layers: bool = False,
    **extra,
) -> dict[str, Any]:
    mod = importlib.import_module(f"{package}.dpo")
    fields = {f.name for f in dataclasses.fields(mod.DPOConfig)}
    cfg = mod.DPOConfig(
        batch_size=BATCH,
        max_prompt_tokens=MAX_LEN,
        max_response_tokens=MAX_LEN,
        lr=5e-6,
        beta=0.1,
        epochs=epochs,
        eval_prompts=0,
        device=DEVICE,
        **{k: v for k, v in extra.items() if k in fields},
    )
    ds = dataset_for(package, pairs)
    model = fresh_model(config, dtype)
    if compile_layers:
        for layer in model.model.layers:
            layer.compile(dynamic=True)
    # The loop reads its statistics back (a device sync) every 16 steps and only then
    # reports the steps: the time of each report is a clock on the queued work.
    seen: dict[int, float] = {}
    reset_peak()
    t0 = time.perf_counter()
    res = mod.train_dpo(
        model, tokenizer, ds, cfg, on_step=lambda s, t, m: seen.setdefault(s, time.perf_counter())
    )
    sync()
    wall = time.perf_counter() - t0
    m = res.metrics
    del model, res
    per_epoch = m["steps"] // epochs
    last = {}
    if epochs > 1 and per_epoch in seen:
        span = seen[m["steps"]] - seen[per_epoch]
        last = {"last_epoch_pairs_per_s": len(pairs) / span}
    return {
        **last,
        "variant": name,
        "train_pairs_per_s": m["pairs_per_second"],
        "epoch_pairs_per_s": len(pairs) / wall,
        "epoch_s": wall,
        "train_s": m["train_seconds"],
        "tokens_per_s": m["tokens_per_second"],
        "peak_gb": peak_gb(),
        "loss": m.get("train_loss"),
    }


def run_trl(name: str, pairs, tokenizer, config, **args: Any) -> dict[str, Any]:
    from datasets import Dataset as HFDataset
    from trl import DPOConfig as TRLConfig
    from trl import DPOTrainer

    rows = [
        {
            "prompt": [dict(m) for m in p["prompt"]],
            "chosen": [{"role": "assistant", "content": p["chosen"]}],
            "rejected": [{"role": "assistant", "content": p["rejected"]}],
        }
        for p in pairs
    ]
    model = fresh_model(config, torch.bfloat16)
    reset_peak()
    with tempfile.TemporaryDirectory() as out:
        targs = TRLConfig(
            output_dir=out,
            bf16=DEVICE == "cuda",
            use_cpu=DEVICE == "cpu",
            per_device_train_batch_size=BATCH,
            learning_rate=5e-6,
            beta=0.1,
            num_train_epochs=1,
            max_length=MAX_LEN,
            report_to=[],
            save_strategy="no",
            logging_steps=1000,
            lr_scheduler_type="constant",
            seed=0,
            dataloader_num_workers=0,
            disable_tqdm=True,
            **args,
        )
        t0 = time.perf_counter()
        trainer = DPOTrainer(
            model=model,
            # TRL would load the reference from the model's folder; the weights here
            # are drawn, not loaded, so it gets the same draw.
            ref_model=fresh_model(config, torch.bfloat16),
            args=targs,
            train_dataset=HFDataset.from_list(rows),
            processing_class=tokenizer,
        )
        out_metrics = trainer.train().metrics
        sync()
        wall = time.perf_counter() - t0
    train_s = out_metrics["train_runtime"]
    return {
        "variant": name,
        "train_pairs_per_s": len(pairs) / train_s,
        "epoch_pairs_per_s": len(pairs) / wall,
        "epoch_s": wall,
        "train_s": train_s,
        "tokens_per_s": float("nan"),
        "peak_gb": peak_gb(),
        "loss": out_metrics.get("train_loss"),
    }


def profile(pairs, tokenizer, config, dtype, name: str, **extra) -> None:
    """Where 16 training steps spend their time: host (Python and launches) against the
    device's busy time. Far more wall time than device time means the host is the
    bottleneck, and fewer tokens per step will not help."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    cfg = lean.DPOConfig(
        batch_size=BATCH,
        max_prompt_tokens=MAX_LEN,
        max_response_tokens=MAX_LEN,
        eval_prompts=0,
        device=DEVICE,
        max_steps=16,
        **extra,
    )
    ds = dataset_for("modelserve.training", pairs[:512])
    model = fresh_model(config, dtype)
    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        res = lean.train_dpo(model, tokenizer, ds, cfg)
        sync()
    events = prof.key_averages()
    device_us = sum(getattr(e, "self_device_time_total", 0) for e in events)
    train_s = res.metrics["train_seconds"]
    print(
        f"profile {name}: 16 steps in {train_s:.2f} s under the profiler "
        f"({1000 * train_s / 16:.1f} ms per step); device busy {device_us / 1e3 / 16:.1f} ms per "
        f"step (whole call, reference pass included)"
    )
    print(events.table(sort_by="self_device_time_total", row_limit=12))
    print(events.table(sort_by="self_cpu_time_total", row_limit=12))
    del model, res


def logp_check(pairs, tokenizer, config, before: str | None) -> dict[str, float]:
    """fp32 log-probs of 64 pairs' answers, one row per pair against the old layout."""
    if not before:
        return {}
    old = importlib.import_module(f"{before}.dpo_batch")
    model = fresh_model(config, torch.float32).eval()
    pad = tokenizer.pad_token_id
    cfg_new = lean.DPOConfig(max_prompt_tokens=MAX_LEN, max_response_tokens=MAX_LEN)
    cfg_old = old.DPOConfig(max_prompt_tokens=MAX_LEN, max_response_tokens=MAX_LEN)
    new_ex = lean.make_examples(
        tokenizer, dataset_for("modelserve.training", pairs[:64]).train_pairs, cfg_new
    )
    old_ex = old.make_examples(tokenizer, dataset_for(before, pairs[:64]).train_pairs, cfg_old)
    new = lean.all_logps(model, new_ex, BATCH, pad, DEVICE).cpu()
    old_flat = torch.cat(old.all_logps(model, old_ex, BATCH, pad, DEVICE))
    diff = (new - old_flat).abs()
    return {"max_abs_diff": diff.max().item(), "max_rel_diff": (diff / old_flat.abs()).max().item()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--model-dir",
        type=Path,
        default=ROOT / "var" / "models" / "smollm2-135m-instruct",
        help="config.json and the tokenizer (no weights needed)",
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz",
        help="hh-rlhf jsonl.gz",
    )
    ap.add_argument("--before", help="folder holding the package training_before")
    ap.add_argument("--pairs", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=2, help="times each lean variant runs")
    ap.add_argument("--skip-trl", action="store_true")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--device", default="cuda", help="cpu: a smoke test of this script")
    ap.add_argument("--layers", type=int, help="fewer layers (smoke test)")
    ap.add_argument("--profile", action="store_true", help="profile 16 steps of each lean variant")
    ap.add_argument(
        "--compile", action="store_true", help="also: decoder layers compiled, 2 epochs"
    )
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("bench_dpo_gpu: no CUDA device here; nothing measured (run it on a lent GPU)")
        return
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(a.model_dir)
    if a.layers:
        config.num_hidden_layers = a.layers
    tokenizer = AutoTokenizer.from_pretrained(a.model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    before = None
    if a.before:
        sys.path.insert(0, str(Path(a.before).resolve()))
        before = "training_before"
    pairs = hh_pairs(a.data, tokenizer, a.pairs)
    name = torch.cuda.get_device_name() if DEVICE == "cuda" else "CPU"
    print(f"{name}, torch {torch.__version__}, {len(pairs)} HH pairs")
    layout = layout_tokens(pairs)
    old = f"{layout['old_tokens_per_pair']:.0f} ({layout['old_real_per_pair']:.0f})"
    new = f"{layout['new_tokens_per_pair']:.0f} ({layout['new_real_per_pair']:.0f})"
    print(f"tokens per pair, padding included (real): one row per answer {old}, per pair {new}")
    results: dict[str, Any] = {"layout": layout, "runs": []}
    # Warm-up: CUDA context, cuBLAS handles and kernel loading stay out of the figures.
    run_lean("warm-up", "modelserve.training", pairs[:64], tokenizer, config, torch.bfloat16)
    try:
        results["logp_check"] = logp_check(pairs, tokenizer, config, before)
        print(f"fp32 log-probs, one row per pair vs before: {results['logp_check']}")
    except Exception as exc:  # a broken comparison must not cost the timings
        print(f"log-prob check failed: {exc!r}")
    if a.profile:
        profile(pairs, tokenizer, config, torch.bfloat16, "lean bf16")
        profile(pairs, tokenizer, config, torch.float32, "lean masters")
    for _ in range(a.rounds):
        if before:
            results["runs"].append(
                run_lean("before bf16", before, pairs, tokenizer, config, torch.bfloat16)
            )
        results["runs"].append(
            run_lean(
                "lean bf16",
                "modelserve.training",
                pairs,
                tokenizer,
                config,
                torch.bfloat16,
                precision="fp32",  # the weights as loaded, in bf16, and no masters
            )
        )
        results["runs"].append(
            run_lean("lean masters", "modelserve.training", pairs, tokenizer, config, torch.float32)
        )
        print(results["runs"][-1])
    if a.compile:
        for name, compiled in (("masters 2 epochs", False), ("masters compiled 2 ep", True)):
            try:
                r = run_lean(
                    name,
                    "modelserve.training",
                    pairs,
                    tokenizer,
                    config,
                    torch.float32,
                    epochs=2,
                    compile_layers=compiled,
                )
                results["runs"].append(r)
                print(r)
            except Exception as exc:  # compilation is an experiment here
                print(f"{name}: {exc!r}")
    if not a.skip_trl:
        for name, extra in (
            ("trl defaults", {}),
            ("trl no checkpointing", {"gradient_checkpointing": False}),
        ):
            try:
                results["runs"].append(run_trl(name, pairs, tokenizer, config, **extra))
            except Exception as exc:  # TRL is optional on the device machine
                print(f"{name}: {exc!r}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    print(
        f"{'variant':22} {'train pairs/s':>13} {'epoch pairs/s':>13} {'epoch s':>8} "
        f"{'peak GB':>8} {'loss':>7} {'last epoch pairs/s':>18}"
    )
    for r in results["runs"]:
        loss = f"{r['loss']:.4f}" if isinstance(r["loss"], float) else "-"
        last = r.get("last_epoch_pairs_per_s")
        print(
            f"{r['variant']:22} {r['train_pairs_per_s']:13.1f} {r['epoch_pairs_per_s']:13.1f} "
            f"{r['epoch_s']:8.1f} {r['peak_gb']:8.2f} {loss:>7} "
            f"{f'{last:.1f}' if last else '-':>18}"
        )


if __name__ == "__main__":
    main()
