"""What a run writes and how it is named: the one place for figure files, captions, score sets and score labels.

``hub_scripts.interpret`` writes ``interpretability.json`` and the figures with these names; ``hub_scripts.report``,
``hub_scripts.model_card`` and the Space read them back and show them with these captions and labels. A new score or
figure is added here once, and every page that shows the run picks it up with the same wording.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import time_stamps

# The files of a run folder that readers look up by name (``hub_scripts.reproduce`` lays them out), and the
# index of a reproduce output with several settings, one run folder each: {"paper_setting": name, "settings":
# {name: {"dir", "config", "recombination", "description", "epochs", "wer", "fresh_sentence_wer", ...}}}.
EVAL_RESULTS_FILE = "eval_results.json"
INTERPRETABILITY_FILE = "interpretability.json"
SETTINGS_FILE = "settings.json"
# hub_scripts.train's log of a run: {"log_history": the Trainer's, "isolated_sign_log_history": its first stage's}
TRAINING_LOG_FILE = "training_log.json"
# Written into a run's model/ folder: each method's measured time-stamp accuracy, which the pipeline shows next to
# its time stamps (``interpretability.timestamps.timestamp_reliability``). Named in ``time_stamps``, which the
# pipeline reads it with from a Hub folder without this package.
TIMESTAMP_RELIABILITY_FILE = time_stamps.TIMESTAMP_RELIABILITY_FILE

# A score set with no sentence, or a score with nothing to average: said so, never a silent 0.
NO_DATA = "no data"

# What a model's tokens are called on figures, by output mode (``dataset_builder.loading.OUTPUT_MODES``): one, several.
TOKEN_NAMES = {"gloss": ("gloss", "glosses"), "text": ("word", "words")}


@dataclass(frozen=True)
class Score:
    """How a score is shown: a short label for tables, what it means for a reader, and whether it is a share."""

    label: str
    meaning: str
    percent: bool = False


DATA_SOURCES: dict[str, tuple[str, str]] = {
    # data_source (as hub_scripts.evaluate writes it into eval_results.json) -> (short label, one-sentence description)
    "synthetic": (
        "synthetic poses",
        "synthetic MediaPipe Holistic poses rendered from the real GSL gloss annotations by seven virtual "
        "signers (`dataset_builder.synthetic`); no recording of a person signing was used.",
    ),
    "gsl": (
        "real GSL videos",
        "MediaPipe Holistic poses extracted from the real Greek Sign Language (GSL) dataset videos.",
    ),
    "poses": (
        "real GSL poses",
        "precomputed MediaPipe Holistic poses of the real Greek Sign Language (GSL) dataset videos.",
    ),
    "manifest": (
        "poses of your own corpus",
        "poses listed in a manifest (`dataset_builder.manifest`); their layout and source are in the dataset card.",
    ),
    "unknown": (
        "poses of unknown origin",
        "poses from a dataset folder that does not record its source (not built by `dataset_builder.build`).",
    ),
}
# interpretability.json: one set of test sentences per key, each with its scores (``hub_scripts.interpret``).
SCORE_SETS = {
    "correct_with_gold_spans": "exactly translated, with gold spans",
    "correct": "exactly translated",
    "all": "all non-empty predictions",
}

# Marks a set that holds exactly the sentences of another (named) set, so its scores are that set's: tables show
# the set once (the exactly translated sentences of synthetic data all have gold spans).
SAME_SENTENCES_AS = "same_sentences_as"


def shown_score_sets(scores: dict) -> list[str]:
    """The score sets of ``interpretability.json`` a table shows, one column each: those present, each once."""
    return [
        name
        for name in SCORE_SETS
        if isinstance(scores.get(name), dict) and SAME_SENTENCES_AS not in scores[name]
    ]


# The keys of a set's ``attention_alignment`` (``interpretability.alignment``), in reading order.
ALIGNMENT_SCORES = {
    "gold_peak_accuracy": Score(
        "attention peak inside the gloss's true span",
        "share of glosses whose cross-attention peak lies inside the frames where the gloss is signed",
        percent=True,
    ),
    "gold_peak_accuracy_1frame": Score(
        "attention peak within 1 frame of the true span",
        "the same, counting a peak one frame before or after the span as inside",
        percent=True,
    ),
    "gold_centroid_accuracy": Score(
        "attention centroid inside the true span",
        "share of glosses whose cross-attention centroid lies inside the frames where the gloss is signed",
        percent=True,
    ),
    "gold_span_mass": Score(
        "attention mass inside the true span",
        "mean cross-attention mass on the frames where the gloss is signed",
    ),
    "diagonality": Score(
        "diagonality (Spearman, 1 = diagonal)",
        "Spearman correlation of gloss position and attention centroid (1 = diagonal)",
    ),
    "monotonicity": Score(
        "monotonicity (attention moves forward)",
        "share of consecutive glosses whose attention moves forward in time",
    ),
    "cluster_score": Score(
        "cluster score (1 = one cluster of frames)",
        "attention mass in the best window of frames, above chance (1 = one cluster)",
    ),
    "cluster_fraction": Score(
        "share of clustered glosses",
        "share of glosses whose attention is clustered",
    ),
}
# A set's ``contribution.norm_ratio`` (``interpretability.contribution``).
VIDEO_SHARE = Score(
    "video share of each decoding step (cross / (cross + self))",
    "mean share of a decoding step coming from the video (cross-attention) vs previous tokens (self-attention)",
)

# Figures of a run, in reading order: file name -> caption. ``training_curves.png`` is drawn by the report from
# ``training_log.json``; the others by ``hub_scripts.interpret`` into ``interpretability/``.
TRAINING_CURVES_FIGURE = "training_curves.png"
FIGURE_CAPTIONS = {
    TRAINING_CURVES_FIGURE: "Training loss and validation WER",
    "mean_cross_attention_correct.png": "Mean cross-attention per sentence length (exactly translated sentences)",
    "mean_cross_attention_all.png": "Mean cross-attention per sentence length (all predictions)",
    "sample_cross_attention.png": "One sentence: cross-attention and gold gloss spans",
    "encoder_self_attention.png": "One sentence: encoder self-attention",
    "contributions_correct.png": "Video vs previous tokens per decoding step (exactly translated sentences)",
    "contributions_all.png": "Video vs previous tokens per decoding step (all predictions)",
    "best_method_seen.png": "Best attribution method on a sentence seen in training (gold spans boxed in red)",
    "best_method_unseen.png": "Best attribution method on a sentence never seen in training (gold spans boxed)",
}

# interpretability.json ``attribution`` (method -> scores) and ``baselines`` (``interpretability.leaderboard``).
ATTRIBUTION_SCORES = {
    "gold_peak_accuracy": Score(
        "peak inside the gold span",
        "share of matched glosses whose map peak lies inside the frames where the gloss is signed",
        percent=True,
    ),
    "gold_peak_accuracy_1frame": Score(
        "peak within 1 frame of the span",
        "the same, counting a peak one frame before or after the span as inside",
        percent=True,
    ),
    "gold_span_mass": Score(
        "mass inside the gold span", "mean share of the map's mass on the gloss's frames"
    ),
    "deletion_drop_10": Score(
        "log p drop, top 10 % frames removed",
        "mean drop in log p(gloss) when the 10 % of frames the map ranks highest are removed (no gold needed)",
    ),
    "deletion_drop_20": Score(
        "log p drop, top 20 % frames removed",
        "mean drop in log p(gloss) when the 20 % of frames the map ranks highest are removed",
    ),
    "timestamp_mean_iou": Score(
        "time stamp IoU",
        "mean IoU of the map's half-maximum span with the gold span",
    ),
    "timestamp_boundary_error": Score(
        "time stamp boundary error (frames)",
        "mean distance in model frames between the map's span boundaries and the gold ones",
    ),
}
BASELINE_LABELS = {
    "uniform": "uniform (every frame alike; its deletion order is a random order)",
    "diagonal_prior": "diagonal prior (gloss k of n at the centre of the k-th n-th; never looks at the model)",
}


def figure_file(figure: str) -> str:
    """The file a figure key of ``interpretability.json`` (``mean_cross_attention_all``) is drawn to."""
    name = f"{figure}.png"
    if name not in FIGURE_CAPTIONS:
        raise ValueError(f"unknown figure {figure!r}; known: {sorted(FIGURE_CAPTIONS)}")
    return name
