"""The columns of a built pose dataset and its ``landmarks.json``: one schema for every builder.

The GSL builder (``gsl_poses``) and the manifest builder (``manifest``) write the same core columns, so training,
evaluation and interpretation (``dataset_builder.loading``) read any built dataset the same way; each builder adds
its own metadata columns (GSL: scenario, signer, repetition; a manifest: signer, source file, first frame).
"""

from __future__ import annotations

import datasets

from modeling_signattention.layouts import get_layout


def landmark_record(layout_name: str, landmark_set: str) -> dict:
    """What the ``pose`` column holds, by layout, component name and order (written as ``landmarks.json``)."""
    layout = get_layout(layout_name)
    components = layout.landmark_set(landmark_set)
    return {
        "layout": layout.name,
        "landmark_set": landmark_set,
        "components": components,
        "component_sizes": {name: layout.sizes[name] for name in components},
        "num_points": layout.num_points(components),
        "coordinates": list(layout.coordinates),
    }


def pose_features(
    layout_name: str, landmark_set: str, metadata: dict[str, datasets.Value]
) -> datasets.Features:
    """``id``, the builder's ``metadata`` columns, then the core: gloss, text, ``pose`` ``(frames, K, C)`` (K points
    of the landmark set, C coordinates of the layout; NaN = not detected), fps, num_frames, gloss_spans (clip
    frames ``[start, end)`` of each gloss; empty when unknown)."""
    record = landmark_record(layout_name, landmark_set)
    return datasets.Features(
        {
            "id": datasets.Value("string"),
            **metadata,
            "gloss": datasets.Value("string"),
            "text": datasets.Value("string"),
            "pose": datasets.Array3D(
                shape=(None, record["num_points"], len(record["coordinates"])), dtype="float32"
            ),
            "fps": datasets.Value("float32"),
            "num_frames": datasets.Value("int32"),
            "gloss_spans": datasets.List(datasets.List(datasets.Value("int32"), length=2)),
        }
    )
