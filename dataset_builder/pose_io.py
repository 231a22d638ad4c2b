"""Our Holistic arrays <-> pose-format's ``Pose`` (the ``.pose`` file format), in both directions.

Our arrays hold MediaPipe's own normalized coordinates (x, y in image fractions, z relative) with NaN where a
part was not detected. pose-format's convention, which its tools (visualizer, normalization, other corpora)
rely on, is pixel coordinates with missing points masked by confidence 0. So writing scales x by the width and
y by the height and zeroes undetected points; reading divides back and turns confidence 0 into NaN.

The header is built from ``pose_format.utils.holistic`` (its point names, limbs and colours), so our files are
indistinguishable from those pose-format's own ``load_holistic`` writes, minus ``POSE_WORLD_LANDMARKS``. Reading
picks the points by the names of ``modeling_signattention.layouts``, which needs no MediaPipe.

Round trip ours -> ``.pose`` -> ours keeps the NaN pattern, the confidences, width and height exactly. Two
float32 roundings cannot be avoided by the file format: a normalized coordinate can come back 1 ulp off
(relative error < 1.2e-7, because the pixel value is stored as float32), and fps is stored as float32.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import numpy.ma as ma
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import VERSION, PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

from modeling_signattention.holistic_video import NUM_HOLISTIC_POINTS
from modeling_signattention.layouts import HOLISTIC, pose_format_to_fractions

HOLISTIC_COMPONENTS = HOLISTIC.sizes


@functools.cache
def holistic_header_components() -> dict[str, PoseHeaderComponent]:
    """pose-format's Holistic components by name (the order we use is ``HOLISTIC_COMPONENTS``).

    Built on first use, for writing: pose-format's ``holistic_components`` imports MediaPipe (for its limbs), which
    only the 'extract' extra installs, as MediaPipe is also what makes Holistic poses; reading works without it.
    """
    try:
        from pose_format.utils.holistic import holistic_components
    except ImportError as error:
        raise ImportError(
            "Writing a MediaPipe Holistic .pose file needs pose-format's Holistic header, which needs MediaPipe: "
            "pip install 'signattention[extract]' (or write .npy)"
        ) from error

    return {c.name: c for c in holistic_components("XYZC") if c.name in HOLISTIC_COMPONENTS}


def holistic_header(width: int, height: int) -> PoseHeader:
    """The pose-format header of a 543-point Holistic pose of a ``width`` x ``height`` video."""
    components = [holistic_header_components()[name] for name in HOLISTIC_COMPONENTS]
    return PoseHeader(VERSION, PoseHeaderDimensions(width=width, height=height, depth=0), components)


def expected_points() -> dict[str, list[str]]:
    """Points are selected by name, so files with extra points (the refined face's 10 iris points 468-477),
    reordered points or reordered/extra components (POSE_WORLD_LANDMARKS) all read the same."""
    return {name: list(points) for name, points in HOLISTIC.components.items()}


def to_pose(
    landmarks: np.ndarray,
    confidence: np.ndarray,
    *,
    fps: float,
    width: int,
    height: int,
    header: PoseHeader | None = None,
) -> Pose:
    """Wrap ``(T, 543, 3)`` normalized landmarks (NaN = not detected) and ``(T, 543)`` confidences in a ``Pose``.

    ``header``: pose-format's Holistic header (with MediaPipe's limbs; needs MediaPipe) unless given, e.g.
    ``layouts.layout_header("holistic", ...)``, which needs nothing.

    Undetected points are written as 0 with confidence 0, which is how pose-format marks (and masks) missing
    points; ``confidence`` must therefore be 0 exactly where ``landmarks`` is NaN.
    """
    if landmarks.shape[1:] != (NUM_HOLISTIC_POINTS, 3) or confidence.shape != landmarks.shape[:2]:
        raise ValueError(
            f"expected landmarks (T, {NUM_HOLISTIC_POINTS}, 3) and confidence (T, {NUM_HOLISTIC_POINTS}), "
            f"got {landmarks.shape} and {confidence.shape}"
        )
    missing = np.isnan(landmarks).any(axis=-1)
    if not np.array_equal(missing, confidence == 0):
        raise ValueError(
            "confidence must be 0 exactly where landmarks are NaN (pose-format masks by confidence)"
        )
    scale = np.array([width, height, 1.0])
    pixels = np.where(missing[..., None], 0.0, landmarks * scale).astype(np.float32)
    mask = np.broadcast_to(missing[..., None], pixels.shape)
    data = ma.masked_array(pixels[:, None], mask=mask[:, None])  # (frames, people=1, points, xyz)
    body = NumPyPoseBody(fps=fps, data=data, confidence=confidence[:, None].astype(np.float32))
    return Pose(holistic_header(width, height) if header is None else header, body)


def from_pose(pose: Pose, source: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The ``(T, 543, 3)`` normalized landmarks (NaN = masked) and ``(T, 543)`` confidences of a Holistic ``Pose``.

    Components and points are picked by name, so extra ones are dropped. Only the first person is kept: Holistic
    tracks one. ``source`` names the file in errors, e.g. for OpenPose or reduced (subset) Holistic layouts.
    """
    _check_holistic_layout(pose, source)
    width, height = pose.header.dimensions.width, pose.header.dimensions.height
    if width <= 0 or height <= 0 or pose.body.data.shape[1] == 0:
        raise ValueError(
            f"{source}: cannot read pixel coordinates back to normalized ones "
            f"(width={width}, height={height}, people={pose.body.data.shape[1]})"
        )
    selected = pose.get_components(list(HOLISTIC_COMPONENTS), expected_points())
    data, confidence = selected.body.data[:, 0], np.asarray(selected.body.confidence[:, 0], dtype=np.float32)
    landmarks = pose_format_to_fractions(data, confidence, width, height)
    confidence[np.isnan(landmarks).any(axis=-1)] = 0.0
    return landmarks, confidence


def _check_holistic_layout(pose: Pose, source: str | Path) -> None:
    """Raise a ValueError naming ``source`` and every missing component/point count, or return."""
    found = {c.name: c for c in pose.header.components}
    problems = []
    for name, points in expected_points().items():
        component = found.get(name)
        if component is None:
            problems.append(f"no {name} component")
            continue
        present = len(set(points) & set(component.points))
        if present < len(points):
            problems.append(f"{name} has {present} of the {len(points)} Holistic points")
        elif component.format != "XYZC":
            problems.append(f"{name} has point format {component.format!r}, expected 'XYZC'")
    if problems:
        layout = ", ".join(f"{c.name} ({len(c.points)} points)" for c in pose.header.components)
        raise ValueError(
            f"{source} is not a full MediaPipe Holistic pose ({', '.join(f'{n} {k}' for n, k in HOLISTIC_COMPONENTS.items())}"
            f" points): {'; '.join(problems)}. The file has: {layout}"
        )
