"""DPO batches: one row per example (the prompt once, then each completion, which sees
only the prompt and itself) gives exactly the log-probs of separate sequences; padding
cannot poison gradients; statistics read back in groups reach ``on_step`` unchanged."""

from __future__ import annotations

import pytest
import torch

from modelserve.generation.model_files import load_causal_lm
from modelserve.training.dpo import _Stats
from modelserve.training.dpo_batch import (
    Example,
    all_logps,
    collate,
    completion_logps,
    first_completion_ids,
)
from modelserve.training.precision import resolve


def examples() -> list[Example]:
    # Different prompt and completion lengths, so rows are padded to different extents,
    # and a ranked list of three completions next to two pairs.
    return [
        Example([5, 6, 7, 8, 9], [[10, 11, 12], [13, 2]], [0, 1]),
        Example([5, 6], [[20, 21, 22, 23, 24, 25], [26]], [0, 1]),
        Example([7, 8, 9], [[30, 31], [32, 33, 34], [35]], [0, 1, 2]),
    ]


def separate_logps(model, exs: list[Example]) -> list[float]:
    """Each completion as its own sequence, prompt + completion, with no mask at all."""
    out = []
    for ex in exs:
        for comp in ex.completions:
            ids = torch.tensor([ex.prompt + comp])
            logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
            p = len(ex.prompt)
            out.append(sum(logp[p - 1 + j, t].item() for j, t in enumerate(comp)))
    return out


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_one_row_per_example_matches_separate_sequences(tiny_policy_dir, impl):
    model, _ = load_causal_lm(tiny_policy_dir)
    model.set_attn_implementation(impl)
    exs = examples()
    batch = collate(exs, pad_id=0)
    with torch.no_grad():
        sums, counts = completion_logps(model, batch)
        expected = separate_logps(model, exs)
    assert sums.tolist() == pytest.approx(expected, abs=1e-4)
    assert counts.tolist() == [len(c) for ex in exs for c in ex.completions]
    assert batch.n_tokens == sum(ex.length for ex in exs)
    assert batch.input_ids.shape == (3, max(ex.length for ex in exs))


def test_reference_log_probs_land_in_example_order(tiny_policy_dir):
    model, _ = load_causal_lm(tiny_policy_dir)
    exs = examples()
    # Batches of 2, sorted by length: the flat result must still be example-major.
    flat = all_logps(model, exs, batch_size=2, pad_id=0, device="cpu")
    assert first_completion_ids(exs) == [0, 2, 4]
    with torch.no_grad():
        assert flat.tolist() == pytest.approx(separate_logps(model, exs), abs=1e-4)
    batch = collate(exs[1:], pad_id=0, completion_ids=[2, 4])
    assert batch.completion_ids.tolist() == [2, 3, 4, 5, 6]


def test_padding_leaves_every_gradient_finite(tiny_policy_dir):
    model, _ = load_causal_lm(tiny_policy_dir)
    model.train()
    sums, _ = completion_logps(model, collate(examples(), pad_id=0))
    sums.sum().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_statistics_read_in_groups_reach_on_step_in_order():
    heard: list[tuple[int, int, dict[str, float]]] = []
    stats = _Stats(lambda s, t, m: heard.append((s, t, m)), total=5, every=2)
    for step in range(1, 6):
        stats.add(step, {"loss": torch.tensor(step / 10), "acc": torch.tensor(1.0)})
        assert len(heard) == step - step % 2  # nothing is held back past a group
    stats.flush()
    assert [h[0] for h in heard] == [1, 2, 3, 4, 5]
    assert heard[2][2] == pytest.approx({"loss": 0.3, "acc": 1.0})
    assert stats.curves["loss"] == [[s, pytest.approx(s / 10)] for s in range(1, 6)]


def test_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match="precision must be"):
        resolve("fp8", "cpu")
    assert resolve("auto", "cpu") == "fp32"
