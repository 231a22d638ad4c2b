"""MediaPipe Holistic landmark layout: which points a pose array holds, by name and in order.

Everything in ``dataset_builder`` speaks this layout. The model package keeps its own copy of the same
four numbers (``modeling_signattention.configuration_signattention.HOLISTIC_COMPONENTS``) because a Hub
custom-code folder must be self-contained and the model may never import the builder.
"""

from __future__ import annotations

# Holistic order as MediaPipe's legacy ``solutions.holistic`` and pose-format write it.
HOLISTIC_COMPONENTS: dict[str, int] = {
    "POSE_LANDMARKS": 33,
    "FACE_LANDMARKS": 468,
    "LEFT_HAND_LANDMARKS": 21,
    "RIGHT_HAND_LANDMARKS": 21,
}
NUM_HOLISTIC_POINTS = sum(HOLISTIC_COMPONENTS.values())  # 543

# The stored landmark sets of the dataset (``--landmarks``): body + both hands is what the paper uses.
LANDMARK_SETS: dict[str, tuple[str, ...]] = {
    "body_hands": ("POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"),
    "full": tuple(HOLISTIC_COMPONENTS),
}


def component_slices(components: tuple[str, ...] | list[str]) -> dict[str, slice]:
    """Where each named component lies in an array holding exactly ``components``, in that order."""
    slices, start = {}, 0
    for name in components:
        slices[name] = slice(start, start + HOLISTIC_COMPONENTS[name])
        start += HOLISTIC_COMPONENTS[name]
    return slices


def num_points(components: tuple[str, ...] | list[str]) -> int:
    return sum(HOLISTIC_COMPONENTS[name] for name in components)
