"""Learning-loop speed on CPU: reward refits, the lean DPO loop, and TRL's DPOTrainer.

Prints plain lines:
- the reward model on HH-RLHF (first ``BENCH_RM_ROWS`` rows, default 800; ``all`` for the
  whole file): feature throughput, validation accuracy and ECE;
- a reward refit on 10,000 pairs with warm features (pairs drawn from those rows), and the
  cold time extrapolated from the measured encoder throughput;
- DPO on the default model (SmolLM2-135M-Instruct): tokens/s and pairs/s of the lean loop,
  and the same epoch (same pairs, batch, lengths, beta, lr) with TRL's DPOTrainer, as a ratio;
- the peak memory of a DPO refit with its held-out evaluation on (the default), above the
  loaded model, next to the model's own size: a second copy of the model would show as
  about that much more.

No database needed. ``python bench/bench_training.py``; ``BENCH_DPO_PAIRS`` (default 16)
sets the DPO slice; ``BENCH_SKIP_TRL=1`` skips TRL; ``BENCH_ONLY=dpo_memory`` runs only
the memory measurement (a quick smoke test).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CHORUS_LOG_LEVEL", "WARNING")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import django  # noqa: E402

django.setup()

import torch  # noqa: E402
from django.conf import settings  # noqa: E402

from modelserve.generation.model_files import default_model_dir, load_causal_lm  # noqa: E402
from modelserve.training.data import (  # noqa: E402
    Dataset,
    LabelRecord,
    PreferencePair,
    build_dataset,
    parse_hh_transcript,
)
from modelserve.training.dpo import (  # noqa: E402
    DPOConfig,
    encode_prompt,
    encode_response,
    train_dpo,
)
from modelserve.training.reward import RewardConfig, train_reward_model  # noqa: E402

HH = ROOT.parent / "shared" / "data" / "hh-rlhf-harmless-base-test.jsonl.gz"
torch.set_num_threads(max(1, os.cpu_count() or 1))


def hh_records(limit: int | None) -> list[LabelRecord]:
    out = []
    with gzip.open(HH, "rt") as fh:
        for i, line in enumerate(fh):
            if limit is not None and i >= limit:
                break
            row = json.loads(line)
            prompt, chosen = parse_hh_transcript(row["chosen"])
            _, rejected = parse_hh_transcript(row["rejected"])
            out.append(
                LabelRecord(
                    annotation_id=i,
                    task_type="pairwise",
                    annotator="hh",
                    prompt_key=f"hh{i}",
                    prompt=tuple(prompt),
                    responses={2 * i: chosen, 2 * i + 1: rejected},
                    payload={"choice": "A", "chosen": 2 * i, "rejected": 2 * i + 1},
                )
            )
    return out


def bench_reward(cache: Path) -> None:
    rows_env = os.environ.get("BENCH_RM_ROWS", "800")
    rows = None if rows_env == "all" else int(rows_env)
    ds = build_dataset(hh_records(rows), val_fraction=0.2, seed=0)
    cfg = RewardConfig()
    res = train_reward_model(ds, cfg, cache_dir=cache)
    m = res.metrics
    n_texts = 2 * ds.n_examples
    print(
        f"reward HH-RLHF rows: {ds.n_examples} (train {m['n_train_pairs']}, "
        f"val {m['n_val_pairs']}), encoder all-MiniLM-L6-v2, max_length {cfg.max_length}"
    )
    print(f"reward val accuracy: {m['val_accuracy']:.3f}")
    print(f"reward val ECE: {m['val_ece']:.3f}")
    print(
        f"reward features: {m['texts_encoded']} of {n_texts} texts encoded (rest cached) "
        f"in {m['feature_seconds']:.1f} s"
    )
    if m["texts_encoded"]:
        rate = m["texts_encoded"] / m["feature_seconds"]
        print(f"reward encoder throughput: {rate:.1f} texts/s")
        print(
            f"reward refit 10,000 pairs cold (extrapolated, 20,000 new texts, no warm-up): "
            f"{20000 / rate + m['fit_seconds'] * 10000 / max(ds.n_examples, 1):.0f} s"
        )
    # 10,000 pairs with warm features: HH pairs drawn again as distinct labels.
    pool = ds.train_pairs + ds.val_pairs
    big = [
        PreferencePair(
            prompt_key=f"k{i}",
            prompt=p.prompt,
            chosen=p.chosen,
            rejected=p.rejected,
            margin=0.0,
            source="pairwise",
            annotator="hh",
            group="all",
            annotation_id=i,
        )
        for i, p in enumerate(pool[j % len(pool)] for j in range(10_000))
    ]
    big_ds = Dataset(train_pairs=big[:9000], val_pairs=big[9000:])
    t0 = time.perf_counter()
    res = train_reward_model(big_ds, cfg, cache_dir=cache)
    print(
        f"reward refit 10,000 pairs, features warmed as labels arrived "
        f"(train_features_warm): {time.perf_counter() - t0:.1f} s "
        f"(head fit {res.metrics['fit_seconds']:.1f} s, {cfg.epochs} epochs)"
    )


def dpo_slice(tokenizer, n: int, max_prompt: int, max_resp: int) -> Dataset:
    """The first n HH pairs that fit the length caps untruncated, so the lean loop and TRL
    see exactly the same tokens."""
    pairs = []
    for rec in hh_records(None):
        chosen, rejected = (
            rec.responses[rec.payload["chosen"]],
            rec.responses[rec.payload["rejected"]],
        )
        if not chosen or not rejected:
            continue
        if len(encode_prompt(tokenizer, rec.prompt, 10_000)) > max_prompt:
            continue
        if max(len(encode_response(tokenizer, t, 10_000)) for t in (chosen, rejected)) > max_resp:
            continue
        pairs.append(
            PreferencePair(
                prompt_key=rec.prompt_key,
                prompt=rec.prompt,
                chosen=chosen,
                rejected=rejected,
                margin=0.0,
                source="pairwise",
                annotator="hh",
                group="all",
                annotation_id=rec.annotation_id,
            )
        )
        if len(pairs) == n:
            break
    return Dataset(train_pairs=pairs)


def bench_dpo() -> None:
    n = int(os.environ.get("BENCH_DPO_PAIRS", "16"))
    path = default_model_dir()
    _, tokenizer = load_causal_lm(path)
    cfg = DPOConfig(
        batch_size=4,
        max_prompt_tokens=96,
        max_response_tokens=64,
        lr=1e-6,
        beta=0.1,
        eval_prompts=0,
        epochs=1,
    )
    ds = dpo_slice(tokenizer, n, cfg.max_prompt_tokens, cfg.max_response_tokens)
    model, tokenizer = load_causal_lm(path)
    t0, c0 = time.perf_counter(), time.process_time()
    res = train_dpo(model, tokenizer, ds, cfg)
    lean_wall, lean_cpu = time.perf_counter() - t0, time.process_time() - c0
    m = res.metrics
    print(
        f"dpo model: SmolLM2-135M-Instruct fp32, {len(ds.train_pairs)} HH pairs, batch "
        f"{cfg.batch_size}, prompt <= {cfg.max_prompt_tokens}, response <= "
        f"{cfg.max_response_tokens} tokens, {torch.get_num_threads()} threads"
    )
    print(
        f"dpo lean loop: {m['pairs_per_second']:.2f} pairs/s, "
        f"{m['tokens_per_second']:.0f} tokens/s (training steps)"
    )
    print(
        f"dpo lean epoch wall (incl. reference log-probs): {lean_wall:.1f} s, "
        f"{len(ds.train_pairs) / lean_wall:.2f} pairs/s"
    )
    print(f"dpo lean epoch CPU time: {lean_cpu:.1f} s")
    if os.environ.get("BENCH_SKIP_TRL"):
        return
    trl_wall, trl_cpu = bench_trl(path, ds, cfg)
    print(
        f"dpo TRL DPOTrainer epoch wall (defaults: gradient checkpointing, reference model "
        f"forward per step): {trl_wall:.1f} s, {len(ds.train_pairs) / trl_wall:.2f} pairs/s"
    )
    print(f"dpo TRL epoch CPU time: {trl_cpu:.1f} s")
    print(f"dpo speed ratio lean/TRL (same epoch, wall): {trl_wall / lean_wall:.2f}x")
    # CPU time is the fairer figure on a shared machine (wall time includes waiting).
    print(f"dpo speed ratio lean/TRL (same epoch, CPU time): {trl_cpu / lean_cpu:.2f}x")


def bench_trl(path: Path, ds: Dataset, cfg: DPOConfig) -> tuple[float, float]:
    from datasets import Dataset as HFDataset
    from trl import DPOConfig as TRLConfig
    from trl import DPOTrainer

    rows = [
        {
            "prompt": [dict(m) for m in p.prompt],
            "chosen": [{"role": "assistant", "content": p.chosen}],
            "rejected": [{"role": "assistant", "content": p.rejected}],
        }
        for p in ds.train_pairs
    ]
    model, tokenizer = load_causal_lm(path)
    model.train()
    with tempfile.TemporaryDirectory() as out:
        args = TRLConfig(
            output_dir=out,
            use_cpu=True,
            bf16=False,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.lr,
            beta=cfg.beta,
            num_train_epochs=1,
            max_length=cfg.max_prompt_tokens + cfg.max_response_tokens,
            report_to=[],
            save_strategy="no",
            logging_steps=1000,
            lr_scheduler_type="constant",
            seed=cfg.seed,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        train = HFDataset.from_list(rows)
        t0, c0 = time.perf_counter(), time.process_time()
        trainer = DPOTrainer(
            model=model, args=args, train_dataset=train, processing_class=tokenizer
        )
        trainer.train()
        return time.perf_counter() - t0, time.process_time() - c0


def _rss_bytes() -> int:
    """Resident set size of this process now (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples the resident set size every 5 ms while the block runs; ``peak`` is the
    highest seen. (ru_maxrss would include everything the process did before.)"""

    def __enter__(self) -> PeakRss:
        self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def bench_dpo_memory() -> None:
    """Peak memory of a short DPO refit with the held-out evaluation on (eval prompts,
    KL and samples), the case that used to deep-copy the policy."""
    path = default_model_dir()
    model, tokenizer = load_causal_lm(path)
    cfg = DPOConfig(
        batch_size=4,
        max_prompt_tokens=64,
        max_response_tokens=48,
        max_steps=2,
        eval_prompts=int(os.environ.get("BENCH_DPO_EVAL_PROMPTS", "8")),
        eval_max_new_tokens=int(os.environ.get("BENCH_DPO_EVAL_TOKENS", "48")),
        device="cuda" if torch.cuda.is_available() else "cpu",
    )
    records = hh_records(40)
    ds = build_dataset(records, val_fraction=0.3, seed=0)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    if cfg.device == "cuda":
        model.to("cuda")
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    baseline = _rss_bytes()
    with PeakRss() as rss:
        train_dpo(model, tokenizer, ds, cfg)
    mb = 1024 * 1024
    print(
        f"dpo memory: SmolLM2-135M-Instruct fp32 ({weights / mb:.0f} MB of weights), "
        f"{len(ds.train_pairs)} train / {len(ds.val_pairs)} val pairs, {cfg.max_steps} steps, "
        f"eval_prompts {cfg.eval_prompts} x {cfg.eval_max_new_tokens} new tokens, {cfg.device}"
    )
    print(f"dpo peak RSS above the loaded model: {(rss.peak - baseline) / mb:.0f} MB")
    if cfg.device == "cuda":
        peak = torch.cuda.max_memory_allocated() - base
        print(f"dpo peak CUDA memory above the loaded model: {peak / mb:.0f} MB")
    print(f"dpo a second model copy would add about: {weights / mb:.0f} MB")


def main() -> None:
    if not HH.is_file():
        print(f"bench_training: {HH} missing; nothing measured")
        return
    t0 = time.perf_counter()
    if os.environ.get("BENCH_ONLY") == "dpo_memory":
        bench_dpo_memory()
        print(f"bench_training total: {time.perf_counter() - t0:.0f} s")
        return
    cache = Path(settings.CHORUS_MODEL_DIR) / "feature-cache"
    bench_reward(cache)
    bench_dpo()
    bench_dpo_memory()
    print(f"bench_training total: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
