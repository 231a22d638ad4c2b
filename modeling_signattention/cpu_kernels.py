"""Two CPU speed-ups of training, kept out of the model file so that it reads as the model: a cheaper dropout mask
and a feed-forward block computed a few hundred rows at a time.

Both give the plain modules' results (the feed-forward up to the order of float sums); the model file picks them
on CPU only (``SignAttentionFeedForward``, ``eager_attention_forward``). Measured on the project's 2-core CPU, where
this model trains; saved with the model, as the model file imports it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def dropout_keep_mask(shape: tuple[int, ...], p: float) -> tuple[torch.Tensor, float]:
    """A CPU dropout mask (True = keep) and its scale, from 16 random bits per element.

    ``bernoulli_`` draws one 32-bit number per element through a slow path on CPU: for the feed-forward's
    `(rows, 2048)` activations it cost more than the matmuls around it. Four elements per 64-bit draw of the same
    generator (so ``torch.manual_seed`` still makes runs repeatable) are 5x cheaper. The drop probability is p
    rounded to a multiple of 1/65536, and the scale is exact for that rounded probability.
    """
    count = math.prod(shape)
    words = torch.empty((count + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
    dropped = round(p * 65536)
    keep = words.view(torch.int16)[:count].view(shape) >= dropped - 32768
    return keep, 65536 / (65536 - dropped)


def dropout_on_cpu(hidden: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """``nn.functional.dropout``, with ``dropout_keep_mask`` on CPU."""
    if not training or p == 0:
        return hidden
    if hidden.device.type != "cpu":
        return nn.functional.dropout(hidden, p, training=True)
    keep, scale = dropout_keep_mask(hidden.shape, p)
    return hidden * keep * scale


class ReluFeedForwardInChunks(torch.autograd.Function):
    """``fc2(dropout(relu(fc1(x))))`` on rows of ``x``, a block of rows at a time, recomputed in backward.

    Why: the model's only large tensor is this block's `(rows, 2048)` inner activation (~58 MB for a batch of 64
    clips of ~110 frames). Built whole, it is written, read back by ReLU, dropout and fc2, kept for backward, and
    its pages are faulted in and returned to the OS at every step. In blocks of a few hundred rows it lives in the
    CPU cache from fc1 to fc2; backward recomputes each block (one matmul with 16-long rows, cheaper than keeping
    it) and accumulates the weight gradients block by block. Same function and gradients as the plain modules, up
    to the order of float sums; only dropout's keep-mask (1 byte per element) is kept between the passes.
    """

    @staticmethod
    def forward(ctx, hidden, fc1_weight, fc1_bias, fc2_weight, fc2_bias, dropout: float, block_rows: int):
        output = hidden.new_empty(hidden.shape[0], fc2_weight.shape[0])
        keep_masks, scale = [], 1.0
        for start in range(0, hidden.shape[0], block_rows):
            rows = slice(start, start + block_rows)
            inner = torch.addmm(fc1_bias, hidden[rows], fc1_weight.t()).relu_()
            if dropout > 0:
                keep, scale = dropout_keep_mask(inner.shape, dropout)
                inner.mul_(keep).mul_(scale)
                keep_masks.append(keep)
            torch.addmm(fc2_bias, inner, fc2_weight.t(), out=output[rows])
        ctx.save_for_backward(hidden, fc1_weight, fc1_bias, fc2_weight, *keep_masks)
        ctx.block_rows, ctx.scale = block_rows, scale
        return output

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):
        hidden, fc1_weight, fc1_bias, fc2_weight, *keep_masks = ctx.saved_tensors
        grad_output = grad_output.contiguous()
        grad_hidden = torch.empty_like(hidden)
        grad_fc1_weight_t = fc1_weight.new_zeros(fc1_weight.shape[1], fc1_weight.shape[0])
        grad_fc1_bias = torch.zeros_like(fc1_bias)
        grad_fc2_weight = torch.zeros_like(fc2_weight)
        for block, start in enumerate(range(0, hidden.shape[0], ctx.block_rows)):
            rows = slice(start, start + ctx.block_rows)
            inputs, grad_block = hidden[rows], grad_output[rows]
            relu_output = torch.addmm(fc1_bias, inputs, fc1_weight.t()).relu_()
            grad_inner = grad_block @ fc2_weight
            if keep_masks:
                keep = keep_masks[block]
                grad_fc2_weight.addmm_(grad_block.t(), relu_output * keep, alpha=ctx.scale)
                grad_inner.mul_(keep).mul_(ctx.scale)
            else:
                grad_fc2_weight.addmm_(grad_block.t(), relu_output)
            grad_inner = torch.ops.aten.threshold_backward(grad_inner, relu_output, 0)
            grad_fc1_bias += grad_inner.sum(0)
            grad_fc1_weight_t.addmm_(inputs.t(), grad_inner)
            torch.mm(grad_inner, fc1_weight, out=grad_hidden[rows])
        grad_fc2_bias = grad_output.sum(0)
        return grad_hidden, grad_fc1_weight_t.t(), grad_fc1_bias, grad_fc2_weight, grad_fc2_bias, None, None


__all__ = ["ReluFeedForwardInChunks", "dropout_keep_mask", "dropout_on_cpu"]
