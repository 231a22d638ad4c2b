"""How much of each decoding step comes from the video and how much from the previous tokens.

The SignAttention paper (Dal Bianco et al., 2024, arXiv:2410.14506) compares, at each decoding step, the
output of the decoder's self-attention block (what the step takes from the previously predicted tokens)
with that of its cross-attention block (what it takes from the pose frames), and finds that "the model
initially relies on video frames but shifts its focus to previously predicted tokens as the translation
progresses". Both blocks' outputs are taken *before* their residual additions, so each is only that
block's own contribution.

Two measures per step, both reported per step index and per sentence length, since the claim is about how
the balance moves along the sentence:

* ``norm_ratio`` = ||cross|| / (||cross|| + ||self||), in [0, 1]: 0 when the step ignores the video, 1 when
  it ignores the previous tokens. Scale-free, so steps and models are comparable.
* ``self_minus_cross`` = mean over d_model of (self - cross): the paper's own measure; it rises as the
  model turns from the video to the previous tokens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._validation import finite_matrix, require_samples


def _step_contributions(self_block: ArrayLike, cross_block: ArrayLike, sample: int) -> dict[str, np.ndarray]:
    self_out = finite_matrix(self_block, "self_block", sample)
    cross_out = finite_matrix(cross_block, "cross_block", sample)
    if self_out.shape != cross_out.shape:
        raise ValueError(
            f"sample {sample}: self_block {self_out.shape} and cross_block {cross_out.shape} differ in shape"
        )
    if self_out.shape[1] == 0:
        raise ValueError(f"sample {sample}: the blocks have d_model = 0")
    self_norm = np.linalg.norm(self_out, axis=1)
    cross_norm = np.linalg.norm(cross_out, axis=1)
    both_zero = (self_norm + cross_norm) == 0
    if both_zero.any():
        raise ValueError(
            f"sample {sample}: both blocks are zero at step {int(np.argmax(both_zero))}, "
            "so the norm ratio is undefined"
        )
    return {
        "norm_ratio": cross_norm / (cross_norm + self_norm),
        "self_minus_cross": (self_out - cross_out).mean(axis=1),
    }


def _mean_curves(curves: list[dict[str, np.ndarray]]) -> tuple[dict[str, list[float]], list[int]]:
    """Average per-step curves of possibly different lengths step by step; also return the count per step."""
    longest = max(len(curve["norm_ratio"]) for curve in curves)
    counts = np.zeros(longest, dtype=np.int64)
    sums = {"norm_ratio": np.zeros(longest), "self_minus_cross": np.zeros(longest)}
    for curve in curves:
        steps = len(curve["norm_ratio"])
        counts[:steps] += 1
        for name, total in sums.items():
            total[:steps] += curve[name]
    return {name: (total / counts).tolist() for name, total in sums.items()}, counts.tolist()


def compute_decoder_contributions(
    self_blocks: Sequence[ArrayLike], cross_blocks: Sequence[ArrayLike]
) -> dict:
    """Per decoding step, the video's (cross-attention) versus the previous tokens' (self-attention) share.

    Args:
        self_blocks: per sample, ``(n_steps, d_model)`` outputs of a decoder layer's self-attention block
            before the residual add, one row per actually predicted token.
        cross_blocks: per sample, the matching ``(n_steps, d_model)`` cross-attention block outputs.

    Returns:
        * ``num_samples``, ``num_steps`` (total over samples);
        * ``norm_ratio``, ``self_minus_cross``: means over all steps of all samples (``None`` without steps);
        * ``by_step``: ``{"norm_ratio": [...], "self_minus_cross": [...], "num_samples": [...]}``, the mean
          at each step index over the samples that reach it, and how many do;
        * ``by_length``: for each sentence length (number of steps), in increasing order,
          ``{"norm_ratio": [...], "self_minus_cross": [...], "num_samples": n}``: the mean curve over the
          ``n`` samples of that length (empty lists for length 0);
        * ``per_sample``: ``[{"norm_ratio": [...], "self_minus_cross": [...]}, ...]`` in input order.

    Raises:
        ValueError: no samples or different numbers of self and cross blocks; a block that is not 2-D or
            holds NaN/inf; blocks of one sample with different shapes; both blocks zero at a step (the ratio
            is undefined there). Messages name the sample index.
    """
    require_samples(self_blocks, "decoder blocks")
    if len(self_blocks) != len(cross_blocks):
        raise ValueError(f"got {len(self_blocks)} self_blocks but {len(cross_blocks)} cross_blocks")

    per_sample = [
        _step_contributions(self_block, cross_block, sample)
        for sample, (self_block, cross_block) in enumerate(zip(self_blocks, cross_blocks, strict=True))
    ]
    by_length: defaultdict[int, list[dict[str, np.ndarray]]] = defaultdict(list)
    for curve in per_sample:
        by_length[len(curve["norm_ratio"])].append(curve)

    all_steps = {name: np.concatenate([curve[name] for curve in per_sample]) for name in per_sample[0]}
    num_steps = len(all_steps["norm_ratio"])
    step_means, step_counts = _mean_curves(per_sample)
    return {
        "num_samples": len(per_sample),
        "num_steps": num_steps,
        **{name: float(values.mean()) if num_steps else None for name, values in all_steps.items()},
        "by_step": {**step_means, "num_samples": step_counts},
        "by_length": {
            length: {**_mean_curves(by_length[length])[0], "num_samples": len(by_length[length])}
            for length in sorted(by_length)
        },
        "per_sample": [{name: values.tolist() for name, values in curve.items()} for curve in per_sample],
    }
