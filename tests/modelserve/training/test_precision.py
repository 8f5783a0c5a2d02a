"""bf16 weights with fp32 masters: the GPU's default precision, run here on CPU (the same
code). Small updates survive that bf16 alone rounds away, the saved policy is fp32, and
what a run did not train comes back unchanged to the bit."""

from __future__ import annotations

import math

import torch

from modelserve.generation.model_files import load_causal_lm
from modelserve.training.dpo import DPOConfig, train_dpo
from modelserve.training.precision import MasterWeights
from tests.modelserve.training.test_dpo import dataset, mean_margin


def fp32_copy(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def test_bf16_with_masters_trains_and_returns_fp32_weights(tiny_policy_dir):
    model, tok = load_causal_lm(tiny_policy_dir)
    ds = dataset()
    cfg = DPOConfig(
        lr=1e-3, epochs=2, batch_size=4, eval_prompts=2, eval_max_new_tokens=4, precision="bf16"
    )
    before = mean_margin(model, tok, ds.train_pairs, cfg)
    res = train_dpo(model, tok, ds, cfg)
    assert {p.dtype for p in res.model.parameters()} == {torch.float32}
    assert all(p.grad is None for p in res.model.parameters())
    assert mean_margin(res.model, tok, ds.train_pairs, cfg) > before
    for key in ("val_loss", "train_loss", "kl_to_reference"):
        assert math.isfinite(res.metrics[key]), key


def test_small_updates_survive_in_the_masters_not_in_bf16_alone(tiny_policy_dir):
    ds = dataset(n=8)
    cfg = dict(lr=1e-6, epochs=1, batch_size=4, eval_prompts=0, grad_clip=0.0)
    changed = {}
    for name, precision, dtype in (
        ("masters", "bf16", None),
        ("bf16 alone", "fp32", torch.bfloat16),
    ):
        model, tok = load_causal_lm(tiny_policy_dir, dtype=dtype)
        start = fp32_copy(model)
        train_dpo(model, tok, ds, DPOConfig(precision=precision, **cfg))
        end = fp32_copy(model)
        moved = sum(int((end[n].float() != start[n].float()).sum()) for n in start)
        changed[name] = moved / sum(t.numel() for t in start.values())
    # An Adam step of 1e-6 moves almost every fp32 master; in bf16 it is below half the
    # spacing of the numbers for almost every weight.
    assert changed["masters"] > 0.5, changed
    assert changed["bf16 alone"] < 0.1, changed


def test_lora_in_bf16_leaves_untrained_weights_exact(tiny_policy_dir):
    model, tok = load_causal_lm(tiny_policy_dir)
    start = fp32_copy(model)
    cfg = DPOConfig(lr=1e-2, epochs=1, batch_size=4, eval_prompts=0, lora_rank=4, precision="bf16")
    res = train_dpo(model, tok, dataset(n=8), cfg)
    end = fp32_copy(res.model)
    assert end.keys() == start.keys()
    for n in start:
        if "q_proj" in n or "v_proj" in n:
            assert not torch.equal(end[n], start[n]), n  # adapters merged in
        else:
            assert torch.equal(end[n], start[n]), n


def test_gradients_accumulate_in_the_flat_buffer(tiny_policy_dir):
    model, _ = load_causal_lm(tiny_policy_dir)
    masters = MasterWeights(model)
    params = [p for p in model.parameters()]
    (master,) = masters.train(params)
    assert master.dtype == torch.float32 and master.numel() == sum(p.numel() for p in params)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    out = model(input_ids=torch.tensor([[1, 5, 7, 9]])).logits.float().logsumexp(-1).sum()
    out.backward()
    assert masters.flat_grad.abs().sum() > 0  # the backward pass wrote into the views
    masters.grads_to_master()
    assert torch.equal(master.grad, masters.flat_grad.float())
    with torch.no_grad():
        master.add_(1.0)
    masters.master_to_model()
    masters.restore()
    assert {p.dtype for p in model.parameters()} == {torch.float32}
