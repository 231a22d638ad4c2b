"""Gloss tokenizer, pose feature extractor, and loading a saved model folder the way Hub users do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from pose_format import Pose
from pose_format.numpy.pose_body import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from tiny_model import BLOCK_PROJECT, save_tiny_model
from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForSeq2SeqLM, AutoTokenizer

from dataset_builder import EXAMPLE_POSE
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    build_gloss_tokenizer,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
SENTENCES = ["ΓΕΙΑ ΕΓΩ(1) ΜΠΟΡΩ ΒΟΗΘΩ", "ΝΑΙ ΠΡΙΝ ΕΓΩ(1) ΕΣΥ_ΣΥΖΗΤΑΩ_ΑΥΤΟΝ", "ΑΠΟΤΕΛΕΣΜΑ ΤΙΠΟΤΑ"]


def read_pose(path: Path) -> Pose:
    return Pose.read(path.read_bytes())


def test_tokenizer_keeps_glosses_whole_and_reloads(tmp_path):
    tokenizer = build_gloss_tokenizer(SENTENCES)
    encoded = tokenizer("ΕΓΩ(1) ΕΣΥ_ΣΥΖΗΤΑΩ_ΑΥΤΟΝ ΑΓΝΩΣΤΟ")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(encoded) == ["ΕΓΩ(1)", "ΕΣΥ_ΣΥΖΗΤΑΩ_ΑΥΤΟΝ", "<unk>", "</s>"]
    assert [
        tokenizer.pad_token_id,
        tokenizer.unk_token_id,
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
    ] == [
        0,
        1,
        2,
        3,
    ]
    assert tokenizer.convert_tokens_to_ids("ΓΕΙΑ") == 4  # first-seen order, as the official vocabulary
    assert len(tokenizer) == 4 + len(set(" ".join(SENTENCES).split()))
    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded.get_vocab() == tokenizer.get_vocab()
    assert reloaded.batch_decode([[2, *encoded[:2], 3, 0]], skip_special_tokens=True) == [
        "ΕΓΩ(1) ΕΣΥ_ΣΥΖΗΤΑΩ_ΑΥΤΟΝ"
    ]


def test_tokenizer_extension_keeps_old_ids():
    base = build_gloss_tokenizer(SENTENCES[:2])
    grown = build_gloss_tokenizer(SENTENCES, base_tokenizer=base)
    for token, index in base.get_vocab().items():
        assert grown.convert_tokens_to_ids(token) == index
    assert grown.convert_tokens_to_ids("ΤΙΠΟΤΑ") == len(base) + 1


def test_feature_extractor_reads_real_holistic_pose_file():
    pose = read_pose(EXAMPLE_POSE)  # 576 points: Holistic + world landmarks
    extractor = SignAttentionFeatureExtractor(
        sample_rate=1, max_frames=220, normalize=False, fill_missing=False
    )
    features = extractor(pose)
    pixels = pose.body.data.filled(np.nan)[:, 0]
    data = pixels / np.array(
        [320, 240, 1], dtype=np.float32
    )  # pose-format's pixel x/y -> MediaPipe's fractions
    expected = np.concatenate(
        [data[:, 0:33], data[:, 501:522], data[:, 522:543]], axis=1
    )  # body, left, right
    expected = np.nan_to_num(expected).reshape(len(expected), -1)
    assert features["input_features"].shape == (1, 97, 225)
    np.testing.assert_allclose(features["input_features"][0].numpy(), expected, rtol=1e-6, atol=0)
    # The same clip as a (frames, 576, 3) array of MediaPipe coordinates gives the same features.
    torch.testing.assert_close(extractor(data)["input_features"], features["input_features"])


def test_default_features_are_filled_and_shoulder_normalized():
    pose = read_pose(EXAMPLE_POSE)
    features = (
        SignAttentionFeatureExtractor(sample_rate=1)(pose)["input_features"][0].numpy().reshape(-1, 75, 3)
    )
    left, right = features[:, 11, :2], features[:, 12, :2]
    np.testing.assert_allclose(np.median((left + right) / 2, axis=0), [0, 0], atol=1e-5)
    assert np.median(np.linalg.norm(left - right, axis=1)) == pytest.approx(1.0, abs=1e-5)
    raw = pose.body.data.filled(np.nan)[:, 0]
    hands = np.concatenate([raw[:, 501:522], raw[:, 522:543]], axis=1)
    lost = np.isnan(hands).any(axis=(1, 2))
    assert lost.any() and not lost.all()  # the real clip loses a hand in some frames...
    assert np.abs(features[lost][:, 33:]).sum(axis=(1, 2)).min() > 0  # ...which are filled, not zeroed


def test_missing_landmarks_interpolate_over_time():
    extractor = SignAttentionFeatureExtractor(normalize=False)
    clip = np.zeros((6, 75, 3), dtype=np.float32)
    clip[:, 40, 0] = [np.nan, 0.0, np.nan, np.nan, 3.0, np.nan]  # a hand point lost at the edges and inside
    clip[:, 41] = np.nan  # never detected
    filled = extractor.interpolate_missing(clip)
    np.testing.assert_allclose(filled[:, 40, 0], [0.0, 0.0, 1.0, 2.0, 3.0, 3.0])
    assert np.isnan(filled[:, 41]).all()
    features = SignAttentionFeatureExtractor(normalize=False, sample_rate=1)(clip)["input_features"][0]
    assert features.reshape(6, 75, 3)[:, 41].abs().sum() == 0  # what is never seen becomes 0
    with pytest.raises(ValueError, match="must include POSE_LANDMARKS"):
        SignAttentionFeatureExtractor(landmark_components=["LEFT_HAND_LANDMARKS"])


def test_gap_filling_matches_numpy_interp_column_by_column():
    """Against ``np.interp`` (which also holds the nearest value beyond the first and last detection) on a clip with
    random gaps in some columns and a hand lost whole (its 63 columns in the same frames, as MediaPipe loses a hand,
    filled as one group); the columns without a gap come back untouched."""
    rng = np.random.default_rng(3)
    clip = rng.normal(size=(40, 75, 3)).astype(np.float32)
    flat = clip.reshape(40, -1)
    for column in rng.choice(flat.shape[1], 60, replace=False):
        flat[rng.random(40) < 0.4, column] = np.nan
    lost = rng.random(40) < 0.3
    lost[[0, 17, 39]] = [True, False, True]  # lost at both ends, seen somewhere
    flat[lost, 33 * 3 : 54 * 3] = np.nan  # the left hand
    gappy = np.flatnonzero(np.isnan(flat).any(axis=0))
    for column in gappy:
        if np.isnan(flat[:, column]).all():
            flat[rng.integers(40), column] = rng.normal()  # at least one detection per column
    expected = flat.copy()
    time = np.arange(40)
    for column in gappy:
        seen = ~np.isnan(flat[:, column])
        expected[:, column] = np.interp(time, time[seen], flat[seen, column])
    filled = SignAttentionFeatureExtractor(normalize=False).interpolate_missing(clip)
    np.testing.assert_allclose(filled.reshape(40, -1), expected, rtol=1e-6, atol=1e-6)
    untouched = np.setdiff1d(np.arange(flat.shape[1]), gappy)
    assert np.array_equal(filled.reshape(40, -1)[:, untouched], flat[:, untouched])


def test_feature_extractor_rejects_other_layouts_by_name():
    extractor = SignAttentionFeatureExtractor()
    with pytest.raises(
        ValueError,
        match=r"in pose layout 'holistic_reduced' \(POSE_LANDMARKS 8.*not the expected layout 'holistic' \(",
    ):
        extractor(read_pose(FIXTURES / "holistic_reduced.pose"))
    header = PoseHeader(
        version=0.1,
        dimensions=PoseHeaderDimensions(width=640, height=480, depth=0),
        components=[PoseHeaderComponent("pose_keypoints_2d", [str(i) for i in range(25)], [], [], "XYC")],
    )
    body = NumPyPoseBody(fps=25, data=np.zeros((5, 1, 25, 2)), confidence=np.ones((5, 1, 25)))
    with pytest.raises(
        ValueError, match=r"layout unknown \(pose_keypoints_2d 25\).*POSE_LANDMARKS is missing"
    ):
        extractor(Pose(header, body))
    with pytest.raises(ValueError, match="100 points matches no known layout"):
        extractor(np.zeros((10, 100, 3)))
    with pytest.raises(ValueError, match="has 2 coordinates, the model needs 3"):
        extractor(np.zeros((10, 75, 2)))
    with pytest.raises(ValueError, match="0 frames"):
        extractor(np.zeros((0, 543, 3)))


def test_feature_extractor_sampling_padding_and_nan():
    extractor = SignAttentionFeatureExtractor(
        sample_rate=3, max_frames=20, num_coordinates=2, normalize=False, fill_missing=False
    )
    clip = (np.arange(70 * 75 * 3, dtype=np.float32) / (70 * 75 * 3)).reshape(70, 75, 3)  # image fractions
    clip[4, 10] = np.nan
    evaluation = extractor([clip, clip[:7]])
    assert evaluation["input_features"].shape == (2, 20, 150)  # 70 frames / 3 -> 24, truncated to 20
    assert evaluation["attention_mask"].sum(1).tolist() == [20, 3]
    np.testing.assert_array_equal(evaluation["input_features"][0, 1].numpy(), clip[3, :, :2].reshape(-1))
    assert evaluation["input_features"][1, 3:].abs().sum() == 0  # padding
    missing = extractor(clip[4:5])["input_features"][0, 0].reshape(75, 2)
    assert not torch.isnan(missing).any() and missing[10].abs().sum() == 0  # not detected -> 0
    chosen = extractor.sample_frames(70, training=True, rng=np.random.default_rng(0))
    assert len(chosen) == 20 and all(3 * i <= f < 3 * i + 3 for i, f in enumerate(chosen))
    assert not np.array_equal(chosen, extractor.sample_frames(70, training=False))
    assert np.array_equal(
        extractor(clip, training=True, seed=5)["input_features"],
        extractor(clip, training=True, seed=5)["input_features"],
    )
    padded = extractor(clip[:7], padding="max_length")
    assert padded["input_features"].shape == (1, 20, 150)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved")
    save_tiny_model(folder)
    return folder


def test_saved_folder_is_hub_ready(saved_model):
    files = set(os.listdir(saved_model))
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"} <= files
    assert {
        "configuration_signattention.py",
        "modeling_signattention.py",
        "feature_extraction_signattention.py",
    } <= files
    config = json.loads((saved_model / "config.json").read_text())
    assert config["auto_map"]["AutoModelForSeq2SeqLM"].endswith("SignAttentionForConditionalGeneration")
    preprocessor = json.loads((saved_model / "preprocessor_config.json").read_text())
    assert preprocessor["auto_map"]["AutoFeatureExtractor"].endswith("SignAttentionFeatureExtractor")
    assert json.loads((saved_model / "generation_config.json").read_text())["decoder_start_token_id"] == 2
    # Installed package: the Auto classes resolve without trust_remote_code.
    assert type(AutoConfig.from_pretrained(saved_model)) is SignAttentionConfig
    assert type(AutoModelForSeq2SeqLM.from_pretrained(saved_model)) is SignAttentionForConditionalGeneration
    assert type(AutoFeatureExtractor.from_pretrained(saved_model)) is SignAttentionFeatureExtractor


HUB_USER_SCRIPT = (
    BLOCK_PROJECT
    + """
import json
from pose_format import Pose
from transformers import AutoConfig, AutoFeatureExtractor, AutoModelForSeq2SeqLM, AutoTokenizer
folder, pose_path = sys.argv[1], sys.argv[2]
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
extractor = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)
inputs = extractor(Pose.read(open(pose_path, "rb").read()))
out = model.generate(**inputs, output_attentions=True, return_dict_in_generate=True)
print(json.dumps({
    "config_class": type(config).__module__,
    "sequences": out.sequences.tolist(),
    "text": tokenizer.batch_decode(out.sequences, skip_special_tokens=True),
    "cross_sum": float(out.cross_attentions[0][0].sum()),
}))
"""
)


def test_folder_loads_in_fresh_process_without_the_project(saved_model, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(saved_model, copy)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": "",
    }
    result = subprocess.run(
        [sys.executable, "-c", HUB_USER_SCRIPT, str(copy), str(EXAMPLE_POSE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    remote = json.loads(result.stdout.strip().splitlines()[-1])
    assert remote["config_class"].startswith(
        "transformers_modules."
    )  # really the copied code, not the package

    model = SignAttentionForConditionalGeneration.from_pretrained(saved_model).eval()
    tokenizer = AutoTokenizer.from_pretrained(saved_model)
    inputs = SignAttentionFeatureExtractor.from_pretrained(saved_model)(read_pose(EXAMPLE_POSE))
    local = model.generate(**inputs)
    assert remote["sequences"] == local.tolist()
    assert remote["text"] == tokenizer.batch_decode(local, skip_special_tokens=True)
    assert remote["text"][0]  # glosses, not an empty string
    assert remote["cross_sum"] == pytest.approx(8.0, abs=1e-4)  # 8 heads, each row sums to 1


def test_holistic_layout_matches_pose_format_and_mediapipe(extract_extra):
    """The Holistic names against pose-format's Holistic header (built from MediaPipe, the 'extract' extra) and
    MediaPipe's shoulder indices."""
    import mediapipe as mp
    from pose_format.utils.holistic import holistic_components

    from modeling_signattention.layouts import LAYOUTS

    holistic = LAYOUTS["holistic"]
    reference = {c.name: tuple(c.points) for c in holistic_components("XYZC")}
    assert holistic.components == {name: reference[name] for name in holistic.components}
    assert list(holistic.components) == list(reference)[:4]  # the order too; world landmarks come after
    assert holistic.num_points() == 543 and holistic.extra_points == len(reference["POSE_WORLD_LANDMARKS"])
    shoulders = mp.solutions.pose.PoseLandmark
    assert holistic.shoulder_indices() == (shoulders.LEFT_SHOULDER, shoulders.RIGHT_SHOULDER)


def test_reduced_and_openpose_layouts_match_a_real_file_and_openpose():
    """The reduced layout is the points of a real reduced-Holistic file; BODY_25 has RShoulder 2, LShoulder 5."""
    from modeling_signattention.layouts import LAYOUTS

    reduced = read_pose(FIXTURES / "holistic_reduced.pose").header.components
    assert LAYOUTS["holistic_reduced"].components == {c.name: tuple(c.points) for c in reduced}
    openpose = LAYOUTS["openpose_body25"]
    assert openpose.sizes == {
        "pose_keypoints_2d": 25,
        "face_keypoints_2d": 70,
        "hand_left_keypoints_2d": 21,
        "hand_right_keypoints_2d": 21,
    }
    assert openpose.shoulder_indices() == (5, 2) and openpose.coordinates == ("x", "y")
    assert [layout.num_points(layout.body_and_hands) for layout in LAYOUTS.values()] == [75, 50, 67]
    with pytest.raises(ValueError, match="must include POSE_LANDMARKS"):
        SignAttentionFeatureExtractor(landmark_components=["LEFT_HAND_LANDMARKS"])
