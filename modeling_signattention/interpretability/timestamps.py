"""Per-gloss time stamps from a map, and how right they are against gold spans.

A map row is turned into one span: the contiguous frames around the row's peak that reach half of the peak value
(the full width at half maximum). That span is where the map says the gloss is; whether the gloss is really there
is measured on clips with gold spans (:func:`timestamp_accuracy`: mean IoU, mean boundary error in frames), and a
page should show time stamps only with that measured accuracy next to them.

The span rule and the conversion to seconds are the model's (``modeling_signattention.attention_maps``, saved with
it for the pipeline's time stamps); :func:`timestamp_reliability` writes what the pipeline shows next to its
time stamps (:data:`~modeling_signattention.pipeline_signattention.TIMESTAMP_RELIABILITY_FILE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..attention_maps import half_maximum_span, spans_to_seconds
from .results import RunScores
from .schema import DATA_SOURCES

Span = tuple[int, int]
# What the pipeline shows of each method and baseline; the boundary error is in model frames, as measured.
RELIABILITY_SCORES = (
    "gold_peak_accuracy",
    "timestamp_mean_iou",
    "timestamp_boundary_error",
    "timestamp_num_glosses",
)


def map_to_spans(clip_map: np.ndarray, clip: str = "clip") -> list[Span]:
    """`(glosses, frames)` map -> one `[start, end)` model-frame span per gloss (half-maximum region of its peak)."""
    clip_map = np.asarray(clip_map, dtype=np.float64)
    if clip_map.ndim != 2 or clip_map.shape[1] == 0:
        raise ValueError(
            f"{clip}: map must be (glosses, frames) with at least one frame, got {clip_map.shape}"
        )
    if not np.isfinite(clip_map).all() or (clip_map < 0).any():
        raise ValueError(f"{clip}: map has NaN, infinite or negative values")
    return [half_maximum_span(row) for row in clip_map]


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


def timestamp_reliability(scores: dict[str, Any]) -> dict[str, Any]:
    """``interpretability.json`` (``hub_scripts.interpret``) -> what the pipeline reads from the model folder.

    Per method and baseline: :data:`RELIABILITY_SCORES` on all scored glosses and on the sentences never seen in
    training (``unseen``), the leaderboard's picks (``best_method`` by gold peak accuracy; ``timestamp_method``, the
    one the pipeline uses, by time-stamp IoU; both picked on ``best_method_chosen_on``, phrased in ``picked_on``), and
    one line saying what it was measured on, since a score on memorised sentences of synthetic poses says little
    about a new sentence on a real video.
    """
    run = RunScores.from_json(scores)
    source = DATA_SOURCES.get(run.data_source, DATA_SOURCES["unknown"])[0]
    share = run.seen_sentence_share
    seen = f", {share:.1%} signing a sentence seen in training" if share is not None else ""
    measured_on = (
        f"{source}, GSL {run.config} {run.split} split ({run.num_clips} clips{seen}; "
        f"{run.num_gold_glosses} glosses with gold spans)"
    )
    entries = {**run.attribution, **run.baselines}
    return {
        "measured_on": measured_on,
        "best_method": run.pick.method,
        "best_method_chosen_by": run.pick.chosen_by,
        "best_method_chosen_on": scores.get("best_method_chosen_on"),
        "picked_on": run.pick.picked_on,
        "timestamp_method": run.pick.timestamp_method,
        "scores": {
            name: {key: entry.get(key) for key in RELIABILITY_SCORES}
            | {"unseen": {key: entry.get("unseen", {}).get(key) for key in RELIABILITY_SCORES}}
            for name, entry in entries.items()
        },
    }


__all__ = ["map_to_spans", "spans_to_seconds", "timestamp_accuracy", "timestamp_reliability"]
