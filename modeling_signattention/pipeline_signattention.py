"""``pipeline("sign-language-translation")``: a signing clip in, glosses (or text) out, in one call.

A clip is a video file, a folder of frame images, a ``.pose`` / ``.npy`` pose file, a pose array, a
``pose_format.Pose`` or a list of them (batched with ``batch_size``). Videos and frame folders go through MediaPipe
Holistic first, imported only then (it is a heavy optional dependency); poses go straight to the model's feature
extractor, which holds every preprocessing step, so the pipeline and a hand-written
extract -> feature extractor -> ``generate()`` loop give the same result.

This file is saved next to the model (``custom_pipelines`` in ``config.json``) and runs from a Hub folder without
this project: it may import only transformers, numpy, the modules next to it (transformers saves each relatively
imported module with it) and, lazily, OpenCV / MediaPipe / pose-format. It holds the Pipeline class: videos are read
by ``holistic_video``, the gloss x frame maps are the model's (``attention_maps``), and the time stamps' frame rate
and trust policy are ``time_stamps``.

Per clip the result is ``{"glosses": "...", "num_frames": T, "frames_used": n, "truncated": bool}`` (``"text"``
instead of ``"glosses"`` for a model trained to write text); with ``num_return_sequences=n`` (beam search), a list
of the clip's n translations. The model reads one frame in ``sample_rate`` and at most ``max_frames`` of those: a
longer clip is cut, and then ``truncated`` is true and a warning (the feature extractor's) names the clip. A video
that decodes fewer frames than its container announces (cut off, garbled mid-file) is refused, as
``dataset_builder.extract`` refuses it: a cut sentence is another sentence. ``generate()`` options are checked
before any clip is read (:func:`check_generate_options`).

``return_timestamps=True`` (gloss models) adds where in the clip each gloss is, and how far that can be trusted:

* ``"chunks"``: ``[{"gloss": "A", "timestamp": (start, end)}, ...]``, seconds of the input clip, one per predicted
  gloss: the frames around the gloss's peak in a gloss x frame map that reach half the peak (the full width at
  half maximum), model frame i being clip frame ``i * sample_rate``;
* ``"timestamp_info"``: the map's ``method`` (``timestamp_method=``: one of :data:`TIMESTAMP_METHODS`, the
  attention-based ones that need no gradients, or one head of them, :func:`head_method`; by default the one the
  model's own measurement picked, else ``attention``) and why it was picked, the ``fps`` used and where it came
  from (the video file, the ``.pose`` header, the ``fps=`` argument; for arrays, frame folders and plain ``.npy``
  files :data:`ASSUMED_FPS` is assumed, and a warning says so), and ``reliability``: how right this method's time
  stamps were against gold gloss spans on the model's test split (mean IoU, boundary error, peak inside the span)
  next to a uniform map and a diagonal prior that never looks at the model, read from
  :data:`TIMESTAMP_RELIABILITY_FILE` in the model folder. Without that file ``reliability`` is ``None`` and a warning
  says the time stamps are unvalidated; a method that measured below the diagonal prior is warned about too.

``return_frame_weights=True`` (with ``return_timestamps=True``; an opt-in output, as Whisper's
``return_token_timestamps``) adds ``"frame_weights"``: the map the time stamps were read from, a ``(glosses,
frames_used)`` float64 array, row k for ``chunks[k]`` and column i for model frame i (clip frame ``i * sample_rate``),
so a page can draw where each gloss was credited without decoding the clip again.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import Pipeline
from transformers.utils import cached_file

from .attention_maps import (
    HEAD_METHODS,
    TIMESTAMP_METHODS,
    gloss_frame_maps,
    half_maximum_span,
    head_method,
    is_timestamp_method,
    predicted_ids,
    spans_to_seconds,
)
from .feature_extraction_signattention import read_pose_file, split_batch
from .holistic_video import create_holistic, read_holistic
from .layouts import HOLISTIC, point_indices
from .time_stamps import (
    TIMESTAMP_RELIABILITY_FILE,
    clip_fps,
    default_timestamp_method,
    reliability,
    warn_about_reliability,
)

TASK = "sign-language-translation"
POSE_SUFFIXES = frozenset({".pose", ".npy"})


@dataclass
class Clip:
    """One input and how error messages and warnings name it."""

    source: Any
    name: str


def describe(source: Any, index: int | None) -> str:
    where = "" if index is None else f"clip {index} of the list: "
    if isinstance(source, (str, Path)):
        return f"{where}{source}"
    return f"{where}{type(source).__name__}" + (
        f" of shape {source.shape}" if hasattr(source, "shape") else ""
    )


class SignLanguageTranslationPipeline(Pipeline):
    """Translate signing clips to glosses (or text). See the module docstring for inputs and outputs.

    ``generate_kwargs`` (``num_beams``, ``max_length``, ...) go to ``model.generate``, at construction or per call.
    """

    _load_tokenizer = True
    _load_feature_extractor = True
    _load_processor = False
    _load_image_processor = False
    _pipeline_calls_generate = True

    _holistic = None  # one MediaPipe graph per pipeline: building it costs more than a short clip

    def __call__(self, inputs: Any, **kwargs: Any) -> dict | list[dict]:
        """``inputs``: one clip or a batch of clips (a list of them, or a 4-D array); a batch gives a list of
        results in the same order. A nested list of frames, and pose-format's ``(frames, 1, points, coords)``
        ``pose.body.data``, are one clip (the feature extractor's ``split_batch`` decides, for both)."""
        if isinstance(inputs, (list, tuple)) and not inputs:
            raise ValueError("No clips given: the list is empty")
        clips, is_batch = split_batch(inputs)
        if is_batch:
            return super().__call__(
                [Clip(source, describe(source, i)) for i, source in enumerate(clips)], **kwargs
            )
        return super().__call__(Clip(clips[0], describe(clips[0], None)), **kwargs)

    def _sanitize_parameters(
        self,
        generate_kwargs: dict | None = None,
        return_timestamps: bool | None = None,
        timestamp_method: str | None = None,
        fps: float | None = None,
        return_frame_weights: bool | None = None,
        **kwargs: Any,
    ) -> tuple[dict, dict, dict]:
        """``return_timestamps``, ``timestamp_method``, ``fps`` and ``return_frame_weights`` are the pipeline's
        (module docstring), given at construction or per call; every other keyword goes to ``generate()``."""
        forward_params = {**(generate_kwargs or {}), **kwargs}
        check_generate_options(self.model.generation_config, forward_params)
        given = {
            "return_timestamps": return_timestamps,
            "timestamp_method": timestamp_method,
            "fps": fps,
            "return_frame_weights": return_frame_weights,
        }
        if not hasattr(self, "_timestamp_options"):  # the call from __init__: these are the defaults
            self._timestamp_options = given
        options = {
            key: self._timestamp_options[key] if value is None else value for key, value in given.items()
        }
        if not options["return_timestamps"]:
            if any(given[key] is not None for key in ("timestamp_method", "fps", "return_frame_weights")):
                raise ValueError(
                    "timestamp_method, fps and return_frame_weights only apply with return_timestamps=True"
                )
            return (
                {"return_timestamps": False},
                {**forward_params, "timestamp_method": None},
                {"timestamps": None},
            )
        if getattr(self.model.config, "output_mode", "gloss") != "gloss":
            raise ValueError(
                "return_timestamps needs a gloss model: time stamps are measured against gold gloss spans, and "
                "this model writes text"
            )
        if options["fps"] is not None and not is_positive_number(options["fps"]):
            raise ValueError(f"fps must be a positive number of frames per second, got {options['fps']!r}")
        if forward_params.get("num_return_sequences", 1) != 1:
            raise ValueError(
                "return_timestamps gives the time stamps of one translation: num_return_sequences must be 1"
            )
        reliability = self.timestamp_reliability()
        method = options["timestamp_method"]
        if method is None:
            method, chosen_by = default_timestamp_method(reliability)
        elif is_timestamp_method(method):
            chosen_by = "the timestamp_method argument"
        else:
            raise ValueError(
                f"unknown timestamp_method {method!r}: the pipeline gives time stamps from "
                f"{', '.join(TIMESTAMP_METHODS)} or one head of {' or '.join(HEAD_METHODS)} (e.g. "
                f"{head_method(HEAD_METHODS[0], 0)!r}; the gradient and occlusion maps are in "
                "modeling_signattention.interpretability.attribution)"
            )
        warn_about_reliability(method, reliability)
        return (
            {"return_timestamps": True, "fps": options["fps"]},
            {**forward_params, "timestamp_method": method},
            {
                "timestamps": {"method": method, "method_chosen_by": chosen_by, "measured": reliability},
                "return_frame_weights": bool(options["return_frame_weights"]),
            },
        )

    def timestamp_reliability(self) -> dict | None:
        """The model folder's :data:`TIMESTAMP_RELIABILITY_FILE` (local folder or Hub repository), or ``None``: also
        for a model built in memory (no folder) or saved without it."""
        if not hasattr(self, "_timestamp_reliability"):
            path = None
            if self.model.name_or_path:
                path = cached_file(
                    self.model.name_or_path,
                    TIMESTAMP_RELIABILITY_FILE,
                    _raise_exceptions_for_missing_entries=False,
                    _raise_exceptions_for_connection_errors=False,
                )
            self._timestamp_reliability = (
                None if path is None else json.loads(Path(path).read_text(encoding="utf-8"))
            )
        return self._timestamp_reliability

    # -- clip -> model inputs ---------------------------------------------------------------------------------------
    def preprocess(
        self, clip: Clip, fps: float | None = None, return_timestamps: bool = False
    ) -> dict[str, Any]:
        try:
            pose = self.load_pose(clip.source)
            # The feature extractor warns when it cuts a clip, naming it "the pose": say which one.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                features = self.feature_extractor(pose, return_tensors="pt")
        except ImportError:
            raise
        except FileNotFoundError as error:
            raise FileNotFoundError(f"{clip.name}: no such file or folder") from error
        except Exception as error:  # pose-format, OpenCV and numpy raise many types; the cause stays chained
            raise ValueError(f"{clip.name}: {error}") from error
        for warning in caught:
            warnings.warn(f"{clip.name}: {warning.message}", warning.category, stacklevel=2)
        num_frames = len(pose.body.data) if hasattr(pose, "body") else len(pose)
        readable = self.feature_extractor.max_frames * self.feature_extractor.sample_rate
        clip_info = {
            "num_frames": num_frames,
            "frames_used": int(features["attention_mask"].sum()),
            "truncated": num_frames > readable,
        }
        if return_timestamps:
            clip_info["fps"], clip_info["fps_source"] = clip_fps(clip.source, clip.name, pose, fps)
        return {**features, **clip_info}

    def load_pose(self, source: Any) -> Any:
        """A pose array (frames, points, coords) or a ``pose_format.Pose`` for the feature extractor."""
        if not isinstance(source, (str, Path)):
            return source  # arrays, tensors and Pose objects: the feature extractor checks their layout
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(path)
        if path.suffix.lower() in POSE_SUFFIXES:
            return read_pose_file(path)
        # MediaPipe gives Holistic poses: a model of another layout is refused before the video is read
        extractor = self.feature_extractor
        what = f"{path.name} (MediaPipe Holistic poses of a video or frames)"
        point_indices(
            HOLISTIC, list(HOLISTIC.components), extractor.pose_layout, extractor.landmark_components, what
        )
        return read_holistic(path, self.holistic()).landmarks

    def holistic(self) -> Any:
        if self._holistic is None:
            self._holistic = create_holistic()
        return self._holistic

    # -- model ------------------------------------------------------------------------------------------------------
    def generate_kwargs_of_call(self, generate_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The ``generate()`` options of one call: the call's own on top of those given when the pipeline was made.

        transformers >= 5.20 merges them in ``Pipeline._prepare_generate_kwargs``; older releases keep the ones given
        at construction in ``self.generation_config``: the call's options update a copy of it (passing both a
        generation config and options is deprecated), unless the call brings its own generation config.
        """
        if hasattr(self, "_prepare_generate_kwargs"):
            return self._prepare_generate_kwargs(generate_kwargs)
        if "generation_config" in generate_kwargs:
            return generate_kwargs
        generation_config = copy.deepcopy(self.generation_config)
        unused = generation_config.update(**generate_kwargs)
        return {"generation_config": generation_config, **unused}

    def _forward(
        self, model_inputs: dict[str, Any], timestamp_method: str | None = None, **generate_kwargs: Any
    ) -> dict[str, Any]:
        clip_info = {key: model_inputs.pop(key) for key in CLIP_INFO if key in model_inputs}
        sequences = self.model.generate(**model_inputs, **self.generate_kwargs_of_call(generate_kwargs))
        outputs = {"sequences": sequences, **clip_info}
        if timestamp_method is not None and sequences.shape[1] > 1:  # else: no token after the decoder start
            # row k explains token k + 1 of the sequence (the token after the decoder start is row 0)
            outputs["maps"] = gloss_frame_maps(
                self.model,
                model_inputs["input_features"],
                model_inputs["attention_mask"],
                sequences[:, :-1],
                timestamp_method,
            )
        return outputs

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        timestamps: dict | None = None,
        return_frame_weights: bool = False,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """One result per clip; with ``num_return_sequences=n`` > 1, a list of the clip's n translations, best
        first (``generate()``'s order)."""
        key = "text" if getattr(self.model.config, "output_mode", "gloss") == "text" else "glosses"
        clip_info = {
            "num_frames": int(model_outputs["num_frames"]),
            "frames_used": int(model_outputs["frames_used"]),
            "truncated": bool(model_outputs["truncated"]),
        }
        sequences = model_outputs["sequences"]
        if len(sequences) > 1:
            return [{key: self.decode(sequence), **clip_info} for sequence in sequences]
        result = {key: self.decode(sequences[0]), **clip_info}
        if timestamps is not None:
            result.update(
                self.timestamps(model_outputs, return_frame_weights=return_frame_weights, **timestamps)
            )
        return result

    def timestamps(
        self,
        model_outputs: dict[str, Any],
        method: str,
        method_chosen_by: str,
        measured: dict | None,
        return_frame_weights: bool = False,
    ) -> dict[str, Any]:
        """``chunks`` (one time stamp per predicted gloss) and ``timestamp_info``; with ``return_frame_weights``,
        also ``frame_weights``, the map they were read from (module docstring)."""
        config = self.model.config
        ids = predicted_ids(model_outputs["sequences"][0].tolist(), config)
        rows = [k for k, i in enumerate(ids) if i not in (config.decoder_start_token_id, config.pad_token_id)]
        frames_used, num_frames = int(model_outputs["frames_used"]), int(model_outputs["num_frames"])
        fps, sample_rate = float(model_outputs["fps"]), self.feature_extractor.sample_rate
        maps = model_outputs.get("maps")
        clip_map = (
            np.zeros((0, frames_used)) if maps is None else maps[0][rows, :frames_used].double().cpu().numpy()
        )
        spans = [half_maximum_span(row) for row in clip_map]
        seconds = spans_to_seconds(spans, sample_rate, fps, num_frames)
        glosses = self.tokenizer.convert_ids_to_tokens([ids[k] for k in rows])
        stamps = {
            "chunks": [
                {"gloss": gloss, "timestamp": stamp} for gloss, stamp in zip(glosses, seconds, strict=True)
            ],
            "timestamp_info": {
                "method": method,
                "method_chosen_by": method_chosen_by,
                "fps": fps,
                "fps_source": model_outputs["fps_source"],
                "reliability": reliability(method, measured, sample_rate, fps),
            },
        }
        return {**stamps, "frame_weights": clip_map} if return_frame_weights else stamps

    def decode(self, sequence: Any) -> str:
        """The predicted tokens up to end-of-sequence, without the decoder start token and padding. ``<unk>`` stays:
        the model predicted a gloss it has no name for, and ``skip_special_tokens`` would drop it without a trace."""
        config = self.model.config
        ids = predicted_ids(sequence.tolist(), config)
        return self.tokenizer.decode(
            [i for i in ids if i not in (config.decoder_start_token_id, config.pad_token_id)]
        )


def save_pipeline(model: Any, tokenizer: Any, feature_extractor: Any, save_directory: str | Path) -> None:
    """Save model, tokenizer and feature extractor the Hub way for this pipeline: ``custom_pipelines`` in
    ``config.json`` and this file next to the weights (``Pipeline.save_pretrained``; needs the task registered,
    which importing ``modeling_signattention`` does)."""
    pipe = SignLanguageTranslationPipeline(
        model=model, tokenizer=tokenizer, feature_extractor=feature_extractor, task=TASK, device=model.device
    )
    pipe.save_pretrained(save_directory)


# -- options ----------------------------------------------------------------------------------------------------------
# generate() options that are counts: transformers leaves them unchecked, and num_beams=0 ends in a ZeroDivisionError.
GENERATE_COUNTS = ("num_beams", "num_return_sequences", "num_beam_groups", "max_length", "max_new_tokens")


def is_positive_number(value: Any) -> bool:
    """A finite real number above 0 (``True`` and strings are not numbers here)."""
    return (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def check_generate_options(generation_config: Any, options: dict[str, Any]) -> None:
    """A ValueError naming the option when ``options`` (keywords for ``model.generate``) cannot give one
    translation per clip: a count that is not a whole number >= 1, what transformers' own ``validate`` refuses,
    or ``return_dict_in_generate`` (the pipeline returns glosses; scores come from ``model.generate`` itself)."""
    for name in GENERATE_COUNTS:
        value = options.get(name)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if options.get("return_dict_in_generate"):
        raise ValueError(
            "return_dict_in_generate=True: the pipeline returns glosses, not generate()'s output object; for "
            "scores call model.generate(**feature_extractor(clip), return_dict_in_generate=True, output_scores=True)"
        )
    merged = copy.deepcopy(generation_config)
    merged.update(**options)
    try:
        merged.validate()
    except ValueError as error:
        raise ValueError(f"generate options {options}: {error}") from error


# -- time stamps: a gloss x frame map -> seconds of the clip, with the model's measured accuracy ---------------------
CLIP_INFO = ("num_frames", "frames_used", "truncated", "fps", "fps_source")


__all__ = [
    "TASK",
    "TIMESTAMP_RELIABILITY_FILE",
    "SignLanguageTranslationPipeline",
    "save_pipeline",
]
