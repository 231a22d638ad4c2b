"""What one optimizer step costs the paper model, per AdamW implementation, in one run.

    OMP_NUM_THREADS=1 python benchmarks/bench_optimizer.py [--steps 500] [--repeats 5]

The paper model has 53 parameter tensors and 180,240 numbers: AdamW's arithmetic is nothing, its per-tensor loop is
the cost. The main job's sentence-disjoint setting makes about 28,000 steps of batch 16 (about 24 ms each), so a
millisecond per step is about half a minute of the main job. ``hub_scripts.train`` asks the Trainer for the fused
kernel (``optim="adamw_torch_fused"``); this prints each variant's CPU time per step (best of ``--repeats``,
interleaved) and its ratio to the fused one, and checks that they move the weights alike.
"""

from __future__ import annotations

import argparse
import time

import torch

from modeling_signattention import SignAttentionConfig, SignAttentionForConditionalGeneration

VARIANTS = {
    "for-loop (torch's CPU default)": {"foreach": False},
    "foreach": {"foreach": True},
    "fused (hub_scripts.train)": {"fused": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=500, help="optimizer steps per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = SignAttentionForConditionalGeneration(SignAttentionConfig(vocab_size=320))
    start = {name: tensor.detach().clone() for name, tensor in model.named_parameters()}
    gradients = {name: torch.randn_like(tensor) for name, tensor in model.named_parameters()}
    params = dict(model.named_parameters())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {len(params)} parameter tensors, "
        f"{sum(p.numel() for p in params.values()):,} numbers"
    )
    optimizers, seconds = {}, {name: [] for name in VARIANTS}
    for name, kwargs in VARIANTS.items():
        copies = [torch.nn.Parameter(start[key].clone()) for key in params]
        for copy, key in zip(copies, params, strict=True):
            copy.grad = gradients[key]
        optimizers[name] = (torch.optim.AdamW(copies, lr=3e-3, weight_decay=0.01, **kwargs), copies)
    for _ in range(args.repeats):
        for name, (optimizer, _) in optimizers.items():
            optimizer.step()  # warm: state allocated
            begin = time.process_time()
            for _ in range(args.steps):
                optimizer.step()
            seconds[name].append((time.process_time() - begin) / args.steps)
    fused = min(seconds["fused (hub_scripts.train)"])
    reference = optimizers["for-loop (torch's CPU default)"][1]
    for name, (_, copies) in optimizers.items():
        gap = max((a - b).abs().max().item() for a, b in zip(copies, reference, strict=True))
        best = min(seconds[name])
        print(
            f"  {name:32s} {best * 1e3:6.3f} ms per step   {best / fused:5.2f}x fused   "
            f"largest weight difference to the for-loop after the same steps: {gap:.1e}"
        )


if __name__ == "__main__":
    main()
