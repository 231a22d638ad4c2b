"""The interpretability figures (matplotlib, imported only when drawing; files only, no display needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_mean_attention_grid(
    means: dict[int, tuple[np.ndarray, int]],
    path: str | Path,
    title: str = "Mean cross-attention by sentence length",
) -> None:
    """One heatmap per sentence length: rows = gloss position, columns = relative time in the clip."""
    if not means:
        raise ValueError("No sentence to draw: mean_attention_by_length returned nothing")
    plt = _pyplot()
    columns = min(4, len(means))
    rows = math.ceil(len(means) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.4 * rows), squeeze=False)
    for axis in axes.flat[len(means) :]:
        axis.set_visible(False)
    for axis, (length, (mean, count)) in zip(axes.flat, means.items()):
        axis.imshow(
            mean, aspect="auto", cmap="viridis", interpolation="nearest", extent=(0, 100, length + 0.5, 0.5)
        )
        axis.set_title(f"{length} gloss{'es' if length > 1 else ''} (n={count})", fontsize=9)
        axis.set_yticks(range(1, length + 1))
        axis.tick_params(labelsize=7)
    for axis in axes[-1]:
        axis.set_xlabel("time in clip (%)", fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel("gloss", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_cross_attention(
    attention: np.ndarray,
    glosses: Sequence[str],
    path: str | Path,
    spans: Sequence[tuple[int, int]] | None = None,
    title: str = "Cross-attention",
) -> None:
    """One sentence's cross-attention (rows = predicted glosses, columns = model frames), gold spans boxed in red
    and each row's peak marked, so a reader sees at once whether the peak falls inside its span."""
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    n_glosses, n_frames = attention.shape
    figure, axis = plt.subplots(figsize=(max(6.0, n_frames / 10), 1.2 + 0.45 * n_glosses))
    image = axis.imshow(attention, aspect="auto", cmap="viridis", interpolation="nearest")
    for row, (start, end) in enumerate(spans or []):
        axis.add_patch(
            Rectangle((start - 0.5, row - 0.5), end - start, 1, fill=False, edgecolor="red", linewidth=1.5)
        )
    axis.scatter(attention.argmax(axis=1), range(n_glosses), marker="x", color="white", s=20, label="peak")
    axis.set_yticks(range(n_glosses), glosses, fontsize=8)
    axis.set_xlabel("model frame")
    axis.set_title(title + (" (red: gold gloss spans)" if spans else ""), fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.03)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_encoder_attention(
    attention: np.ndarray, path: str | Path, title: str = "Encoder self-attention"
) -> None:
    """Frame-to-frame self-attention of the encoder (rows = queries)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 5))
    image = axis.imshow(attention, cmap="viridis", interpolation="nearest")
    axis.set_xlabel("key frame")
    axis.set_ylabel("query frame")
    axis.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_contributions(
    by_step: dict[str, list], path: str | Path, title: str = "Video vs previous tokens"
) -> None:
    """Per decoding step: the cross-attention (video) share of the two blocks' norms, and self - cross."""
    plt = _pyplot()
    steps = np.arange(1, len(by_step["norm_ratio"]) + 1)
    figure, axis = plt.subplots(figsize=(6.5, 3.6))
    axis.plot(
        steps, by_step["norm_ratio"], marker="o", color="tab:blue", label="||cross|| / (||cross|| + ||self||)"
    )
    axis.set_ylim(0, 1)
    axis.set_xlabel("decoding step (gloss position)")
    axis.set_ylabel("video share", color="tab:blue")
    other = axis.twinx()
    other.plot(steps, by_step["self_minus_cross"], marker="s", color="tab:orange", label="mean(self - cross)")
    other.set_ylabel("mean(self - cross)", color="tab:orange")
    for step, count in zip(steps, by_step["num_samples"]):
        axis.annotate(str(count), (step, 0.02), ha="center", fontsize=6, color="gray")
    axis.set_title(title + " (gray: sentences reaching the step)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
