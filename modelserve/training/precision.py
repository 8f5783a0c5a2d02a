"""Mixed precision for the DPO loop: the model computes in bf16, the optimizer updates fp32
master copies of the trained weights. No Django here.

Why fp32 masters: a bf16 number keeps 8 significant bits, so near a weight of 0.05 its
spacing is about 2e-4, and an AdamW step at lr 5e-6 (about lr per weight) is rounded away
entirely. A model trained in bf16 alone barely moves.

Why not autocast: autocast keeps fp32 weights and casts each one at every use, forward and
backward. For SmolLM2 that is some 400 extra kernel launches per step, and a training step
of a model this small on a GPU is bound by launches, not arithmetic (bench/bench_dpo_gpu.py
measured thousands of kernels of about 10 us each per step). Here the trained weights and
their gradients live in one flat bf16 buffer each, and the masters in one flat fp32
buffer: moving gradients to the masters, clipping, the AdamW step and writing the weights
back are one kernel or a few each, whatever the number of tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def resolve(precision: str, device: str) -> str:
    """``"bf16"`` or ``"fp32"``: ``"auto"`` is bf16 on a GPU that has it, else fp32."""
    if precision == "auto":
        on_gpu = torch.device(device).type == "cuda"
        return "bf16" if on_gpu and torch.cuda.is_bf16_supported() else "fp32"
    if precision in ("bf16", "fp32"):
        return precision
    raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")


class MasterWeights:
    """The fp32 weights of a model that now runs in bf16.

    Made before anything uses the model in bf16: it keeps each parameter's fp32 value and
    converts the parameters (buffers such as rotary frequencies stay fp32). ``train`` takes
    the parameters the optimizer will update (after LoRA adapters exist, if any) and
    returns the one fp32 master tensor to give the optimizer. Per step: ``zero_grad``
    before the backward pass, ``grads_to_master`` after it, the optimizer's step, then
    ``master_to_model``. ``restore`` puts fp32 weights back into the model: the masters
    where trained, the kept values elsewhere, so what the run did not train is unchanged
    to the bit.
    """

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.bfloat16):
        self.model, self.dtype = model, dtype
        self.kept: dict[int, Tensor] = {}
        with torch.no_grad():
            for p in model.parameters():
                self.kept[id(p)] = p.detach().clone()
                p.data = p.data.to(dtype)
        self.trained: list[nn.Parameter] = []
        self.master = nn.Parameter(torch.zeros(0))
        self.flat_grad = torch.zeros(0)
        self.flat = torch.zeros(0)

    def train(self, params: Sequence[nn.Parameter]) -> list[nn.Parameter]:
        if not params:
            raise ValueError("No trainable parameters.")
        device = params[0].device
        n = sum(p.numel() for p in params)
        self.flat = torch.empty(n, dtype=self.dtype, device=device)
        self.flat_grad = torch.zeros(n, dtype=self.dtype, device=device)
        master = torch.empty(n, dtype=torch.float32, device=device)
        offset = 0
        with torch.no_grad():
            for p in params:
                k = p.numel()
                # A new parameter (a LoRA adapter) has no kept value: it starts from its bf16 one.
                start = self.kept.pop(id(p), None)
                master[offset : offset + k].copy_((p if start is None else start).reshape(-1))
                self.flat[offset : offset + k].copy_(p.reshape(-1))
                # The parameter and its gradient become views of the flat buffers: the
                # backward pass accumulates into them in place.
                p.data = self.flat[offset : offset + k].view_as(p)
                p.grad = self.flat_grad[offset : offset + k].view_as(p)
                offset += k
        self.trained = list(params)
        self.master = nn.Parameter(master)
        self.master.grad = torch.zeros_like(master)
        return [self.master]

    def zero_grad(self) -> None:
        self.flat_grad.zero_()

    @torch.no_grad()
    def grads_to_master(self) -> None:
        assert self.master.grad is not None  # set in train(); the loop never clears it
        self.master.grad.copy_(self.flat_grad)

    @torch.no_grad()
    def master_to_model(self) -> None:
        self.flat.copy_(self.master)

    @torch.no_grad()
    def restore(self) -> None:
        offset = 0
        for p in self.trained:
            k = p.numel()
            p.data = self.master[offset : offset + k].detach().view_as(p).clone()
            p.grad = None
            offset += k
        trained = {id(p) for p in self.trained}
        for p in self.model.parameters():
            if id(p) in self.kept:
                p.data = self.kept.pop(id(p))
            elif id(p) not in trained:
                p.data = p.data.float()
        self.flat = self.flat_grad = torch.zeros(0)
