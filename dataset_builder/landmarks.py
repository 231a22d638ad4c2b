"""MediaPipe Holistic landmark layout: which points a pose array holds, by name and in order.

Everything in ``dataset_builder`` speaks this layout. It is a copy of the table in
``modeling_signattention/configuration_signattention.py`` (the one the model, its Hub folder and the scripts
read): extraction and the dataset builder never import the model package, and a Hub custom-code folder must stand
alone, so neither side can import the other. ``tests/test_processing.py`` asserts the two copies are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

# Holistic order as MediaPipe's legacy ``solutions.holistic`` and pose-format write it.
HOLISTIC_COMPONENTS: dict[str, int] = {
    "POSE_LANDMARKS": 33,
    "FACE_LANDMARKS": 468,
    "LEFT_HAND_LANDMARKS": 21,
    "RIGHT_HAND_LANDMARKS": 21,
}
NUM_HOLISTIC_POINTS = sum(HOLISTIC_COMPONENTS.values())  # 543
# MediaPipe's shoulder points inside POSE_LANDMARKS (the signer's left and right).
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12

# The stored landmark sets of the dataset (``--landmarks``): body + both hands is what the paper uses.
LANDMARK_SETS: dict[str, tuple[str, ...]] = {
    "body_hands": ("POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"),
    "full": tuple(HOLISTIC_COMPONENTS),
}


def num_points(components: Sequence[str]) -> int:
    """Points of an array holding exactly ``components``."""
    return sum(HOLISTIC_COMPONENTS[name] for name in components)


def component_slices(components: Sequence[str]) -> dict[str, slice]:
    """Where each named component lies in an array holding exactly ``components``, in that order."""
    slices, start = {}, 0
    for name in components:
        slices[name] = slice(start, start + HOLISTIC_COMPONENTS[name])
        start += HOLISTIC_COMPONENTS[name]
    return slices
