"""Can the attention be trusted? Every attribution method and both baselines, scored on the same glosses.

For one evaluation split and the model's decoded glosses this computes, per method (:data:`attribution.METHODS`)
and per baseline (:data:`baselines.BASELINES`):

* the gold scores of :func:`alignment.compute_attention_alignment` (peak inside the gold span, with one frame of
  tolerance, centroid, mass inside) on every predicted gloss that the WER alignment matches to a reference gloss
  (a hit, :func:`matching.matched_glosses`), not only on exactly translated sentences;
* the deletion faithfulness drops (:mod:`faithfulness`), on every predicted gloss, no gold needed;
* time-stamp accuracy of the map's half-maximum spans (:mod:`timestamps`);
* all of it again on the clips whose sentence occurs in training (``seen``) and on the others (``unseen``).

The best method is the one with the highest gold peak accuracy (the highest 10 % deletion drop where no gold span
exists); it is what a page should show, with its measured accuracy. Picking it on the clips it is then scored on
would flatter it, the more so the more candidates there are (each cross-attention head is one:
:func:`~.attribution.head_methods`), so :func:`method_selection` picks it on a held-out split (``hub_scripts.interpret``
uses the validation split) and :func:`trust_scores` scores that pick on the evaluation clips next to the rest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..attention_maps import is_timestamp_method
from .alignment import compute_attention_alignment
from .attribution import METHODS, articulator_maps, check_method, clip_batches, map_clips, resolve_method
from .baselines import BASELINES, baseline_maps
from .decoding import spans_to_model_frames
from .faithfulness import FRACTIONS, deletion_drops_clips, drop_key, summarise_drops
from .matching import matched_glosses
from .results import PICKED_ON_SCORED_CLIPS
from .timestamps import map_to_spans, timestamp_accuracy

GOLD_SCORES = ("gold_peak_accuracy", "gold_peak_accuracy_1frame", "gold_centroid_accuracy", "gold_span_mass")
SUBSETS = ("seen", "unseen")


@dataclass
class GoldGlosses:
    """Per clip: the map rows (predicted glosses) that hit a reference gloss, and that gloss's gold span."""

    rows: list[list[int]]
    spans: list[list[tuple[int, int]]]

    @property
    def num_glosses(self) -> int:
        return sum(len(rows) for rows in self.rows)


def gold_glosses(
    predictions: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    reference_spans: Sequence[np.ndarray],
    num_frames: Sequence[int],
    sample_rate: int,
) -> GoldGlosses:
    """Hits of each clip's WER alignment with the hit reference gloss's span on the model's frames.

    A clip without gold spans (real data) contributes no gloss; spans for a different number of glosses than the
    reference has are an error naming the clip.
    """
    rows, spans = [], []
    for clip, (predicted, reference, clip_spans, frames) in enumerate(
        zip(predictions, references, reference_spans, num_frames, strict=True)
    ):
        clip_spans = np.asarray(clip_spans).reshape(-1, 2)
        if len(clip_spans) == 0:
            rows.append([])
            spans.append([])
            continue
        if len(clip_spans) != len(reference):
            raise ValueError(
                f"clip {clip}: {len(clip_spans)} gold spans for {len(reference)} reference glosses"
            )
        model_spans = spans_to_model_frames(clip_spans.tolist(), sample_rate, frames)
        pairs = matched_glosses(list(predicted), list(reference))
        rows.append([hyp for hyp, _ in pairs])
        spans.append([model_spans[ref] for _, ref in pairs])
    return GoldGlosses(rows, spans)


def score_maps(
    maps: Sequence[np.ndarray], gold: GoldGlosses, drops: Sequence[np.ndarray] | None, indices: Sequence[int]
) -> dict[str, Any]:
    """Gold, deletion and time-stamp scores of the clips ``indices`` (``None`` where there is nothing to score)."""
    with_gold = [i for i in indices if gold.rows[i]]
    scores: dict[str, Any] = {
        "num_clips": len(indices),
        "num_gold_glosses": sum(len(gold.rows[i]) for i in indices),
    }
    if with_gold:
        alignment = compute_attention_alignment(
            [maps[i][gold.rows[i]] for i in with_gold], [gold.spans[i] for i in with_gold]
        )
        scores.update({name: alignment[name] for name in GOLD_SCORES})
        predicted = [map_to_spans(maps[i][gold.rows[i]], f"clip {i}") for i in with_gold]
        scores.update(timestamp_accuracy(predicted, [gold.spans[i] for i in with_gold]))
    else:
        scores.update({name: None for name in GOLD_SCORES})
        scores.update(timestamp_accuracy([], []))
    if drops is not None:
        scores.update(summarise_drops([drops[i] for i in indices]))
    return scores


def score_with_subsets(
    maps: Sequence[np.ndarray], gold: GoldGlosses, drops: Sequence[np.ndarray] | None, seen: Sequence[bool]
) -> dict[str, Any]:
    """:func:`score_maps` on all clips, then on the seen and unseen sentences."""
    everything = list(range(len(maps)))
    scores = score_maps(maps, gold, drops, everything)
    scores["seen"] = score_maps(maps, gold, drops, [i for i in everything if seen[i]])
    scores["unseen"] = score_maps(maps, gold, drops, [i for i in everything if not seen[i]])
    return scores


@dataclass
class TrustResult:
    """The scores (JSON-ready apart from ``None``) and the maps they were computed from, per method and baseline."""

    scores: dict[str, Any]
    maps: dict[str, list[np.ndarray]] = field(default_factory=dict)


def best_method(attribution: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
    """The method to show, and the score that picked it: gold peak accuracy where measured, else deletion drop."""
    for score in ("gold_peak_accuracy", drop_key(FRACTIONS[0])):
        measured = {name: s[score] for name, s in attribution.items() if s.get(score) is not None}
        if measured:
            return max(measured, key=measured.get), score
    return None, "no data"


def best_timestamp_method(attribution: dict[str, dict[str, Any]]) -> str | None:
    """The method whose time stamps overlapped the gold spans best (mean IoU), among those the pipeline can give
    time stamps from; ``None`` without gold spans. Not always :func:`best_method`: one head can peak inside the span
    more often than the mean over heads and still have narrower half-maximum spans."""
    measured = {
        name: entry["timestamp_mean_iou"]
        for name, entry in attribution.items()
        if is_timestamp_method(name) and entry.get("timestamp_mean_iou") is not None
    }
    return max(measured, key=measured.get) if measured else None


def method_selection(selection_scores: dict[str, Any], split: str) -> dict[str, Any]:
    """:func:`best_method` and :func:`best_timestamp_method` of a :func:`trust_scores` result on a held-out
    ``split``, with every candidate's and baseline's scores there: what ``trust_scores(selection=...)`` takes."""
    chosen, chosen_by = best_method(selection_scores["attribution"])
    entries = {**selection_scores["attribution"], **selection_scores["baselines"]}
    return {
        "split": split,
        "best_method": chosen,
        "chosen_by": chosen_by,
        "timestamp_method": best_timestamp_method(selection_scores["attribution"]),
        "num_gold_glosses": selection_scores["num_gold_glosses"],
        "scores": {
            name: {score: entry.get(score) for score in (chosen_by, "timestamp_mean_iou")}
            for name, entry in entries.items()
        },
    }


@dataclass
class ScoredClips:
    """The clips a leaderboard scores, one entry per clip in each field: non-empty predictions only."""

    poses: Sequence[Any]
    token_ids: Sequence[Sequence[int]]  # the decoded glosses' ids, no special tokens
    predictions: Sequence[Sequence[str]]  # the decoded glosses
    references: Sequence[Sequence[str]]
    reference_spans: Sequence[np.ndarray]  # per reference gloss, its gold [start, end) frames; empty: none
    seen: Sequence[bool]  # the clip's sentence occurs in training
    clip_ids: Sequence[str] | None = None

    def check(self) -> None:
        """A ValueError when the fields differ in length or a clip has an empty prediction (naming it)."""
        fields = (self.token_ids, self.predictions, self.references, self.reference_spans, self.seen)
        if any(len(field) != len(self.poses) for field in fields):
            raise ValueError(
                "poses, token ids, predictions, references, spans and seen flags differ in length"
            )
        empty = [i for i, ids in enumerate(self.token_ids) if len(ids) == 0]
        if empty:
            name = self.clip_ids[empty[0]] if self.clip_ids is not None else empty[0]
            raise ValueError(f"clip {name!r}: empty prediction; leave empty predictions out (and count them)")


@dataclass(frozen=True)
class ScoringOptions:
    """How :func:`trust_scores` scores: which methods, how clips are batched, and whether to run the deletion
    passes (the slowest part; a split scored only to pick a method by gold peak accuracy can leave them out)."""

    methods: Sequence[str] = METHODS
    input_components: Sequence[str] | None = None
    batch_size: int = 64
    progress: bool = False
    # a method name -> keyword options of its function (e.g. ``{"occlusion": {"window": 5}}``)
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletion: bool = True


def trust_scores(
    model: Any,
    feature_extractor: Any,
    clips: ScoredClips,
    options: ScoringOptions = ScoringOptions(),
    selection: dict[str, Any] | None = None,
) -> TrustResult:
    """Score every method and baseline on ``clips`` (see the module docstring).

    ``selection`` (:func:`method_selection` on a held-out split) names the best method, which is then scored here
    too; without it the best method is picked on these clips, and the scores say so.
    """
    methods = list(options.methods)
    if selection is not None:
        picks = (selection["best_method"], selection["timestamp_method"])
        methods += [pick for pick in dict.fromkeys(picks) if pick is not None and pick not in methods]
    for method in methods:
        check_method(method)
    clips.check()
    poses, token_ids = clips.poses, clips.token_ids
    batches = clip_batches(
        model,
        feature_extractor,
        poses,
        token_ids,
        clip_ids=clips.clip_ids,
        input_components=options.input_components,
        batch_size=options.batch_size,
    )
    progress = options.progress

    maps: dict[str, list[np.ndarray]] = {}
    seconds: dict[str, float] = {}
    articulators: dict[str, dict[str, float]] = {}
    for method in methods:
        started = time.perf_counter()
        parts: dict[str, float] = {}

        def method_maps(indices, batch, sequences, names, method=method, parts=parts):
            if not resolve_method(method)[0].gradients:
                return check_method(method)(
                    model, batch, sequences, clip_ids=names, **options.method_options.get(method, {})
                )
            by_part = articulator_maps(
                method, model, batch, sequences, clip_ids=names, **options.method_options.get(method, {})
            )
            for clip in by_part:
                for part, part_map in clip.items():
                    parts[part] = parts.get(part, 0.0) + float(part_map.sum())
            return [sum(clip.values()) for clip in by_part]

        maps[method] = map_clips(
            method_maps, batches, description=f"attribution: {method}" if progress else None
        )
        seconds[method] = time.perf_counter() - started
        if parts:
            total = sum(parts.values())
            articulators[method] = {part: value / total for part, value in parts.items()}

    shapes = [clip_map.shape for clip_map in next(iter(maps.values()))] if maps else []
    if not shapes:
        shapes = [(len(ids), 0) for ids in token_ids]
    for name in BASELINES:
        maps[name] = baseline_maps(name, shapes)

    num_frames = [shape[1] for shape in shapes]
    gold = gold_glosses(
        clips.predictions, clips.references, clips.reference_spans, num_frames, feature_extractor.sample_rate
    )
    scores: dict[str, dict[str, Any]] = {}
    for name, name_maps in maps.items():
        drops = None
        if options.deletion:
            drops = deletion_drops_clips(
                model, batches, name_maps, description=f"deletion: {name}" if progress else None
            )
        scores[name] = score_with_subsets(name_maps, gold, drops, clips.seen)
    attribution = {method: scores[method] | {"seconds": seconds[method]} for method in methods}
    for method, shares in articulators.items():
        attribution[method]["articulator_share"] = shares
    if selection is None:
        chosen, chosen_by = best_method(attribution)
        chosen_on = PICKED_ON_SCORED_CLIPS
        timestamp_method = best_timestamp_method(attribution)
    else:
        chosen, chosen_by, chosen_on = selection["best_method"], selection["chosen_by"], selection["split"]
        timestamp_method = selection["timestamp_method"]
    return TrustResult(
        scores={
            "num_clips": len(poses),
            "num_glosses": sum(len(ids) for ids in token_ids),
            "num_gold_glosses": gold.num_glosses,
            "attribution": attribution,
            "baselines": {name: scores[name] for name in BASELINES},
            "best_method": chosen,
            "best_method_chosen_by": chosen_by,
            "best_method_chosen_on": chosen_on,
            "timestamp_method": timestamp_method,
            "method_selection": selection,
        },
        maps=maps,
    )


__all__ = [
    "GOLD_SCORES",
    "GoldGlosses",
    "ScoredClips",
    "ScoringOptions",
    "TrustResult",
    "best_method",
    "best_timestamp_method",
    "gold_glosses",
    "method_selection",
    "score_maps",
    "score_with_subsets",
    "trust_scores",
]
