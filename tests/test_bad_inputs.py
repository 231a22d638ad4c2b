"""One pose, one answer; bad input refused by name; nothing cut in silence (issue 11).

Read top to bottom: the same clip through every entry point gives identical ``input_features``; then the
bad-input matrix of the feature extractor and of ``model.generate`` (each row: input, the error it must raise);
then long clips. Extraction (Ctrl-C, orphaned workers, truncated videos) is in ``test_extract.py``; pose files
the builder cannot match are in ``test_gsl_builder.py``.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from types import ModuleType

import datasets
import numpy as np
import pytest
import torch
from pose_format import Pose
from test_space import app, model_dir  # noqa: F401  (fixtures: the Space app module with a tiny model)
from transformers import pipeline

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.build import build_dataset
from dataset_builder.extract import extract_clip, load_pose_file, save_extracted
from dataset_builder.gsl import load_split
from dataset_builder.loading import PoseSplit
from hub_scripts.evaluate import evaluate_split
from modeling_signattention import (
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
)
from modeling_signattention.layouts import HOLISTIC, pose_format_to_fractions
from modeling_signattention.loading import load_pretrained

FIXTURES = Path(__file__).parent / "fixtures"
HOLISTIC_POSE = FIXTURES / "holistic_example.pose"  # pose-format's own Holistic file, 320x240, 97 frames
VIDEO = EXAMPLE_VIDEO  # 58 frames, 540x720
TASK = "sign-language-translation"


@pytest.fixture(scope="module")
def pose_files(tmp_path_factory) -> dict[str, Path]:
    """The two kinds of .pose a user has: pose-format's fixture, and one ``dataset_builder.extract`` wrote."""
    folder = tmp_path_factory.mktemp("poses")
    extracted = folder / "extracted.pose"
    save_extracted(extract_clip(VIDEO), extracted)
    return {"holistic_example": HOLISTIC_POSE, "extracted": extracted}


@pytest.fixture(scope="module")
def builder_rows(pose_files, tmp_path_factory) -> dict[str, np.ndarray]:
    """Each .pose as the first clip of a split of a dataset built from a poses folder (75 body+hands points)."""
    root = tmp_path_factory.mktemp("build")
    as_split = {"train": "holistic_example", "validation": "extracted", "test": "holistic_example"}
    for split, name in as_split.items():
        target = root / "poses" / f"{load_split('si', split)[0].id}.pose"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(pose_files[name], target)
    output = build_dataset(
        "si", "poses", root / "out", poses_dir=root / "poses", limit=1, cache_dir=root / "cache"
    )
    dataset = datasets.load_dataset(str(output), cache_dir=str(root / "load")).with_format("numpy")
    return {name: dataset[split][0]["pose"] for split, name in as_split.items()}


# -- one pose, one answer --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("clip", ["holistic_example", "extracted"])
def test_one_pose_gives_identical_features_through_every_entry_point(
    clip,
    pose_files,
    builder_rows,
    app: ModuleType,  # noqa: F811
    model_dir,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    path = pose_files[clip]
    extractor = app.load_model().feature_extractor  # the Space's, loaded from a saved model folder
    landmarks = load_pose_file(path).landmarks  # MediaPipe's normalized coordinates, (T, 543, 3)
    npy = tmp_path / "clip.npy"
    save_extracted(load_pose_file(path), npy)
    body_hands = HOLISTIC.body_and_hands

    reference = extractor(Pose.read(path.read_bytes()))["input_features"]
    entry_points = {
        ".pose path": extractor(str(path)),
        ".pose Path in a list": extractor([path]),
        "numpy array": extractor(landmarks),
        "torch tensor": extractor(torch.from_numpy(landmarks)),
        "nested list": extractor(landmarks.tolist()),
        ".npy path": extractor(npy),
        "builder row": extractor(builder_rows[clip], input_components=body_hands),
    }
    seen = []  # the calls the Space and the pipeline make, spied on while they translate the file
    original_call = type(extractor).__call__
    monkeypatch.setattr(
        type(extractor),
        "__call__",
        lambda self, *a, **k: seen.append(original_call(self, *a, **k)) or seen[-1],
    )
    outputs = app.translate(str(path))
    assert outputs[0]["visible"] is False, outputs[0]
    entry_points["Space"] = seen[-1]
    translate = pipeline(TASK, model=str(model_dir), pipeline_class=SignLanguageTranslationPipeline)
    assert translate(str(path))["glosses"]
    entry_points["pipeline"] = seen[-1]

    assert reference.shape[1] == -(-len(landmarks) // extractor.sample_rate)
    for name, features in entry_points.items():
        assert torch.equal(features["input_features"], reference), name
    # The conversion matters: pixel coordinates read as image fractions are another clip altogether.
    raw = Pose.read(path.read_bytes())
    raw.header.dimensions.width = raw.header.dimensions.height = 1
    assert (extractor(raw)["input_features"] - reference).abs().max() > 0.1


def test_pose_format_coordinates_become_image_fractions():
    """x / width, y / height, z as is; a masked point or one of confidence 0 -> NaN."""
    known = np.ma.masked_array([[[320.0, 120.0, -0.5], [1.0, 2.0, 3.0]]], mask=[[[0, 0, 0], [0, 1, 0]]])
    converted = pose_format_to_fractions(known, np.ones((1, 2)), 640, 480)
    np.testing.assert_array_equal(converted, [[[0.5, 0.25, -0.5], [np.nan] * 3]])
    converted = pose_format_to_fractions(known.data, np.array([[0.0, 1.0]]), 640, 480)
    np.testing.assert_allclose(converted, [[[np.nan] * 3, [1 / 640, 2 / 480, 3.0]]], rtol=1e-7)  # float32


# -- the bad-input matrix: feature extractor ---------------------------------------------------------------------
def real_clip() -> np.ndarray:
    return load_pose_file(HOLISTIC_POSE).landmarks


def with_points(clip: np.ndarray, points: list[int], value: float) -> np.ndarray:
    clip = clip.copy()
    clip[:, points] = value
    return clip


BAD_POSES = [  # id, input, the error it must raise
    ("all NaN: nobody in the clip", lambda: np.full((30, 543, 3), np.nan), r"the pose: no person found"),
    ("all inf", lambda: np.full((30, 75, 3), np.inf), r"the pose: no person found: no landmark"),
    (
        "left shoulder inf in every frame",
        lambda: with_points(real_clip(), [11], np.inf),
        r"no person found: the left shoulder \(POSE_LANDMARKS 11\) is missing \(NaN or inf\) in every frame",
    ),
    ("both shoulders -inf", lambda: with_points(real_clip(), [11, 12], -np.inf), r"left and right shoulder"),
    (
        "torch tensor without coordinates",
        lambda: torch.zeros(176, 225),
        r"must be \(frames, points, coords\), got shape \(176, 225\)",
    ),
    (
        "nested list without coordinates",
        lambda: np.zeros((176, 225)).tolist(),
        r"got shape \(176, 225\)",
    ),
    (
        "list mixing shapes",
        lambda: [real_clip(), real_clip()[:, :75, 0]],
        r"^poses\[1\]: A pose array must be \(frames, points, coords\), got shape \(97, 75\)",
    ),
    (
        "ragged nested list",
        lambda: [[[0.0, 0.0, 0.0]] * 75, [[0.0, 0.0, 0.0]] * 74],
        r"the pose: cannot be read as a \(frames, points, coords\) array",
    ),
    ("missing .pose file", lambda: "nowhere/clip.pose", r"nowhere/clip.pose: no such pose file"),
    ("0 frames", lambda: np.zeros((0, 543, 3)), r"the pose: 0 frames"),
]


@pytest.mark.parametrize("make, error", [row[1:] for row in BAD_POSES], ids=[row[0] for row in BAD_POSES])
def test_feature_extractor_refuses_bad_poses_by_name(make, error):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarnings are no answer
        with pytest.raises(ValueError, match=error):
            SignAttentionFeatureExtractor()(make())


def test_broken_pose_file_is_named(tmp_path):
    broken = tmp_path / "broken.pose"
    broken.write_bytes(HOLISTIC_POSE.read_bytes()[:5000])
    with pytest.raises(ValueError, match=rf"{broken}: not a readable .pose file"):
        SignAttentionFeatureExtractor()([HOLISTIC_POSE, broken])


def test_space_says_no_person_found_instead_of_translating(app: ModuleType, tmp_path):  # noqa: F811
    clip = load_pose_file(HOLISTIC_POSE)
    clip.landmarks[:, 11] = np.inf  # a body, but a left shoulder that is never finite
    save_extracted(clip, tmp_path / "broken_shoulder.npy")
    error, glosses = app.translate(str(tmp_path / "broken_shoulder.npy"))[:2]
    assert error["visible"] is True and glosses == ""
    assert "broken_shoulder.npy: no person found: the left shoulder" in error["value"]


# -- the bad-input matrix: model.generate ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model(model_dir) -> SignAttentionForConditionalGeneration:  # noqa: F811
    return SignAttentionForConditionalGeneration.from_pretrained(model_dir).eval()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_generate_refuses_non_finite_features(model, bad):
    inputs = SignAttentionFeatureExtractor()(real_clip())
    inputs["input_features"][0, 3, 7] = bad
    with pytest.raises(ValueError, match="input_features contains NaN or inf"):
        model.generate(**inputs)


def test_generate_accepts_float64_features(model):
    inputs = SignAttentionFeatureExtractor()(real_clip())
    as_float64 = {**inputs, "input_features": inputs["input_features"].double()}
    assert torch.equal(model.generate(**as_float64), model.generate(**inputs))


# -- long clips: said, not cut in silence ----------------------------------------------------------------------------
def test_long_clip_is_cut_with_a_warning_naming_it(tmp_path):
    extractor = SignAttentionFeatureExtractor()
    reads = extractor.max_frames * extractor.sample_rate  # 660 frames = 22 s at 30 fps
    long_clip = np.concatenate([real_clip()] * 8)[: reads + 40]
    with pytest.warns(
        UserWarning, match=rf"poses\[1\]: {reads + 40} frames, .* the last 40 \(6% of the clip\) are cut"
    ):
        features = extractor([real_clip(), long_clip])
    assert features["attention_mask"].sum(1).tolist() == [33, extractor.max_frames]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extractor(long_clip[:reads])  # what the model reads in full: no warning


def test_evaluation_counts_the_clips_it_cut(model_dir):  # noqa: F811
    model, extractor, tokenizer = load_pretrained(model_dir)
    long_clip = np.concatenate([real_clip()] * 8)  # 776 frames: the model reads the first 660
    split = PoseSplit(["short", "long"], [real_clip(), long_clip], ["ΓΕΙΑ", "ΓΕΙΑ"], ["", ""], [None, None])
    with pytest.warns(UserWarning, match="776 frames"):
        scores, _ = evaluate_split(model, extractor, tokenizer, split, "gloss")
    assert scores["num_clips_cut_to_max_frames"] == 1
