"""What returning attention weights costs in the encoder: sdpa (no weights) against the eager path and the other
ways of computing softmax(QK^T)V with the weights that were tried (docs/benchmarks.md, "Attention weights").

    OMP_NUM_THREADS=1 python benchmarks/bench_attention_weights.py

The main job's largest shape: 64 clips x 8 heads x 220 frames, heads of size 2 (d_model 16). CPU time, best of 5,
one thread; every variant is checked against the eager path.
"""

from __future__ import annotations

import time

import torch

from modeling_signattention.modeling_signattention import eager_attention_forward

BATCH, HEADS, FRAMES, HEAD_DIM = 64, 8, 220, 2


def best_cpu_ms(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return min(times) * 1e3


def main() -> None:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(BATCH, HEADS, FRAMES, HEAD_DIM, generator=generator) for _ in range(3))
    lengths = torch.randint(100, FRAMES + 1, (BATCH,), generator=generator)
    padding = torch.arange(FRAMES)[None, :] >= lengths[:, None]
    mask = torch.zeros(BATCH, 1, 1, FRAMES).masked_fill(
        padding[:, None, None, :], torch.finfo(torch.float32).min
    )
    scale = HEAD_DIM**-0.5
    flat = BATCH * HEADS

    module = torch.nn.Module().eval()  # what the function reads of its attention module: .training

    def eager():  # the model's own path, its output back in (batch, heads, frames, head size) like the others'
        output, weights = eager_attention_forward(module, q, k, v, mask, scaling=scale)
        return output.transpose(1, 2), weights

    def fused_mask():
        heads_mask = mask.expand(BATCH, HEADS, 1, FRAMES).reshape(flat, 1, FRAMES)
        scores = torch.baddbmm(
            heads_mask,
            (q * scale).reshape(flat, FRAMES, HEAD_DIM),
            k.reshape(flat, FRAMES, HEAD_DIM).transpose(1, 2),
        )
        weights = torch.softmax(scores, -1, out=scores)
        return torch.bmm(weights, v.reshape(flat, FRAMES, HEAD_DIM)).view_as(q), weights.view(
            BATCH, HEADS, FRAMES, FRAMES
        )

    def blocked(rows: int):
        def run():
            weights, out, scaled = torch.empty(BATCH, HEADS, FRAMES, FRAMES), torch.empty_like(q), q * scale
            for start in range(0, BATCH, rows):
                block = weights[start : start + rows]
                torch.matmul(scaled[start : start + rows], k[start : start + rows].transpose(2, 3), out=block)
                torch.softmax(block.add_(mask[start : start + rows]), -1, out=block)
                torch.matmul(block, v[start : start + rows], out=out[start : start + rows])
            return out, weights

        return run

    with torch.no_grad():
        reference_out, reference_weights = eager()
        sdpa_ms = best_cpu_ms(
            lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        )
        print(f"sdpa, no weights: {sdpa_ms:.1f} ms")
        for name, function in [("eager (the model's)", eager), ("baddbmm, mask fused", fused_mask)] + [
            (f"blocks of {rows} clips", blocked(rows)) for rows in (1, 4, 16)
        ]:
            out, weights = function()
            torch.testing.assert_close(out, reference_out)
            torch.testing.assert_close(weights, reference_weights)
            ms = best_cpu_ms(function)
            print(f"{name}: {ms:.1f} ms, {ms / sdpa_ms:.2f}x sdpa")
        transposed = k.transpose(2, 3).contiguous()
        for name, function in (
            ("matmul", lambda: torch.matmul(q, k.transpose(2, 3))),
            (
                "bmm",
                lambda: torch.bmm(
                    q.reshape(flat, FRAMES, HEAD_DIM), transposed.reshape(flat, HEAD_DIM, FRAMES)
                ),
            ),
            (
                "einsum",
                lambda: torch.einsum(
                    "btd,bsd->bts", q.reshape(flat, FRAMES, HEAD_DIM), k.reshape(flat, FRAMES, HEAD_DIM)
                ),
            ),
            (
                "two multiply-adds",
                lambda: torch.mul(q[..., :1], k[..., 0][:, :, None, :]).addcmul_(
                    q[..., 1:], k[..., 1][:, :, None, :]
                ),
            ),
        ):
            print(f"QK^T alone, {name}: {best_cpu_ms(function):.1f} ms")


if __name__ == "__main__":
    main()
