"""The SignAttention paper's claims about gloss-to-frame cross-attention, as numbers.

Dal Bianco et al. (2024, arXiv:2410.14506) read three findings off the decoder's cross-attention maps:

1. *Diagonality*: "a diagonal alignment pattern emerging between poses and glosses", i.e. each predicted
   gloss attends later in the video than the one before it. Measured by ``diagonality`` (Spearman rank
   correlation between token position and the attention centroid) and ``monotonicity`` (share of
   consecutive tokens whose centroid moves forward).
2. *Clusters*: "the model pays attention to clusters of frames rather than individual ones". Measured by
   ``cluster_score`` and ``cluster_fraction`` (see :func:`compute_attention_alignment`).
3. *Fading with length*: the diagonal "becomes less distinct as the number of glosses increases". Every
   score is therefore also reported per sentence length (``by_length``).

With gold gloss boundaries, ``gold_*`` scores check the alignment against where each gloss is actually signed.

Any non-negative gloss-to-frame map can be scored, not only attention: each row is divided by its sum first (a
map says where a gloss's credit goes, not how much there is), so attention, gradient attributions and baselines
are scored alike. NaN, infinite or negative entries and rows with no mass are rejected, naming the sample.

Conventions: frames are indexed 0..n_frames-1; a token's *centroid* is the attention-weighted mean frame
index, rounded to 1e-6 frame so that float noise neither breaks ties nor counts as a move.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike

from ._validation import finite_matrix, require_samples

CLUSTERED_THRESHOLD = 0.5
"""A row is *clustered* when its cluster score reaches this value (see :func:`compute_attention_alignment`)."""

_CENTROID_DECIMALS = 6

Span = tuple[int, int]


@dataclass
class _Totals:
    """Additive per-sample quantities, so that every group of samples (the whole set, or all samples of one
    sentence length) is summarised by the same :func:`_summary`."""

    samples: int = 0
    tokens: int = 0
    spearman_sum: float = 0.0
    spearman_samples: int = 0
    forward_pairs: int = 0
    pairs: int = 0
    cluster_sum: float = 0.0
    clustered_rows: int = 0
    cluster_rows: int = 0
    peak_hits: float = 0.0
    peak_hits_1frame: float = 0.0
    centroid_hits: int = 0
    span_mass_sum: float = 0.0

    def __add__(self, other: _Totals) -> _Totals:
        return _Totals(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


def _ratio(numerator: float, denominator: int) -> float | None:
    """``numerator / denominator`` as a float, or ``None`` when there is nothing to average (never 0)."""
    return float(numerator / denominator) if denominator else None


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as ``scipy.stats.rankdata``)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    return (last_rank - (counts - 1) / 2)[inverse]


def _spearman_with_position(centroids: np.ndarray) -> float:
    """Spearman correlation between token position 0..n-1 and the centroids.

    When all centroids coincide the attention carries no temporal order at all; that is scored 0 (no
    diagonal) rather than excluded, so that a model that attends everywhere alike is not left out.
    """
    if np.all(centroids == centroids[0]):
        return 0.0
    # Pearson's r of the positions and the ranks, written out: np.corrcoef costs 5x more on these short rows.
    positions = np.arange(len(centroids)) - (len(centroids) - 1) / 2
    ranks = _average_ranks(centroids)
    ranks -= ranks.mean()
    return float(positions @ ranks / math.sqrt((positions @ positions) * (ranks @ ranks)))


def _cluster_scores(cumulative: np.ndarray, width: int) -> np.ndarray:
    """Per row: (best window mass - chance) / (1 - chance), with chance = width / n_frames.

    ``cumulative[:, j]`` is the attention mass of frames ``0..j-1``, so any window's mass is one subtraction.
    """
    n_frames = cumulative.shape[1] - 1
    best_window_mass = (cumulative[:, width:] - cumulative[:, :-width]).max(axis=1)
    chance = width / n_frames
    return (best_window_mass - chance) / (1 - chance)


def _peak_hits(is_peak: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> float:
    """Number of rows whose peak frame (``is_peak``: the row's maxima) lies in ``[start, end)``; a peak shared by
    several frames counts as a random pick among them (the share of them inside), so a flat row scores the share
    of frames in its span."""
    frames = np.arange(is_peak.shape[1])
    inside = (starts[:, None] <= frames) & (frames < ends[:, None])
    return float(np.sum((is_peak & inside).sum(axis=1) / is_peak.sum(axis=1)))


def _sample_totals(attention: np.ndarray, spans: np.ndarray | None, window: int | None) -> _Totals:
    """One checked sample's share of every score; see :func:`compute_attention_alignment` for definitions."""
    n_tokens, n_frames = attention.shape
    centroids = np.round(attention @ np.arange(n_frames), _CENTROID_DECIMALS)
    cumulative = np.zeros((n_tokens, n_frames + 1))
    np.cumsum(attention, axis=1, out=cumulative[:, 1:])
    totals = _Totals(samples=1, tokens=n_tokens)

    if n_tokens >= 2:
        totals.spearman_sum = _spearman_with_position(centroids)
        totals.spearman_samples = 1
        totals.forward_pairs = int(np.sum(np.diff(centroids) > 0))
        totals.pairs = n_tokens - 1

    width = window if window is not None else math.ceil(n_frames / max(n_tokens, 1))
    if width < n_frames:
        scores = _cluster_scores(cumulative, width)
        totals.cluster_sum = float(scores.sum())
        totals.clustered_rows = int(np.sum(scores >= CLUSTERED_THRESHOLD))
        totals.cluster_rows = n_tokens

    if spans is not None:
        starts, ends = spans[:, 0], spans[:, 1]
        is_peak = attention == attention.max(axis=1, keepdims=True)
        totals.peak_hits = _peak_hits(is_peak, starts, ends)
        totals.peak_hits_1frame = _peak_hits(is_peak, starts - 1, ends + 1)
        totals.centroid_hits = int(np.sum((starts - 0.5 <= centroids) & (centroids < ends - 0.5)))
        rows = np.arange(n_tokens)
        totals.span_mass_sum = float(np.sum(cumulative[rows, ends] - cumulative[rows, starts]))
    return totals


def _summary(totals: _Totals, with_gold: bool) -> dict[str, float | int | None]:
    summary: dict[str, float | int | None] = {
        "num_samples": totals.samples,
        "num_tokens": totals.tokens,
        "diagonality": _ratio(totals.spearman_sum, totals.spearman_samples),
        "diagonality_num_samples": totals.spearman_samples,
        "diagonality_num_excluded": totals.samples - totals.spearman_samples,
        "monotonicity": _ratio(totals.forward_pairs, totals.pairs),
        "monotonicity_num_pairs": totals.pairs,
        "cluster_score": _ratio(totals.cluster_sum, totals.cluster_rows),
        "cluster_fraction": _ratio(totals.clustered_rows, totals.cluster_rows),
        "cluster_num_tokens": totals.cluster_rows,
        "cluster_num_excluded": totals.tokens - totals.cluster_rows,
    }
    if with_gold:
        summary["gold_peak_accuracy"] = _ratio(totals.peak_hits, totals.tokens)
        summary["gold_peak_accuracy_1frame"] = _ratio(totals.peak_hits_1frame, totals.tokens)
        summary["gold_centroid_accuracy"] = _ratio(totals.centroid_hits, totals.tokens)
        summary["gold_span_mass"] = _ratio(totals.span_mass_sum, totals.tokens)
    return summary


def _checked_attention(attention: ArrayLike, sample: int) -> np.ndarray:
    """The map with every row divided by its sum; NaN, negative entries or a row with no mass are errors."""
    matrix = finite_matrix(attention, "attention", sample)
    if matrix.shape[1] == 0:
        raise ValueError(f"sample {sample}: attention has no frames")
    if (matrix < 0).any():
        raise ValueError(f"sample {sample}: attention has negative weights")
    row_sums = matrix.sum(axis=1)
    if (row_sums == 0).any():
        raise ValueError(f"sample {sample}: token {int(np.argmin(row_sums))} has no attention mass")
    return matrix / row_sums[:, None]


def _checked_spans(spans: Sequence[Span] | None, n_tokens: int, n_frames: int, sample: int) -> np.ndarray:
    if spans is None:
        raise ValueError(f"sample {sample}: spans missing; give spans for every sample or for none")
    if len(spans) != n_tokens:
        raise ValueError(f"sample {sample}: {len(spans)} spans given for {n_tokens} tokens")
    array = np.asarray(spans) if n_tokens else np.empty((0, 2), dtype=np.int64)
    if array.shape != (n_tokens, 2) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"sample {sample}: spans must be (start, end) pairs of integer frame indices")
    starts, ends = array[:, 0], array[:, 1]
    bad = (starts < 0) | (ends > n_frames) | (starts >= ends)
    if bad.any():
        token = int(np.argmax(bad))
        raise ValueError(
            f"sample {sample}: span {tuple(array[token].tolist())} of token {token} is empty or outside "
            f"the {n_frames} frames (spans are [start, end) frame indices)"
        )
    return array


def compute_attention_alignment(
    attentions: Sequence[ArrayLike],
    spans: Sequence[Sequence[Span] | None] | None = None,
    *,
    window: int | None = None,
) -> dict:
    """Score how diagonal, clustered and (with gold spans) correct gloss-to-frame cross-attention is.

    Args:
        attentions: per sample, a non-negative map ``(n_tokens, n_frames)``: predicted gloss tokens (BOS/EOS
            rows already removed) by real frames (padding removed), e.g. the cross-attention averaged over
            heads or an attribution map. Each row is divided by its sum before scoring.
        spans: optional gold gloss spans per sample, one ``(start, end)`` frame range per token, end
            exclusive, on the matrix's frame axis. Either for every sample or ``None``.
        window: width in frames of the cluster window; by default ``ceil(n_frames / n_tokens)`` per sample,
            the share of the video each gloss would get if glosses were signed back to back.

    Scores (each an average over the samples, pairs or tokens it is defined for):

    * ``diagonality``: mean over samples of the Spearman correlation between token position and centroid:
      1 for a perfect diagonal, -1 for a reversed one, 0 when all centroids coincide. Undefined for
      samples with fewer than 2 tokens, which are excluded and counted in ``diagonality_num_excluded``.
    * ``monotonicity``: share of consecutive token pairs (pooled over samples) whose centroid moves
      strictly forward: 1 for a diagonal, 0 for a reversed or flat one.
    * ``cluster_score``: mean over tokens of ``(M - u) / (1 - u)`` where ``M`` is the attention mass in the
      best contiguous window of ``window`` frames and ``u = window / n_frames`` the mass uniform attention
      puts in any such window. Uniform attention scores 0, all mass inside one window scores 1, and mass
      scattered over isolated frames scores about 0 or slightly below (it can beat chance by less than
      uniform attention does). Undefined when the window covers the whole video (``u = 1``, e.g. 1-token
      samples with the default width): those tokens are excluded and counted in ``cluster_num_excluded``.
    * ``cluster_fraction``: share of tokens whose cluster score is at least :data:`CLUSTERED_THRESHOLD`,
      i.e. whose best window holds at least half of the mass above chance. (A plain "half the mass in one
      window" would call uniform attention clustered whenever the window spans half the video.)
    * ``gold_peak_accuracy`` / ``gold_centroid_accuracy``: share of tokens whose argmax frame / centroid
      lies in the token's gold span (the centroid counts as inside when its nearest frame does; a peak tied
      over several frames counts the share of them inside); ``gold_peak_accuracy_1frame``: the same peak
      within one frame of the span (a frame of tolerance for boundaries drawn a frame early or late);
      ``gold_span_mass``: mean attention mass inside the gold span. Only present when spans are given.

    Returns:
        The scores above with their counts (``num_samples``, ``num_tokens``, ``diagonality_num_samples``,
        ``diagonality_num_excluded``, ``monotonicity_num_pairs``, ``cluster_num_tokens``,
        ``cluster_num_excluded``), plus ``by_length``: the same dict (without ``by_length``) for each
        sentence length (number of tokens), keyed by that length in increasing order. A score with nothing
        to average over is ``None``, never 0. Samples with no tokens are counted but score nothing.

    Raises:
        ValueError: no samples; a matrix that is not 2-D, has no frames, holds NaN/inf or negative values,
            or has a row with no mass; spans given for some samples only, not one per token, empty or
            outside the matrix; ``window`` < 1. Messages name the sample index.
    """
    require_samples(attentions, "attention matrices")
    if spans is not None and len(spans) != len(attentions):
        raise ValueError(f"got spans for {len(spans)} samples but {len(attentions)} attention matrices")
    if window is not None and window < 1:
        raise ValueError(f"window must be at least 1 frame, got {window}")

    by_length: defaultdict[int, _Totals] = defaultdict(_Totals)
    for sample, attention in enumerate(attentions):
        matrix = _checked_attention(attention, sample)
        gold = None if spans is None else _checked_spans(spans[sample], *matrix.shape, sample)
        by_length[matrix.shape[0]] += _sample_totals(matrix, gold, window)

    with_gold = spans is not None
    result: dict = _summary(sum(by_length.values(), _Totals()), with_gold)
    result["by_length"] = {length: _summary(by_length[length], with_gold) for length in sorted(by_length)}
    return result
