"""Deletion faithfulness: does removing the frames a map ranks highest hurt the gloss? Needs no gold spans.

For every predicted gloss k, the frames are ranked by row k of the map; the top 10 % (20 %) are removed from the
clip (masked out of every attention, as occlusion does) and the drop in ``log p(gloss k | glosses before k, clip)``
under teacher forcing is recorded. A faithful map names the frames the prediction needs, so its drop is larger than
that of a random order of the same number of frames. Ties in a map are broken at random, so the ``uniform`` baseline
map *is* the random order. Works on real data, where no gold span exists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .attribution import ClipBatch, clip_name, decoded_batch, gloss_log_probs, map_clips

FRACTIONS = (0.1, 0.2)


def drop_key(fraction: float) -> str:
    """Score name of a deletion fraction: 0.1 -> ``deletion_drop_10``."""
    return f"deletion_drop_{round(fraction * 100)}"


def frames_to_remove(row: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The ``ceil(fraction * frames)`` highest frames of ``row`` (at least one, never all), ties in random order."""
    count = min(max(math.ceil(fraction * len(row)), 1), len(row) - 1)
    order = np.lexsort((rng.random(len(row)), -row))  # by value, descending; random among equals
    return order[:count]


@torch.no_grad()
def deletion_drops(
    model: Any,
    batch: Any,
    sequences: torch.Tensor,
    maps: Sequence[np.ndarray],
    *,
    fractions: Sequence[float] = FRACTIONS,
    rng: np.random.Generator | None = None,
    rows_per_pass: int = 256,
    clip_ids: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Per clip, `(glosses, len(fractions))`: log p(gloss) on the whole clip minus log p(gloss) without the top
    ``fraction`` of frames of that gloss's map row."""
    rng = rng if rng is not None else np.random.default_rng(0)
    decoded = decoded_batch(model, batch, sequences, clip_ids)
    if len(maps) != len(decoded.num_glosses):
        raise ValueError(f"got {len(maps)} maps for a batch of {len(decoded.num_glosses)} clips")
    for row, (clip_map, glosses, frames) in enumerate(
        zip(maps, decoded.num_glosses, decoded.num_frames, strict=True)
    ):
        if np.shape(clip_map) != (glosses, frames):
            raise ValueError(
                f"{clip_name(row, clip_ids)}: map of shape {np.shape(clip_map)}, expected ({glosses}, {frames}) "
                "(glosses x frames, padding removed)"
            )
    intact = gloss_log_probs(
        model, decoded.input_features, decoded.attention_mask, decoded.decoder_input_ids, decoded.targets
    )
    clips, positions, masks = [], [], []
    for row, clip_map in enumerate(maps):
        for k in range(decoded.num_glosses[row]):
            for fraction in fractions:
                mask = decoded.attention_mask[row].clone()
                mask[torch.from_numpy(frames_to_remove(np.asarray(clip_map[k]), fraction, rng))] = 0
                clips.append(row)
                positions.append(k)
                masks.append(mask)
    clips_t = torch.tensor(clips, device=intact.device)
    positions_t = torch.tensor(positions, device=intact.device)
    masked = []
    for start in range(0, len(clips), rows_per_pass):
        rows = slice(start, start + rows_per_pass)
        log_probs = gloss_log_probs(
            model,
            decoded.input_features[clips_t[rows]],
            torch.stack(masks[rows]),
            decoded.decoder_input_ids[clips_t[rows]],
            decoded.targets[clips_t[rows]],
        )
        masked.append(log_probs.gather(1, positions_t[rows, None]).squeeze(1))
    drops = (intact[clips_t, positions_t] - torch.cat(masked)).double().cpu().numpy()
    per_clip, offset = [], 0
    for glosses in decoded.num_glosses:
        size = glosses * len(fractions)
        per_clip.append(drops[offset : offset + size].reshape(glosses, len(fractions)))
        offset += size
    return per_clip


def deletion_drops_clips(
    model: Any,
    batches: Sequence[ClipBatch],
    maps: Sequence[np.ndarray],
    *,
    fractions: Sequence[float] = FRACTIONS,
    seed: int = 0,
    description: str | None = None,
) -> list[np.ndarray]:
    """:func:`deletion_drops` for the clips of ``batches`` (:func:`~.attribution.clip_batches`: the clips
    preprocessed once for every map scored), in the clips' order, one seed for the ties; ``description`` shows a
    progress bar with that title."""
    num_clips = sum(len(indices) for indices, *_ in batches)
    if len(maps) != num_clips:
        raise ValueError(f"got {len(maps)} maps for {num_clips} clips")
    rng = np.random.default_rng(seed)
    return map_clips(
        lambda indices, batch, sequences, names: deletion_drops(
            model, batch, sequences, [maps[i] for i in indices], fractions=fractions, rng=rng, clip_ids=names
        ),
        batches,
        description=description,
    )


def summarise_drops(drops: Sequence[np.ndarray], fractions: Sequence[float] = FRACTIONS) -> dict[str, Any]:
    """Mean drop per fraction over every gloss of ``drops`` (``None`` when there is no gloss, never 0)."""
    stacked = np.concatenate([np.asarray(d).reshape(-1, len(fractions)) for d in drops]) if drops else None
    if stacked is None or len(stacked) == 0:
        return {drop_key(fraction): None for fraction in fractions} | {"deletion_num_glosses": 0}
    means = stacked.mean(axis=0)
    return {drop_key(fraction): float(mean) for fraction, mean in zip(fractions, means, strict=True)} | {
        "deletion_num_glosses": len(stacked)
    }


__all__ = [
    "FRACTIONS",
    "deletion_drops",
    "deletion_drops_clips",
    "drop_key",
    "frames_to_remove",
    "summarise_drops",
]
