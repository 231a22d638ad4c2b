"""``pipeline("sign-language-translation")``: a signing clip in, glosses (or text) out, in one call.

A clip is a video file, a folder of frame images, a ``.pose`` / ``.npy`` pose file, a pose array, a
``pose_format.Pose`` or a list of them (batched with ``batch_size``). Videos and frame folders go through MediaPipe
Holistic first, imported only then (it is a heavy optional dependency); poses go straight to the model's feature
extractor, which holds every preprocessing step, so the pipeline and a hand-written
extract -> feature extractor -> ``generate()`` loop give the same result.

This file is saved next to the model (``custom_pipelines`` in ``config.json``) and runs from a Hub folder without
this project: it may import only transformers, numpy, the feature extractor next to it and, lazily, OpenCV /
MediaPipe / pose-format. Hence its own small video reader, which matches ``dataset_builder.extract.extract_clip``
array for array (a test checks it).

Per clip the result is ``{"glosses": "...", "num_frames": T, "frames_used": n, "truncated": bool}`` (``"text"``
instead of ``"glosses"`` for a model trained to write text). The model reads one frame in ``sample_rate`` and at most
``max_frames`` of those: a longer clip is cut, and then ``truncated`` is true and a warning (the feature
extractor's) names the clip.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import Pipeline

from .feature_extraction_signattention import read_pose_file

TASK = "sign-language-translation"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
POSE_SUFFIXES = frozenset({".pose", ".npy"})
# MediaPipe Holistic result fields in Holistic order (pose-format's order too), with their point counts.
HOLISTIC_RESULTS = (
    ("pose_landmarks", 33),
    ("face_landmarks", 468),
    ("left_hand_landmarks", 21),
    ("right_hand_landmarks", 21),
)
MEDIAPIPE_MISSING = (
    "Reading a video needs MediaPipe and OpenCV: pip install 'mediapipe==0.10.21' 'numpy<2' "
    "(or pass poses: a .pose file, a pose array or a pose_format.Pose)"
)


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
        """``inputs``: one clip or a list of clips; a list gives a list of results in the same order."""
        if isinstance(inputs, (list, tuple)):
            if not inputs:
                raise ValueError("No clips given: the list is empty")
            return super().__call__(
                [Clip(source, describe(source, i)) for i, source in enumerate(inputs)], **kwargs
            )
        return super().__call__(Clip(inputs, describe(inputs, None)), **kwargs)

    def _sanitize_parameters(
        self, generate_kwargs: dict | None = None, **kwargs: Any
    ) -> tuple[dict, dict, dict]:
        """Every keyword goes to ``generate()``; options of the result (postprocess) would be split off here."""
        forward_params = {**(generate_kwargs or {}), **kwargs}
        return {}, forward_params, {}

    # -- clip -> model inputs ---------------------------------------------------------------------------------------
    def preprocess(self, clip: Clip) -> dict[str, Any]:
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
        return {
            **features,
            "num_frames": num_frames,
            "frames_used": int(features["attention_mask"].sum()),
            "truncated": num_frames > readable,
        }

    def load_pose(self, source: Any) -> Any:
        """A pose array (frames, points, coords) or a ``pose_format.Pose`` for the feature extractor."""
        if not isinstance(source, (str, Path)):
            return source  # arrays, tensors and Pose objects: the feature extractor checks their layout
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(path)
        if path.suffix.lower() in POSE_SUFFIXES:
            return read_pose_file(path)
        return read_holistic(path, self.holistic())

    def holistic(self) -> Any:
        if self._holistic is None:
            try:
                import mediapipe as mp
            except ImportError as error:
                raise ImportError(MEDIAPIPE_MISSING) from error
            self._holistic = mp.solutions.holistic.Holistic(model_complexity=1)
        return self._holistic

    # -- model ------------------------------------------------------------------------------------------------------
    def _forward(self, model_inputs: dict[str, Any], **generate_kwargs: Any) -> dict[str, Any]:
        clip_info = {key: model_inputs.pop(key) for key in ("num_frames", "frames_used", "truncated")}
        sequences = self.model.generate(**model_inputs, **self._prepare_generate_kwargs(generate_kwargs))
        return {"sequences": sequences, **clip_info}

    def postprocess(self, model_outputs: dict[str, Any]) -> dict[str, Any]:
        key = "text" if getattr(self.model.config, "output_mode", "gloss") == "text" else "glosses"
        return {
            key: self.decode(model_outputs["sequences"][0]),
            "num_frames": int(model_outputs["num_frames"]),
            "frames_used": int(model_outputs["frames_used"]),
            "truncated": bool(model_outputs["truncated"]),
        }

    def decode(self, sequence: Any) -> str:
        """The predicted tokens up to end-of-sequence, without the decoder start token and padding. ``<unk>`` stays:
        the model predicted a gloss it has no name for, and ``skip_special_tokens`` would drop it without a trace."""
        config = self.model.config
        ids = sequence.tolist()
        if config.eos_token_id in ids:
            ids = ids[: ids.index(config.eos_token_id)]
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


# -- video / frame folder -> Holistic landmarks -----------------------------------------------------------------------
def read_holistic(path: Path, holistic: Any) -> np.ndarray:
    """``(frames, 543, 3)`` float32 MediaPipe Holistic landmarks of a video or frame folder, NaN where a part was not
    detected: the same arrays as ``dataset_builder.extract.extract_clip``."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    holistic.process(
        np.full((256, 256, 3), 255, dtype=np.uint8)
    )  # a blank frame: drop the previous clip's track
    frames = []
    for frame in iter_frames(path, cv2):
        results = holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        landmarks = np.full((sum(count for _, count in HOLISTIC_RESULTS), 3), np.nan, dtype=np.float32)
        start = 0
        for field, count in HOLISTIC_RESULTS:
            detected = getattr(results, field)
            if detected is not None:
                landmarks[start : start + count] = [(p.x, p.y, p.z) for p in detected.landmark[:count]]
            start += count
        frames.append(landmarks)
    if not frames:
        raise ValueError("no frame could be decoded (empty or corrupt video)")
    return np.stack(frames)


def iter_frames(path: Path, cv2: Any):
    """BGR frames of a video file, or of the images of a folder in natural order (frame2 before frame10)."""
    if path.is_dir():
        images = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: [
                int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", p.name)
            ],
        )
        if not images:
            raise ValueError(f"frame folder contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        for image in images:
            frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
            if frame is None:
                raise ValueError(f"unreadable image {image.name}")
            yield frame
        return
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise ValueError("OpenCV cannot open it as a video (not a video file, or corrupt)")
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()


__all__ = ["SignLanguageTranslationPipeline", "TASK", "save_pipeline"]
