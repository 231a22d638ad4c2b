"""The pipeline's time stamps in seconds, and how far they can be trusted: the clip's frame rate, the method to use
when none is asked for, and the model's own measurement of each method against gold gloss spans.

The measurement is :data:`TIMESTAMP_RELIABILITY_FILE` in the model folder, written by ``hub_scripts.reproduce``
from the run's leaderboard (``interpretability.timestamps.timestamp_reliability``). Without it the time stamps are
unvalidated and a warning says so; a method that measured below a diagonal prior that never looks at the model is
warned about too. This file is saved with the model (the pipeline imports it).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .attention_maps import TIMESTAMP_METHODS, is_timestamp_method
from .holistic_video import GSL_FPS, video_fps

# Written into the model folder by the main job (``hub_scripts.reproduce``): each method's time-stamp accuracy
# against gold spans, and the baselines', from its interpretability run (``interpretability.timestamps``).
TIMESTAMP_RELIABILITY_FILE = "timestamp_reliability.json"
# A pose array, a frame folder or a plain .npy file carries no frame rate: GSL's is assumed for them.
ASSUMED_FPS = GSL_FPS


def clip_fps(source: Any, name: str, pose: Any, given: float | None) -> tuple[float, str]:
    """The clip's frame rate and where it came from: the argument, the ``.pose`` header, the ``.npy`` record, the
    video file; else :data:`ASSUMED_FPS`, with a warning naming the clip (``name``)."""
    if given is not None:
        return float(given), "the fps argument"
    if hasattr(pose, "body") and pose.body.fps > 0:
        return float(pose.body.fps), "the pose header"
    if isinstance(source, (str, Path)) and Path(source).is_file():
        path = Path(source)
        if path.suffix.lower() == ".npy":
            record = np.load(path, allow_pickle=False, mmap_mode="r")
            if record.dtype.names is not None and "fps" in record.dtype.names and record["fps"] > 0:
                return float(record["fps"]), "the .npy record"
        elif path.suffix.lower() != ".pose":
            fps = video_fps(path)
            if fps > 0:
                return fps, "the video file"
    warnings.warn(
        f"{name}: no frame rate known; time stamps assume {ASSUMED_FPS:g} fps (GSL's): pass fps=...",
        stacklevel=3,
    )
    return ASSUMED_FPS, f"assumed ({ASSUMED_FPS:g} fps, GSL's rate): the input carries no frame rate"


def default_timestamp_method(measured: dict | None) -> tuple[str, str]:
    """The method to use when none is asked for, and why: the one the model's leaderboard picked for time stamps
    (best IoU with the gold spans), else its measured best among :data:`TIMESTAMP_METHODS` by the score it picked
    with; ``attention`` without a measurement."""
    if measured is None:
        return "attention", f"default (no {TIMESTAMP_RELIABILITY_FILE} in the model folder)"
    picked = measured.get("timestamp_method")
    if picked is not None and is_timestamp_method(picked):
        # ``picked_on`` is phrased by ``interpretability.results``; files written before it name the split only
        picked_on = measured.get("picked_on") or f"the {measured.get('best_method_chosen_on')} split"
        return picked, f"the model's measured leaderboard (best time-stamp IoU, picked on {picked_on})"
    best, score = measured.get("best_method"), measured.get("best_method_chosen_by")
    if is_timestamp_method(str(best)):
        return best, f"the model's measured leaderboard (best {score})"
    scored = {
        method: measured["scores"][method][score]
        for method in TIMESTAMP_METHODS
        if isinstance(measured["scores"].get(method, {}).get(score), (int, float))
    }
    if not scored:
        return "attention", "default (no method of the pipeline was measured for this model)"
    method = max(scored, key=scored.get)
    return method, f"the model's measured leaderboard (best {score} without gradients; its best is {best})"


def reliability(method: str, measured: dict | None, sample_rate: int, fps: float) -> dict | None:
    """What the model's measurement says about ``method``'s time stamps, next to the baselines; ``None`` when
    nothing was measured. Boundary errors are given in clip frames and in seconds at this clip's ``fps``."""
    scores = None if measured is None else measured["scores"]
    if scores is None or not isinstance(scores.get(method, {}).get("timestamp_mean_iou"), (int, float)):
        return None

    def shown(entry: dict) -> dict:
        error = entry["timestamp_boundary_error"] * sample_rate  # model frames -> clip frames
        return {
            "timestamp_mean_iou": entry["timestamp_mean_iou"],
            "timestamp_boundary_error_frames": error,
            "timestamp_boundary_error_seconds": error / fps,
            "gold_peak_accuracy": entry["gold_peak_accuracy"],
            "num_glosses": entry["timestamp_num_glosses"],
        }

    unseen = scores[method].get("unseen", {})
    return {
        "measured_on": measured["measured_on"],
        **shown(scores[method]),
        **{
            baseline: shown(scores[baseline])
            for baseline in ("diagonal_prior", "uniform")
            if baseline in scores
        },
        # the sentences a model could not have memorised; None where the test split has none with gold spans
        "unseen_sentences": shown(unseen)
        if isinstance(unseen.get("timestamp_mean_iou"), (int, float))
        else None,
    }


def warn_about_reliability(method: str, measured: dict | None) -> None:
    """Say so when ``method``'s time stamps are unvalidated, or measured below a prior that ignores the model."""
    entry = None if measured is None else measured["scores"].get(method, {})
    iou = None if entry is None else entry.get("timestamp_mean_iou")
    if not isinstance(iou, (int, float)):
        warnings.warn(
            f"time stamps from {method} are not validated for this model (no measured accuracy against gold spans "
            f"in {TIMESTAMP_RELIABILITY_FILE}): they say where the map peaks, not where the gloss was signed",
            stacklevel=5,  # the caller of the pipeline
        )
        return
    prior = measured["scores"].get("diagonal_prior", {}).get("timestamp_mean_iou")
    if isinstance(prior, (int, float)) and iou < prior:
        warnings.warn(
            f"time stamps from {method} overlapped the true gloss spans with a mean IoU of {iou:.2f} on "
            f"{measured['measured_on']}, below a diagonal prior that never looks at the model ({prior:.2f})",
            stacklevel=5,  # the caller of the pipeline
        )
