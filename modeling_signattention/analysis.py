"""Translate poses and keep what the paper's interpretability analysis reads.

``translate_with_attention`` decodes (greedy or beam) with ``generate()``, then runs one teacher-forced pass over
the decoded sequence with ``output_attentions`` and ``output_block_outputs``. The decoder is causal, so that pass
computes exactly what each decoding step computed, for all steps at once (and for beam search, for the beam that
won, which per-step generate() outputs do not give directly).

Row convention: row k of ``cross_attention`` is the decoder step whose *output* is gloss k (its query is the token
before gloss k). The step that emits ``</s>`` is dropped, so rows = predicted glosses, columns = real model frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass
class Translation:
    glosses: list[str]
    token_ids: list[int]
    cross_attention: np.ndarray  # (n_glosses, n_frames): last decoder layer, mean over heads
    encoder_attention: np.ndarray  # (n_frames, n_frames): last encoder layer, mean over heads
    # (n_glosses, d_model): decoder self- and cross-attention block outputs, before the residual add
    self_block: np.ndarray
    cross_block: np.ndarray
    frame_indices: np.ndarray  # (n_frames,): index in the original clip of each model frame

    @property
    def text(self) -> str:
        return " ".join(self.glosses)


@torch.no_grad()
def translate_with_attention(
    model: Any,
    feature_extractor: Any,
    tokenizer: Any,
    poses: Sequence[Any],
    num_beams: int = 1,
    batch_size: int = 64,
    input_components: Sequence[str] | None = None,
    progress: bool = False,
) -> list[Translation]:
    """Decode every pose and return its glosses with attention maps and block outputs (see module docstring)."""
    model.eval()
    eos_id = model.config.eos_token_id
    batches = range(0, len(poses), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="decoding", unit="batch")
    results: list[Translation] = []
    for start in batches:
        inputs = feature_extractor(
            list(poses[start : start + batch_size]), training=False, input_components=input_components
        )
        inputs = inputs.to(model.device)
        sequences = model.generate(**inputs, num_beams=num_beams)
        outputs = model(
            **inputs,
            decoder_input_ids=sequences,
            output_attentions=True,
            output_block_outputs=True,
            use_cache=False,
        )
        for row in range(sequences.shape[0]):
            produced = sequences[row, 1:].tolist()  # drop the decoder start token
            length = produced.index(eos_id) if eos_id in produced else len(produced)
            num_frames = int(inputs["attention_mask"][row].sum())
            results.append(
                Translation(
                    glosses=tokenizer.convert_ids_to_tokens(produced[:length]),
                    token_ids=produced[:length],
                    cross_attention=outputs.cross_attentions[-1][row]
                    .mean(0)[:length, :num_frames]
                    .cpu()
                    .numpy(),
                    encoder_attention=outputs.encoder_attentions[-1][row]
                    .mean(0)[:num_frames, :num_frames]
                    .cpu()
                    .numpy(),
                    self_block=outputs.decoder_self_attention_outputs[-1][row, :length].cpu().numpy(),
                    cross_block=outputs.decoder_cross_attention_outputs[-1][row, :length].cpu().numpy(),
                    frame_indices=np.arange(num_frames) * feature_extractor.sample_rate,
                )
            )
    return results


def spans_to_model_frames(
    spans: Sequence[Sequence[int]], sample_rate: int, num_frames: int
) -> list[tuple[int, int]]:
    """Gold spans in clip frames ``[start, end)`` -> spans over the model's frames (frame i = clip frame i*rate).

    A model frame belongs to a span when the clip frame it shows does; a span never becomes empty.
    """
    converted = []
    for start, end in spans:
        first = min(math.ceil(start / sample_rate), num_frames - 1)
        last = min(max(math.ceil(end / sample_rate), first + 1), num_frames)
        converted.append((first, last))
    return converted


# -- Aggregation over a split ---------------------------------------------------------------------------------------
# Clips differ in length, so attention maps are compared on a common, relative time axis: each row is resampled to
# ``num_bins`` bins of the clip (0 % = first frame, 100 % = last), then averaged over sentences with the same number
# of glosses, as in the paper's per-length figures.


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


# -- Raw arrays without pickles -------------------------------------------------------------------------------------
# Each translation has matrices of its own shape. An object array would make ``np.savez`` pickle them, and a pickle
# is code to whoever loads it; so every field is stored as one flat float array plus the shape of each piece.

RAGGED_FIELDS = {  # field -> number of dimensions of one piece
    "cross_attention": 2,
    "encoder_attention": 2,
    "self_block": 2,
    "cross_block": 2,
    "token_ids": 1,
    "frame_indices": 1,
}


def save_translations(path: str | Path, translations: Sequence[Translation], **extra: np.ndarray) -> None:
    """Write every field of ``translations`` to one ``.npz`` (loadable with ``allow_pickle=False``).

    Field ``f`` becomes ``f_values`` (all pieces, flattened and concatenated) and ``f_shapes`` (one row per
    translation). ``extra`` adds per-translation arrays of plain dtypes (ids as ``str``, correctness flags, ...).
    """
    arrays: dict[str, np.ndarray] = {}
    for name, ndim in RAGGED_FIELDS.items():
        pieces = [np.asarray(getattr(translation, name)) for translation in translations]
        arrays[f"{name}_values"] = (
            np.concatenate([piece.ravel() for piece in pieces]) if pieces else np.zeros(0)
        )
        arrays[f"{name}_shapes"] = np.array([piece.shape for piece in pieces], dtype=np.int64).reshape(
            -1, ndim
        )
    for name, values in extra.items():
        values = np.asarray(values)
        if values.dtype == object:
            raise TypeError(f"extra array {name!r} has dtype object, which np.savez would pickle")
        arrays[name] = values
    np.savez_compressed(path, **arrays)


def load_translations(path: str | Path) -> dict[str, list[np.ndarray] | np.ndarray]:
    """Read a ``save_translations`` file: each ragged field as a list of arrays, each extra array as is."""
    with np.load(path, allow_pickle=False) as archive:
        loaded: dict[str, list[np.ndarray] | np.ndarray] = {}
        for name in RAGGED_FIELDS:
            values, shapes = archive[f"{name}_values"], archive[f"{name}_shapes"]
            ends = np.cumsum(shapes.prod(axis=1))
            pieces = np.split(values, ends[:-1]) if len(shapes) else []
            loaded[name] = [piece.reshape(tuple(shape)) for piece, shape in zip(pieces, shapes)]
        for name in archive.files:
            if not name.endswith(("_values", "_shapes")):
                loaded[name] = archive[name]
    return loaded


# -- Figures (matplotlib, imported only when drawing) -------------------------------------------------------------


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


__all__ = [
    "Translation",
    "translate_with_attention",
    "spans_to_model_frames",
    "resample_attention",
    "mean_attention_by_length",
    "save_translations",
    "load_translations",
    "plot_mean_attention_grid",
    "plot_cross_attention",
    "plot_encoder_attention",
    "plot_contributions",
]
