"""Pose feature extractor: poses in (MediaPipe Holistic, reduced Holistic or OpenPose), ``input_features`` +
``attention_mask`` out.

All pose preprocessing lives here, saved with the model (``preprocessor_config.json``), so a model and the
frames it was trained on cannot drift apart:
select the landmark components by name -> keep x/y(/z) -> fill landmarks missing in some frames by
interpolating over time -> centre on the mid-shoulder point and divide by the shoulder width -> NaN left (never
detected) to 0 -> take 1 frame in ``sample_rate`` (a random one per window when training, the first of each window
when evaluating) -> truncate to ``max_frames`` -> pad the batch. (The official code composed posecraft transforms
of the same kinds: ``FillMissing``, ``CenterToKeypoint``, ``NormalizeDistances``, ``ReplaceNansWithZeros``,
``RandomSampleFrames``, ``PadTruncateFrames``; which of them its GSL run used is not published.)

Why fill and normalize (both on by default, both switchable): in image coordinates the signing itself moves a
landmark by ~0.02 (per-feature spread on the synthetic corpus), where the signer stands and how tall they are
shift it by as much, and a hand that MediaPipe loses for a few frames jumps to 0, some 0.3-0.4 away. Measured on the synthetic SI corpus (1,000 training steps of the paper
model): validation WER 100 % with raw coordinates, 80 % normalized, 71 % normalized and filled.

The extractor reads one pose layout (``layout``, ``modeling_signattention.layouts``: ``holistic``,
``holistic_reduced``, ``openpose_body25``) and picks the configured components (by default the layout's body + both
hands) by component and point name. Accepted poses, one or a list: arrays (numpy, torch, nested lists)
``(frames, points, coords)`` in image-fraction coordinates, holding a whole known layout (Holistic: 543 points, or
576 with the world landmarks appended), its body + both hands, exactly the configured components, or components
named by ``input_components``; ``.npy`` paths (a plain array, or the record ``python -m dataset_builder.extract``
writes); ``pose_format.Pose`` objects and ``.pose`` paths (pixel coordinates turned into image fractions by
``layouts.pose_format_to_fractions``). So one clip gives the same ``input_features`` whichever way it comes in. A
pose whose layout lacks the model's points (OpenPose for a Holistic model) is refused, naming both layouts.

Inputs that would give a confident answer from nothing are refused with a ValueError naming the clip: no
landmark finite in any frame, every landmark of every frame at one point (an all-zero or constant array), or
(with ``normalize``) no frame with both shoulders, or shoulders of width 0: "no person found". NaN and inf are both
"not detected", and so is a masked point of a masked array (pose-format's ``pose.body.data``, whose
``(frames, 1, points, coords)`` shape is one clip). An array whose x and y are pixels rather than image fractions
is refused too: only a ``Pose`` carries the width and height that convert them. A clip longer than ``max_frames * sample_rate`` frames is cut to what the model
reads, with a warning naming the clip and how many frames are dropped.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from transformers import BatchFeature, FeatureExtractionMixin

from .layouts import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    Layout,
    get_layout,
    layout_of_points,
    point_indices,
    select_from_pose,
)


def read_pose_file(path: str | os.PathLike) -> Any:
    """A ``.pose`` file as a ``pose_format.Pose``; a ``.npy`` file as its landmark array (plain, or the record
    ``dataset_builder.extract`` writes, whose ``landmarks`` field is taken)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such pose file: {path}")
    if path.suffix.lower() == ".pose":
        from pose_format import Pose  # only needed for .pose files

        try:
            return Pose.read(path.read_bytes())
        except Exception as error:  # pose-format raises struct/Unicode/Index errors on a malformed file
            raise ValueError(f"not a readable .pose file ({type(error).__name__}: {error})") from error
    if path.suffix.lower() == ".npy":
        array = np.load(path, allow_pickle=False)
        if array.dtype.names is not None:
            if "landmarks" not in array.dtype.names:
                raise ValueError(f"a record .npy without a 'landmarks' field (fields: {array.dtype.names})")
            return array["landmarks"]
        return array
    raise ValueError(f"unknown pose file suffix {path.suffix!r}: expected .pose or .npy")


def _is_pose_like(item: Any) -> bool:
    """One clip rather than a frame: a path, a ``Pose``, or an array of 3+ dimensions."""
    if isinstance(item, (str, os.PathLike)) or hasattr(item, "header"):
        return True
    try:
        return np.ndim(item) >= 3
    except ValueError:  # a ragged nested list: numpy cannot tell its dimensions
        return False


def split_batch(poses: Any) -> tuple[list[Any], bool]:
    """One pose or a batch of them -> (the clips, whether ``poses`` was a batch).

    A 3-D array/tensor/nested list is one clip; a list holding at least one clip-like item is a batch, and so is
    a 4-D array, except ``(frames, 1, points, coords)``: pose-format's ``pose.body.data`` (one person), one clip.
    """
    if hasattr(poses, "detach"):  # a torch tensor
        poses = poses.detach().cpu().numpy()
    if isinstance(poses, (list, tuple)):
        if len(poses) == 0:
            raise ValueError("No poses given")
        if any(_is_pose_like(item) for item in poses):
            return list(poses), True
        return [poses], False
    if isinstance(poses, np.ndarray) and poses.ndim == 4 and poses.shape[1] != 1:
        return list(poses), True
    return [poses], False


def _clip_name(pose: Any, index: int, batch_size: int) -> str:
    """How errors and warnings name a clip: its file, or its place in the batch."""
    if isinstance(pose, (str, os.PathLike)):
        return str(pose)
    return "the pose" if batch_size == 1 else f"poses[{index}]"


class SignAttentionFeatureExtractor(FeatureExtractionMixin):
    model_input_names = ["input_features", "attention_mask"]

    def __init__(
        self,
        landmark_components: Sequence[str] | None = None,
        num_coordinates: int | None = None,
        sample_rate: int = 3,
        max_frames: int = 220,
        padding_value: float = 0.0,
        normalize: bool = True,
        fill_missing: bool = True,
        layout: str = DEFAULT_LAYOUT,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        pose_layout = get_layout(layout)
        landmark_components = (
            pose_layout.body_and_hands if landmark_components is None else landmark_components
        )
        pose_layout.check_components(landmark_components)
        num_coordinates = len(pose_layout.coordinates) if num_coordinates is None else num_coordinates
        if not 2 <= num_coordinates <= len(pose_layout.coordinates):
            raise ValueError(
                f"num_coordinates must be 2 to {len(pose_layout.coordinates)} for layout {layout!r}, got {num_coordinates}"
            )
        if sample_rate < 1 or max_frames < 1:
            raise ValueError(f"sample_rate and max_frames must be >= 1, got {sample_rate} and {max_frames}")
        self.layout = layout
        self.landmark_components = list(landmark_components)
        self.num_coordinates = num_coordinates
        self.sample_rate = sample_rate
        self.max_frames = max_frames
        self.padding_value = padding_value
        if normalize and pose_layout.body not in self.landmark_components:
            raise ValueError(
                f"normalize=True centres on the shoulders: landmark_components must include {pose_layout.body}"
            )
        self.normalize = normalize
        self.fill_missing = fill_missing

    @property
    def pose_layout(self) -> Layout:
        return get_layout(self.layout)

    @property
    def num_features(self) -> int:
        return self.pose_layout.num_points(self.landmark_components) * self.num_coordinates

    # -- one pose -> (frames, landmarks, coords) of the configured components -------------------------------------
    def select_landmarks(self, pose: Any, input_components: Sequence[str] | None = None) -> np.ndarray:
        """The configured components of one pose, as float32 `(frames, landmarks, num_coordinates)` with NaN kept.

        Points are picked by component and point name, so a pose in a layout that holds the model's points (a
        Holistic pose for a reduced-Holistic model) serves; one that does not (OpenPose for a Holistic model) is a
        ValueError naming both layouts.
        """
        if isinstance(pose, (str, os.PathLike)):
            pose = read_pose_file(pose)
        if hasattr(pose, "header") and hasattr(pose, "body"):
            landmarks = select_from_pose(pose, self.pose_layout, self.landmark_components, "The .pose file")
            return _finite_or_nan(self._keep_coordinates(landmarks, "The .pose file"))
        if hasattr(pose, "detach"):  # a torch tensor
            pose = pose.detach().cpu().numpy()
        try:
            if np.ma.isMaskedArray(pose):  # pose-format's body data: masked = not detected
                array = np.ma.filled(pose.astype(np.float32), np.float32(np.nan))
            else:
                array = np.asarray(pose, dtype=np.float32)
        except (ValueError, TypeError) as error:  # ragged nested lists, strings...
            raise ValueError(f"cannot be read as a (frames, points, coords) array: {error}") from error
        if array.ndim == 4 and array.shape[1] == 1:  # pose-format's (frames, people, points, dims)
            array = array[:, 0]
        if array.ndim != 3:
            raise ValueError(f"A pose array must be (frames, points, coords), got shape {array.shape}")
        _refuse_pixel_coordinates(array)
        source = f"The array with {array.shape[1]} points"
        if input_components is not None:
            layout, components = self.pose_layout, list(input_components)
            layout.check_components(components)
            if layout.num_points(components) > array.shape[1]:
                raise ValueError(
                    f"The layout {components} needs {layout.num_points(components)} points, the array has "
                    f"{array.shape[1]}"
                )
        else:
            layout, components = self._infer_layout(array.shape[1])
        indices = point_indices(layout, components, self.pose_layout, self.landmark_components, source)
        return _finite_or_nan(self._keep_coordinates(array[:, indices], source))

    def _infer_layout(self, points: int) -> tuple[Layout, list[str]]:
        """The layout of a plain array from its number of points: the configured components, or a whole layout
        or its body + both hands (``layouts.layout_of_points``)."""
        if points == self.pose_layout.num_points(self.landmark_components):
            return self.pose_layout, self.landmark_components
        found = layout_of_points(points)
        if found is None:
            known = ", ".join(
                f"{layout.num_points()}{f' (or {layout.num_points() + layout.extra_points})' if layout.extra_points else ''}"
                f" ({name})"
                for name, layout in LAYOUTS.items()
            )
            raise ValueError(
                f"A pose with {points} points matches no known layout: expected {known} or "
                f"{self.pose_layout.num_points(self.landmark_components)} ({self.landmark_components}); "
                "pass input_components=[...] to name the components of another layout"
            )
        return found

    def _keep_coordinates(self, landmarks: np.ndarray, source: str) -> np.ndarray:
        if landmarks.shape[2] < self.num_coordinates:
            raise ValueError(
                f"{source} has {landmarks.shape[2]} coordinates, the model needs {self.num_coordinates}"
            )
        return landmarks[..., : self.num_coordinates]

    # -- missing landmarks and body-relative coordinates ----------------------------------------------------------
    def interpolate_missing(self, landmarks: np.ndarray) -> np.ndarray:
        """Fill NaN by linear interpolation over time, per landmark and coordinate; before the first (after the
        last) detection the nearest detected value is held. A landmark never detected stays NaN.

        Only the columns with a gap are interpolated, and neighbouring columns lost in the same frames (the three
        coordinates of a landmark, a whole hand) share one set of weights and are filled with whole-row copies: in
        most clips the body is always found and only the hands come and go, and preprocessing runs for every clip
        the model is trained or evaluated on (on the sentence-disjoint training clips 0.33 ms instead of 0.65 ms
        per clip column by column, with the same values).
        """
        frames = landmarks.shape[0]
        flat = landmarks.reshape(frames, -1)
        valid = ~np.isnan(flat)
        with_gaps = np.flatnonzero(~valid.all(axis=0))
        if not len(with_gaps):
            return landmarks
        gappy = valid[:, with_gaps]
        new_group = np.ones(len(with_gaps), dtype=bool)
        new_group[1:] = (with_gaps[1:] != with_gaps[:-1] + 1) | (gappy[:, 1:] != gappy[:, :-1]).any(axis=0)
        starts = np.flatnonzero(new_group)
        seen = gappy[:, starts]  # (frames, groups): where each group's columns are detected
        time = np.arange(frames)[:, None]
        previous = np.maximum.accumulate(np.where(seen, time, -1), axis=0)
        following = np.minimum.accumulate(np.where(seen, time, frames)[::-1], axis=0)[::-1]
        has_before, has_after = previous >= 0, following < frames
        weight = np.where(
            has_before & has_after, (time - previous) / np.maximum(following - previous, 1), 0.0
        )
        before = np.where(has_before, previous, following).clip(0, frames - 1)
        after = np.where(has_after, following, previous).clip(0, frames - 1)
        stops = np.append(with_gaps[starts[1:] - 1], with_gaps[-1]) + 1
        result = flat.copy()
        for group, (first, stop) in enumerate(zip(with_gaps[starts], stops, strict=True)):
            columns, share = flat[:, first:stop], weight[:, group, None]
            filled = columns[before[:, group]] * (1 - share) + columns[after[:, group]] * share
            result[:, first:stop] = np.where(seen[:, group, None], columns, filled)
        return result.reshape(landmarks.shape)

    def normalize_to_shoulders(self, landmarks: np.ndarray) -> np.ndarray:
        """Origin at the clip's median mid-shoulder point, unit = its median shoulder width (all coordinates).

        A clip with no frame showing both shoulders has no body to measure: ValueError "no person found" (the
        model would otherwise translate zeros with confidence).
        """
        layout = self.pose_layout
        body = layout.component_slices(self.landmark_components)[layout.body].start
        indices = dict(zip(("left", "right"), layout.shoulder_indices(), strict=True))
        shoulders = {side: landmarks[:, body + index, :2] for side, index in indices.items()}
        left, right = shoulders["left"], shoulders["right"]
        both = ~np.isnan(left + right).any(axis=1)
        if not both.any():
            never = [side for side, points in shoulders.items() if np.isnan(points).any(axis=1).all()]
            raise ValueError(
                f"no person found: the {' and '.join(never) or 'left and right'} shoulder "
                f"({layout.body} {', '.join(str(indices[side]) for side in never or indices)}) is missing "
                f"(NaN or inf) in {'every frame' if never else 'every frame where the other is found'} of "
                f"{len(landmarks)}; normalize=True needs both shoulders in at least one frame"
            )
        centre = np.median((left[both] + right[both]) / 2, axis=0)
        width = np.median(np.linalg.norm(left[both] - right[both], axis=1))
        if not width > 0:
            raise ValueError(
                "no person found: the left and right shoulder are at the same point in most frames (shoulder "
                f"width {width:g}): a still image or a constant array, not a signer; normalize=True divides by "
                "that width"
            )
        # One pass over rows of (points x coordinates) values: subtracting from the x, y slice in place strides
        # through the array two values at a time (0.45 ms per clip instead of 0.25, the same values).
        frames, points, coordinates = landmarks.shape
        origin = np.zeros(coordinates, dtype=landmarks.dtype)
        origin[:2] = centre
        normalized = landmarks.reshape(frames, -1) - np.tile(origin, points)
        normalized /= width
        return normalized.reshape(landmarks.shape)

    # -- frame sampling -------------------------------------------------------------------------------------------
    def sample_frames(
        self, num_frames: int, training: bool, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Indices of the frames kept: one per window of ``sample_rate`` frames, then at most ``max_frames``.

        Training draws a random frame inside each window (the paper's augmentation); evaluation takes the first,
        so frame i of the model is frame i * sample_rate of the clip.
        """
        starts = np.arange(0, num_frames, self.sample_rate)
        if training:
            rng = rng if rng is not None else np.random.default_rng()
            widths = np.minimum(self.sample_rate, num_frames - starts)
            starts = starts + (rng.random(len(starts)) * widths).astype(np.int64)
        return starts[: self.max_frames]

    def __call__(
        self,
        poses: Any,
        training: bool = False,
        input_components: Sequence[str] | None = None,
        padding: str = "longest",
        seed: int | None = None,
        return_tensors: str | None = "pt",
    ) -> BatchFeature:
        """Turn one pose or a list of poses (see the module docstring for the kinds) into a padded batch.

        padding: "longest" pads to the longest clip of the batch, "max_length" to ``max_frames``.
        Raises a ValueError naming the clip (its path, or ``poses[i]``) for anything the model cannot read.
        """
        poses = split_batch(poses)[0]
        clips = []
        for index, pose in enumerate(poses):
            name = _clip_name(pose, index, len(poses))
            try:
                clips.append(self.preprocess(pose, input_components, name))
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from error
        return self.sample_and_pad(clips, training, padding, seed, return_tensors)

    def preprocess(
        self, pose: Any, input_components: Sequence[str] | None = None, name: str = "the clip"
    ) -> np.ndarray:
        """One clip's ``(frames, num_features)``: the steps of the module docstring up to frame sampling.

        They do not depend on the epoch, so training runs them once per clip (``hub_scripts.train``) and only
        ``sample_and_pad`` per batch.
        """
        landmarks = self.select_landmarks(pose, input_components)
        if landmarks.shape[0] == 0:
            raise ValueError("0 frames")
        if np.isnan(landmarks).all():
            raise ValueError(
                f"no person found: no landmark is detected (finite) in any of the {len(landmarks)} frames"
            )
        spread = np.fmax.reduce(landmarks[..., :2], axis=1) - np.fmin.reduce(landmarks[..., :2], axis=1)
        if not (spread > 0).any():  # fmax / fmin skip NaN; a frame with no landmark has spread NaN
            raise ValueError(
                f"no person found: in each of the {len(landmarks)} frames every landmark is at one and the "
                "same point (an all-zero or constant array)"
            )
        if self.fill_missing:
            landmarks = self.interpolate_missing(landmarks)
        if self.normalize:
            landmarks = self.normalize_to_shoulders(landmarks)
        landmarks = np.nan_to_num(landmarks, nan=0.0)
        read = self.max_frames * self.sample_rate
        if len(landmarks) > read:
            warnings.warn(
                f"{name}: {len(landmarks)} frames, but the model reads at most {self.max_frames} sampled frames "
                f"(1 in {self.sample_rate}) = the first {read} frames; the last {len(landmarks) - read} "
                f"({1 - read / len(landmarks):.0%} of the clip) are cut",
                stacklevel=3,
            )
        frames, points, coordinates = landmarks.shape
        return landmarks.reshape(frames, points * coordinates)

    def sample_and_pad(
        self,
        clips: Sequence[np.ndarray],
        training: bool = False,
        padding: str = "longest",
        seed: int | None = None,
        return_tensors: str | None = "pt",
    ) -> BatchFeature:
        """Preprocessed clips (``preprocess``) -> their sampled frames, padded into one batch."""
        if padding not in ("longest", "max_length"):
            raise ValueError(f"padding must be 'longest' or 'max_length', got {padding!r}")
        rng = np.random.default_rng(seed)
        sampled = [clip[self.sample_frames(clip.shape[0], training, rng)] for clip in clips]
        length = self.max_frames if padding == "max_length" else max(len(clip) for clip in sampled)
        features = np.full((len(sampled), length, self.num_features), self.padding_value, dtype=np.float32)
        attention_mask = np.zeros((len(sampled), length), dtype=np.int64)
        for row, clip in enumerate(sampled):
            features[row, : len(clip)] = clip
            attention_mask[row, : len(clip)] = 1
        return BatchFeature(
            {"input_features": features, "attention_mask": attention_mask}, tensor_type=return_tensors
        )


# MediaPipe's x and y are fractions of the image (a point off-screen is a little outside 0..1); pixel coordinates
# of any real video are tens to thousands.
PIXEL_COORDINATE_THRESHOLD = 10.0


def _refuse_pixel_coordinates(array: np.ndarray) -> None:
    """A pose array in pixels (pose-format's ``pose.body.data``) read as image fractions is another clip: its x and
    y are scaled unequally once divided by width and height, which an array does not carry."""
    values = np.abs(array[..., :2])
    if not (values > PIXEL_COORDINATE_THRESHOLD).any():  # then neither is the median: skip sorting
        return
    finite = values[np.isfinite(values)]  # NaN and inf are "not detected"; a clip of nothing is refused later
    typical = np.median(finite) if finite.size else 0.0
    if typical > PIXEL_COORDINATE_THRESHOLD:
        raise ValueError(
            f"its x and y look like pixels (median |x|, |y| = {typical:.0f}), not MediaPipe's image fractions "
            "(0 to 1): pose-format's pose.body.data is in pixels; pass the Pose itself or its .pose file (its "
            "header has the width and height), or divide x by the width and y by the height"
        )


def _finite_or_nan(landmarks: np.ndarray) -> np.ndarray:
    """inf means "not detected" as much as NaN does (a broken tracker, an overflow): one marker for both."""
    return np.where(np.isfinite(landmarks), landmarks, np.float32(np.nan))


__all__ = ["SignAttentionFeatureExtractor", "split_batch"]
