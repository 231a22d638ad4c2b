"""Pose layouts: which points a pose array holds, by component and point name, in order.

The one table every part of the project reads: the model's configuration (``layout``), its feature extractor (which
picks body + both hands by name), the dataset builders (``landmarks.json``), extraction and the pipeline. It lives
in the model package because a Hub custom-code folder must stand alone: ``transformers`` copies this module next to
the configuration and feature extractor that import it relatively.

Point names are those of pose-format, the library that reads and writes every ``.pose`` file, so a layout here is
exactly the layout of the files it wrote:

* ``holistic``: MediaPipe Holistic as ``pose_format.utils.holistic`` names it, without the world landmarks: body 33,
  face 468, hands 21 + 21, x/y/z. Its names are written below (MediaPipe's ``PoseLandmark`` / ``HandLandmark``
  names, face points by number): pose-format builds them from MediaPipe, which only the ``extract`` extra installs,
  and reading a ``.pose`` file must not need it (``tests/test_processing.py`` checks them against pose-format);
* ``holistic_reduced``: what ``pose_format.utils.generic.reduce_holistic`` keeps: 8 upper-body points, 128 face
  contour points, hands 21 + 21, x/y/z;
* ``openpose_body25``: OpenPose's JSON output as ``pose_format.utils.openpose`` reads it: BODY_25, face 70,
  hands 21 + 21, x/y only.

Coordinates are MediaPipe's image fractions whatever the layout (pose-format's pixels divided by the width and the
height, ``pose_format_to_fractions``); a point not detected is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.ma as ma
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import VERSION, PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from pose_format.utils.generic import reduce_holistic
from pose_format.utils.openpose import OpenPose_Components

# Landmark sets a dataset stores and a model reads (``--landmarks``): body + both hands is what the paper uses.
LANDMARK_SETS = ("body_hands", "full")
DEFAULT_LAYOUT = "holistic"


@dataclass(frozen=True)
class Layout:
    """A named pose layout: components (point names in order), coordinates, and which component plays which part.

    ``body``, ``left_hand`` and ``right_hand`` name the components the paper's model reads (``face`` the fourth
    articulator, which it leaves out); ``shoulders`` names the
    signer's left and right shoulder points in ``body``, the origin and unit of the feature extractor's
    normalization. ``extra_points`` are points some writers append after the layout (Holistic's 33 world
    landmarks), which readers of plain arrays ignore.
    """

    name: str
    components: dict[str, tuple[str, ...]]
    coordinates: tuple[str, ...]
    body: str
    left_hand: str
    right_hand: str
    face: str
    shoulders: tuple[str, str]
    extra_points: int = 0

    @cached_property
    def sizes(self) -> dict[str, int]:
        """Points per component, in the layout's order."""
        return {name: len(points) for name, points in self.components.items()}

    @property
    def body_and_hands(self) -> list[str]:
        return [self.body, self.left_hand, self.right_hand]

    def articulator(self, component: str) -> str:
        """The articulator a component's points belong to (body, left hand, right hand, face): how attribution
        splits a frame, whatever the layout calls its components."""
        parts = {
            self.body: "body",
            self.left_hand: "left hand",
            self.right_hand: "right hand",
            self.face: "face",
        }
        return parts[component]

    def landmark_set(self, landmark_set: str) -> list[str]:
        """The components of a landmark set (``LANDMARK_SETS``) in this layout."""
        if landmark_set == "body_hands":
            return self.body_and_hands
        if landmark_set == "full":
            return list(self.components)
        raise ValueError(f"Unknown landmark set {landmark_set!r}; valid sets: {', '.join(LANDMARK_SETS)}")

    def check_components(self, components: Sequence[str]) -> None:
        """Raise a ValueError naming the components unknown to this layout, or return."""
        unknown = [name for name in components if name not in self.components]
        if unknown:
            raise ValueError(
                f"Unknown landmark components {unknown} for layout {self.name!r}; known: {list(self.components)}"
            )

    def num_points(self, components: Sequence[str] | None = None) -> int:
        """Points of an array holding exactly ``components`` (all of them when None)."""
        return sum(self.sizes[name] for name in (self.components if components is None else components))

    def component_slices(self, components: Sequence[str] | None = None) -> dict[str, slice]:
        """Where each named component lies in an array holding exactly ``components``, in that order."""
        slices, start = {}, 0
        for name in self.components if components is None else components:
            slices[name] = slice(start, start + self.sizes[name])
            start += self.sizes[name]
        return slices

    def shoulder_indices(self) -> tuple[int, int]:
        """The signer's left and right shoulder inside the ``body`` component."""
        points = self.components[self.body]
        return points.index(self.shoulders[0]), points.index(self.shoulders[1])

    def describe(self, components: Sequence[str] | None = None) -> str:
        """``name (COMPONENT n, ...)``: how errors name a layout."""
        names = self.components if components is None else components
        return f"{self.name!r} ({', '.join(f'{name} {self.sizes[name]}' for name in names)})"


_HOLISTIC_BODY = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE", "RIGHT_EYE_OUTER",
    "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW",
    "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY", "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX",
    "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE",
    "LEFT_HEEL", "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)  # fmt: skip
_HOLISTIC_HAND = tuple(
    f"{finger}_{joint}"
    for finger, joints in [("THUMB", ("CMC", "MCP", "IP", "TIP"))]
    + [
        (finger, ("MCP", "PIP", "DIP", "TIP"))
        for finger in ("INDEX_FINGER", "MIDDLE_FINGER", "RING_FINGER", "PINKY")
    ]
    for joint in joints
)
_HOLISTIC_COMPONENTS = [
    PoseHeaderComponent(name, list(points), [], [(0, 0, 0)], "XYZC")
    for name, points in {
        "POSE_LANDMARKS": _HOLISTIC_BODY,
        "FACE_LANDMARKS": tuple(str(index) for index in range(468)),
        "LEFT_HAND_LANDMARKS": ("WRIST", *_HOLISTIC_HAND),
        "RIGHT_HAND_LANDMARKS": ("WRIST", *_HOLISTIC_HAND),
    }.items()
]


def _reduced_components() -> list[PoseHeaderComponent]:
    """``reduce_holistic`` applied to an empty Holistic pose: the reduced layout's components, as pose-format
    makes them."""
    header = PoseHeader(VERSION, PoseHeaderDimensions(width=1, height=1, depth=0), _HOLISTIC_COMPONENTS)
    points = header.total_points()
    empty = NumPyPoseBody(
        fps=1,
        data=ma.zeros((0, 1, points, 3), dtype=np.float32),
        confidence=np.zeros((0, 1, points), np.float32),
    )
    return reduce_holistic(Pose(header, empty)).header.components


_HEADER_COMPONENTS = {
    "holistic": _HOLISTIC_COMPONENTS,
    "holistic_reduced": _reduced_components(),
    "openpose_body25": OpenPose_Components,
}
_HOLISTIC_PARTS = {
    "body": "POSE_LANDMARKS",
    "left_hand": "LEFT_HAND_LANDMARKS",
    "right_hand": "RIGHT_HAND_LANDMARKS",
    "face": "FACE_LANDMARKS",
}


def _layout(name: str, **parts: Any) -> Layout:
    components = _HEADER_COMPONENTS[name]
    coordinates = tuple(axis.lower() for axis in components[0].format if axis != "C")
    return Layout(name, {c.name: tuple(c.points) for c in components}, coordinates, **parts)


LAYOUTS: dict[str, Layout] = {
    "holistic": _layout(
        "holistic",
        **_HOLISTIC_PARTS,
        shoulders=("LEFT_SHOULDER", "RIGHT_SHOULDER"),
        extra_points=len(_HOLISTIC_BODY),  # POSE_WORLD_LANDMARKS: the body's points again, in metres
    ),
    "holistic_reduced": _layout(
        "holistic_reduced", **_HOLISTIC_PARTS, shoulders=("LEFT_SHOULDER", "RIGHT_SHOULDER")
    ),
    "openpose_body25": _layout(
        "openpose_body25",
        body="pose_keypoints_2d",
        left_hand="hand_left_keypoints_2d",
        right_hand="hand_right_keypoints_2d",
        face="face_keypoints_2d",
        shoulders=("LShoulder", "RShoulder"),
    ),
}
HOLISTIC = LAYOUTS["holistic"]


def get_layout(name: str) -> Layout:
    """The layout called ``name``, or a ValueError listing the known ones."""
    if name not in LAYOUTS:
        raise ValueError(f"Unknown pose layout {name!r}; known layouts: {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


def layout_of_points(points: int) -> tuple[Layout, list[str]] | None:
    """The layout and components of a plain array of ``points`` points: a whole layout (Holistic with or without
    its world landmarks) or its body + both hands. Point counts of the known layouts never coincide."""
    for layout in LAYOUTS.values():
        for components in (list(layout.components), layout.body_and_hands):
            total = layout.num_points(components)
            if points == total or (
                components == list(layout.components) and points == total + layout.extra_points
            ):
                return layout, components
    return None


def layout_of_header(header: PoseHeader) -> Layout | None:
    """The known layout a pose-format header is in: the first whose components are all there with all their points
    (Holistic before its reduced subset). None when no layout fits."""
    found = {component.name: set(component.points) for component in header.components}
    for layout in LAYOUTS.values():
        if all(name in found and set(points) <= found[name] for name, points in layout.components.items()):
            return layout
    return None


def point_indices(
    source: Layout, source_components: Sequence[str], target: Layout, components: Sequence[str], what: str
) -> np.ndarray:
    """Indices, in an array of ``source`` layout holding ``source_components``, of the points of ``components`` of
    the ``target`` layout, matched by component and point name (so Holistic input serves a reduced-Holistic model).

    A point the source lacks is a ValueError naming ``what`` and both layouts.
    """
    slices = source.component_slices(source_components)
    indices = []
    for name in components:
        points = source.components.get(name, ()) if name in slices else ()
        missing = [point for point in target.components[name] if point not in points]
        if missing:
            raise ValueError(
                f"{what} is in pose layout {source.describe(source_components)}, not the expected layout "
                f"{target.describe(components)}: {name} "
                + (
                    "is missing"
                    if not points
                    else f"lacks the points {missing[:4]}{'...' if len(missing) > 4 else ''}"
                )
            )
        indices += [slices[name].start + points.index(point) for point in target.components[name]]
    return np.asarray(indices, dtype=np.int64)


def pose_format_to_fractions(data: Any, confidence: Any, width: float, height: float) -> np.ndarray:
    """pose-format's coordinates -> MediaPipe's image fractions: x / width, y / height, z as is; missing -> NaN.

    pose-format's readers (Holistic, OpenPose) and ``dataset_builder.extract --format pose`` store x, y in pixels
    and mark a point not detected by confidence 0 (masked). The model reads image fractions, so every ``.pose``
    input is converted here, by the feature extractor and the dataset builders alike: one clip gives the same
    features whichever way it reaches the model. ``data`` is ``(..., points, dims)`` (masked or not),
    ``confidence`` ``(..., points)``.
    """
    if not (width > 0 and height > 0):
        raise ValueError(
            f"cannot turn pixel coordinates into image fractions: width={width}, height={height}"
        )
    values = ma.getdata(data).astype(np.float64)
    missing = ma.getmaskarray(data).any(axis=-1) | (np.asarray(confidence) == 0)
    landmarks = (values / np.array([width, height, 1.0])[: values.shape[-1]]).astype(np.float32)
    landmarks[missing] = np.nan
    return landmarks


def select_from_pose(pose: Pose, layout: Layout, components: Sequence[str], what: str) -> np.ndarray:
    """``components`` of ``layout`` from the first person of a ``pose_format.Pose``, picked by name, as image
    fractions ``(frames, points, dims)`` with NaN where not detected.

    A pose in another layout is a ValueError naming ``what``, the pose's layout and the expected ``layout``.
    """
    data = pose.body.data
    if data.ndim != 4 or data.shape[1] == 0:
        raise ValueError(f"{what} holds no person (body data of shape {data.shape})")
    found = {component.name: tuple(component.points) for component in pose.header.components}
    source = layout_of_header(pose.header)
    for name in components:
        if name not in found or not set(layout.components[name]) <= set(found[name]):
            detected = (
                source.describe()
                if source is not None
                else f"unknown ({', '.join(f'{n} {len(p)}' for n, p in found.items())})"
            )
            raise ValueError(
                f"{what} is in pose layout {detected}, not the expected layout {layout.describe(components)}: "
                f"{name} {'is missing' if name not in found else 'lacks some of its points'}"
            )
    selected = pose.get_components(
        list(components), {name: list(layout.components[name]) for name in components}
    )
    fractions = pose_format_to_fractions(
        selected.body.data[:, 0],
        selected.body.confidence[:, 0],
        pose.header.dimensions.width,
        pose.header.dimensions.height,
    )
    return fractions


__all__ = [
    "DEFAULT_LAYOUT",
    "HOLISTIC",
    "LANDMARK_SETS",
    "LAYOUTS",
    "Layout",
    "get_layout",
    "layout_of_header",
    "layout_of_points",
    "point_indices",
    "pose_format_to_fractions",
    "select_from_pose",
]
