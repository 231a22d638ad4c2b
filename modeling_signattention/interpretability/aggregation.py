"""Attention maps of many clips on one axis.

Clips differ in length, so attention maps are compared on a common, relative time axis: each row is resampled to
``num_bins`` bins of the clip (0 % = first frame, 100 % = last), then averaged over sentences with the same number
of glosses, as in the paper's per-length figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def resample_attention(attention: np.ndarray, num_bins: int = 100) -> np.ndarray:
    """`(n_glosses, n_frames)` -> `(n_glosses, num_bins)`: rows linearly interpolated onto relative time.

    Frame i sits at the centre of its slice of the clip, ``(i + 0.5) / n_frames``; each resampled row is scaled
    back to sum to 1, so that long and short clips weigh the same in an average.
    """
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 2 or attention.shape[1] == 0:
        raise ValueError(
            f"attention must be (n_glosses, n_frames) with n_frames >= 1, got shape {attention.shape}"
        )
    num_frames = attention.shape[1]
    frame_times = (np.arange(num_frames) + 0.5) / num_frames
    bin_times = (np.arange(num_bins) + 0.5) / num_bins
    resampled = np.stack([np.interp(bin_times, frame_times, row) for row in attention]).reshape(-1, num_bins)
    totals = resampled.sum(axis=1, keepdims=True)
    return np.divide(resampled, totals, out=np.zeros_like(resampled), where=totals > 0)


def mean_attention_by_length(
    attentions: Sequence[np.ndarray], num_bins: int = 100
) -> dict[int, tuple[np.ndarray, int]]:
    """Sentence length -> (mean resampled cross-attention `(length, num_bins)`, number of sentences averaged).

    Empty predictions have no rows and are left out; lengths come out in increasing order.
    """
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for attention in attentions:
        length = len(attention)
        if length == 0:
            continue
        resampled = resample_attention(attention, num_bins)
        sums[length] = sums.get(length, 0) + resampled
        counts[length] = counts.get(length, 0) + 1
    return {length: (sums[length] / counts[length], counts[length]) for length in sorted(sums)}
