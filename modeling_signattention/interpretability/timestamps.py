"""Per-gloss time stamps from a map, and how right they are against gold spans.

A map row is turned into one span: the contiguous frames around the row's peak that reach half of the peak value
(the full width at half maximum). That span is where the map says the gloss is; whether the gloss is really there
is measured on clips with gold spans (:func:`timestamp_accuracy`: mean IoU, mean boundary error in frames), and a
page should show time stamps only with that measured accuracy next to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Span = tuple[int, int]


def map_to_spans(clip_map: np.ndarray, clip: str = "clip") -> list[Span]:
    """`(glosses, frames)` map -> one `[start, end)` model-frame span per gloss (half-maximum region of its peak)."""
    clip_map = np.asarray(clip_map, dtype=np.float64)
    if clip_map.ndim != 2 or clip_map.shape[1] == 0:
        raise ValueError(
            f"{clip}: map must be (glosses, frames) with at least one frame, got {clip_map.shape}"
        )
    if not np.isfinite(clip_map).all() or (clip_map < 0).any():
        raise ValueError(f"{clip}: map has NaN, infinite or negative values")
    spans = []
    for row in clip_map:
        peak = int(row.argmax())
        above = row >= row[peak] / 2
        start = peak
        while start > 0 and above[start - 1]:
            start -= 1
        end = peak + 1
        while end < len(row) and above[end]:
            end += 1
        spans.append((start, end))
    return spans


def spans_to_seconds(spans: Sequence[Span], sample_rate: int, fps: float) -> list[tuple[float, float]]:
    """Model-frame spans -> (start, end) seconds of the clip (model frame i shows clip frame i * sample_rate)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return [(start * sample_rate / fps, end * sample_rate / fps) for start, end in spans]


def timestamp_accuracy(
    predicted: Sequence[Sequence[Span]], gold: Sequence[Sequence[Span]]
) -> dict[str, float | int]:
    """Mean IoU and mean boundary error (frames, mean of |start error| and |end error|) over every gloss.

    Raises ``ValueError`` naming the clip when a clip has a different number of predicted and gold spans.
    """
    if len(predicted) != len(gold):
        raise ValueError(f"got predicted spans for {len(predicted)} clips but gold spans for {len(gold)}")
    ious, errors = [], []
    for clip, (clip_predicted, clip_gold) in enumerate(zip(predicted, gold, strict=True)):
        if len(clip_predicted) != len(clip_gold):
            raise ValueError(
                f"clip {clip}: {len(clip_predicted)} predicted spans for {len(clip_gold)} gold spans"
            )
        for (start, end), (gold_start, gold_end) in zip(clip_predicted, clip_gold, strict=True):
            overlap = max(0, min(end, gold_end) - max(start, gold_start))
            union = (end - start) + (gold_end - gold_start) - overlap
            ious.append(overlap / union)
            errors.append((abs(start - gold_start) + abs(end - gold_end)) / 2)
    if not ious:
        return {"timestamp_mean_iou": None, "timestamp_boundary_error": None, "timestamp_num_glosses": 0}
    return {
        "timestamp_mean_iou": float(np.mean(ious)),
        "timestamp_boundary_error": float(np.mean(errors)),
        "timestamp_num_glosses": len(ious),
    }


__all__ = ["map_to_spans", "spans_to_seconds", "timestamp_accuracy"]
