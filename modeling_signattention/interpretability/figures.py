"""The interpretability figures, for files (``hub_scripts.interpret``, the report) and pages (the Space) alike.

Each ``*_figure`` function builds a ``matplotlib.figure.Figure`` without pyplot (no global state, no display, safe
in a web server's threads); ``plot_*`` writes one to a file and ``to_rgb_array`` turns one into pixels for an
image widget. matplotlib is imported only when drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .schema import TOKEN_NAMES

DPI = 110


def _new_figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(figure: Any, path: str | Path) -> None:
    figure.savefig(path, dpi=DPI)


def to_rgb_array(figure: Any) -> np.ndarray:
    """The figure's pixels, ``(height, width, 3)`` uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def mean_attention_grid_figure(
    means: dict[int, tuple[np.ndarray, int]],
    title: str = "Mean cross-attention by sentence length",
    tokens: tuple[str, str] = TOKEN_NAMES["gloss"],
) -> Any:
    """One heatmap per sentence length: rows = token position, columns = relative time in the clip; ``tokens``
    names the tokens (one, several): glosses, or the words of a text model (``schema.TOKEN_NAMES``).

    Every panel shares one colour scale (0 to the largest mean weight of any panel) and one colour bar, so panels
    can be compared: a pale panel is attention spread thin, not a different scale.
    """
    if not means:
        raise ValueError("No sentence to draw: mean_attention_by_length returned nothing")
    columns = min(4, len(means))
    rows = math.ceil(len(means) / columns)
    figure = _new_figure((3.2 * columns + 0.8, 2.4 * rows + 0.4))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat[len(means) :]:
        axis.set_visible(False)
    top = max(float(np.max(mean)) for mean, _ in means.values())
    # The grid has as many or more axes than lengths: the spare ones were hidden above.
    for axis, (length, (mean, count)) in zip(axes.flat, means.items(), strict=False):
        image = axis.imshow(
            mean,
            aspect="auto",
            cmap="viridis",
            interpolation="nearest",
            extent=(0, 100, length + 0.5, 0.5),
            vmin=0.0,
            vmax=top,
        )
        axis.set_title(f"{length} {tokens[length > 1]} (n={count})", fontsize=9)
        axis.set_yticks(range(1, length + 1))
        axis.tick_params(labelsize=7)
    for axis in axes[-1]:
        axis.set_xlabel("time in clip (%)", fontsize=8)
    for axis in axes[:, 0]:
        axis.set_ylabel(tokens[0], fontsize=8)
    figure.colorbar(image, ax=axes, label="mean cross-attention weight", shrink=0.9)
    figure.suptitle(title)
    return figure


def cross_attention_figure(
    attention: np.ndarray,
    glosses: Sequence[str],
    spans: Sequence[tuple[int, int]] | None = None,
    title: str = "Cross-attention",
    times: np.ndarray | None = None,
) -> Any:
    """One sentence's cross-attention (rows = predicted glosses, columns = model frames), gold spans boxed in red
    and each row's peak marked, so a reader sees at once whether the peak falls inside its span.

    ``times`` (seconds of each model frame) puts the time in the clip on the x axis instead of the frame index.
    """
    from matplotlib.patches import Rectangle

    n_glosses, n_frames = attention.shape
    x = np.arange(n_frames, dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    step = x[1] - x[0] if n_frames > 1 else 1.0
    figure = _new_figure((max(6.0, n_frames / 10), 1.2 + 0.45 * n_glosses))
    axis = figure.add_subplot()
    image = axis.imshow(
        attention,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(x[0] - step / 2, x[-1] + step / 2, n_glosses - 0.5, -0.5),
    )
    for row, (start, end) in enumerate(spans or []):
        axis.add_patch(
            Rectangle(
                (x[start] - step / 2, row - 0.5),
                (end - start) * step,
                1,
                fill=False,
                edgecolor="red",
                linewidth=1.5,
            )
        )
    axis.scatter(x[attention.argmax(axis=1)], range(n_glosses), marker="x", color="white", s=20, label="peak")
    axis.set_yticks(range(n_glosses), glosses, fontsize=8)
    axis.set_xlabel("model frame" if times is None else "time in the clip (s)")
    axis.set_title(title + (" (red: gold gloss spans)" if spans else ""), fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.03)
    return figure


def encoder_attention_figure(attention: np.ndarray, title: str = "Encoder self-attention") -> Any:
    """Frame-to-frame self-attention of the encoder (rows = queries)."""
    figure = _new_figure((5.5, 5))
    axis = figure.add_subplot()
    image = axis.imshow(attention, cmap="viridis", interpolation="nearest")
    axis.set_xlabel("key frame")
    axis.set_ylabel("query frame")
    axis.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.046)
    return figure


def contributions_figure(
    by_step: dict[str, list],
    title: str = "Video vs previous tokens",
    step_labels: Sequence[str] | None = None,
    tokens: tuple[str, str] = TOKEN_NAMES["gloss"],
) -> Any:
    """Per decoding step: the cross-attention (video) share of the two blocks' norms, and self - cross.

    ``by_step`` is ``compute_decoder_contributions(...)["by_step"]``; ``step_labels`` (e.g. the glosses of one
    sentence) replace the step numbers on the x axis.
    """
    steps = np.arange(1, len(by_step["norm_ratio"]) + 1)
    figure = _new_figure((6.5, 3.6))
    axis = figure.add_subplot()
    axis.plot(
        steps, by_step["norm_ratio"], marker="o", color="tab:blue", label="||cross|| / (||cross|| + ||self||)"
    )
    axis.set_ylim(0, 1)
    axis.set_xlabel(f"decoding step ({tokens[0]} position)")
    axis.set_ylabel("video share", color="tab:blue")
    if step_labels is not None:
        axis.set_xticks(steps, step_labels, rotation=20, fontsize=8)
    other = axis.twinx()
    other.plot(steps, by_step["self_minus_cross"], marker="s", color="tab:orange", label="mean(self - cross)")
    other.set_ylabel("mean(self - cross)", color="tab:orange")
    for step, count in zip(steps, by_step["num_samples"], strict=True):
        axis.annotate(str(count), (step, 0.02), ha="center", fontsize=6, color="gray")
    axis.set_title(title + " (gray: sentences reaching the step)", fontsize=10)
    return figure


def training_curves_figure(log_history: Sequence[dict[str, Any]]) -> Any:
    """Training loss per logging step and validation WER per epoch (the Trainer's log), on a shared epoch axis."""
    train = [(entry["epoch"], entry["loss"]) for entry in log_history if "loss" in entry]
    valid = [(entry["epoch"], entry["eval_wer"]) for entry in log_history if "eval_wer" in entry]
    figure = _new_figure((7, 3.6))
    axis = figure.add_subplot()
    if train:
        axis.plot(*zip(*train, strict=True), color="tab:blue", label="training loss")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss", color="tab:blue")
    if valid:
        other = axis.twinx()
        other.plot(*zip(*valid, strict=True), color="tab:red", marker="o", label="validation WER")
        other.set_ylabel("validation WER", color="tab:red")
        other.set_ylim(0, max(1.0, max(wer for _, wer in valid)))
    axis.set_title("Training")
    return figure


def plot_training_curves(log_history: Sequence[dict[str, Any]], path: str | Path) -> None:
    save_figure(training_curves_figure(log_history), path)


def plot_mean_attention_grid(
    means: dict[int, tuple[np.ndarray, int]],
    path: str | Path,
    title: str = "Mean cross-attention by sentence length",
    tokens: tuple[str, str] = TOKEN_NAMES["gloss"],
) -> None:
    save_figure(mean_attention_grid_figure(means, title, tokens), path)


def plot_cross_attention(
    attention: np.ndarray,
    glosses: Sequence[str],
    path: str | Path,
    spans: Sequence[tuple[int, int]] | None = None,
    title: str = "Cross-attention",
) -> None:
    save_figure(cross_attention_figure(attention, glosses, spans, title), path)


def plot_encoder_attention(
    attention: np.ndarray, path: str | Path, title: str = "Encoder self-attention"
) -> None:
    save_figure(encoder_attention_figure(attention, title), path)


def plot_contributions(
    by_step: dict[str, list],
    path: str | Path,
    title: str = "Video vs previous tokens",
    tokens: tuple[str, str] = TOKEN_NAMES["gloss"],
) -> None:
    save_figure(contributions_figure(by_step, title, tokens=tokens), path)
