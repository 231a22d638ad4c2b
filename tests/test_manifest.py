"""The manifest builder (``dataset_builder.manifest``) on real pose files, and pose layouts end to end.

Poses are real files written and read through pose-format: the repository's Holistic and reduced-Holistic
fixtures, and OpenPose JSON frames written here with known pixel values. Expected arrays are computed from the raw
pose-format arrays by index, independently of the builder's picking by name.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pytest
from pose_format import Pose
from pose_format.utils.openpose import load_openpose_directory

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO
from dataset_builder.loading import dataset_metadata, load_pose_splits, read_landmarks
from dataset_builder.manifest import ManifestOptions, build_manifest_dataset
from modeling_signattention import (
    TASK,
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
    build_gloss_tokenizer,
)

FIXTURES = Path(__file__).parent / "fixtures"
HOLISTIC_FILE, REDUCED_FILE = EXAMPLE_POSE, FIXTURES / "holistic_reduced.pose"
ROOT = Path(__file__).resolve().parents[1]
OPENPOSE_SIZE = (640, 480)


def read(path: Path) -> Pose:
    return Pose.read(path.read_bytes())


def holistic_body_hands(pose: Pose) -> np.ndarray:
    """Reference: body (points 0-32), left hand (33+468 ...), right hand of the raw array, x / width, y / height,
    NaN where pose-format masks a point."""
    raw = pose.body.data[:, 0]
    values = np.ma.getdata(raw).astype(np.float64) / [
        pose.header.dimensions.width,
        pose.header.dimensions.height,
        1,
    ]
    values[np.ma.getmaskarray(raw).any(-1) | (pose.body.confidence[:, 0] == 0)] = np.nan
    return np.concatenate([values[:, :33], values[:, 501:543]], axis=1).astype(np.float32)


def write_manifest(path: Path, header: list[str], rows: list[list[str]], delimiter: str) -> Path:
    path.write_text("\n".join(delimiter.join(cells) for cells in [header, *rows]) + "\n", encoding="utf-8")
    return path


def test_manifest_options_spans_and_bad_rows(tmp_path: Path) -> None:
    """Custom headers, a tab-separated file, spans in milliseconds, dev -> validation; every bad row skipped and
    reported with its line and reason, also from parallel jobs; the poses are the file's frames, picked by name."""
    shutil.copy(HOLISTIC_FILE, tmp_path / "rec.pose")  # 97 frames at 25 fps
    shutil.copy(REDUCED_FILE, tmp_path / "reduced.pose")
    manifest = write_manifest(
        tmp_path / "clips.tsv",
        ["name", "file", "part", "glosses", "from", "to", "who"],
        [
            ["a", "rec.pose", "train", "HELLO YOU", "0", "1000", "ann"],  # frames [0, 25)
            ["b", "rec.pose", "train", "THANK-YOU", "1000", "2400", "ann"],  # frames [25, 60)
            ["c", "rec.pose", "dev", "HELLO", "", "", "bob"],  # the whole file
            ["d", "rec.pose", "test", "YOU", "2000", "3880", "bob"],  # frames [50, 97)
            ["e", "missing.pose", "test", "YOU", "", "", "bob"],
            ["f", "reduced.pose", "test", "YOU", "", "", "bob"],  # another layout
            ["g", "rec.pose", "test", "YOU", "3000", "9000", "bob"],  # beyond the file's 97 frames
            ["h", "rec.pose", "holdout", "YOU", "", "", "bob"],  # unknown split
            ["a", "rec.pose", "test", "YOU", "", "", "bob"],  # repeated id
            ["i", "rec.pose", "test", "", "", "", "bob"],  # no target
            ["j", "rec.pose", "test", "YOU", "900", "100", "bob"],  # end before start
            ["k", "rec.pose", "test"],  # too few cells
        ],
        "\t",
    )
    options = ManifestOptions(
        manifest=str(manifest),
        columns={
            "id": "name",
            "pose": "file",
            "split": "part",
            "gloss": "glosses",
            "clip_start": "from",
            "clip_end": "to",
            "signer": "who",
        },
        time_unit="ms",
        split_names={"dev": "validation"},
        on_bad_row="skip",
    )
    # two processes per split: each lists its own bad rows, the build merges them in manifest order
    output = build_manifest_dataset(options, tmp_path / "dataset", cache_dir=tmp_path / "cache", num_proc=2)

    report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    reasons = {row["line"]: row["reason"] for row in report["bad_rows"]}
    assert sorted(reasons) == list(range(6, 14))
    assert "no pose file" in reasons[6] and "missing.pose" in reasons[6]
    assert "pose layout 'holistic_reduced'" in reasons[7] and "expected layout 'holistic'" in reasons[7]
    assert "frames [75, 225) is outside" in reasons[8] and "97 frames at 25 fps" in reasons[8]
    assert "split 'holdout'" in reasons[9] and "--split-name holdout=" in reasons[9]
    assert reasons[10] == "id 'a' repeats line 2"
    assert reasons[11] == "no target: gloss and text are both empty"
    assert reasons[12] == "clip_end 100.0 is not after clip_start 900.0"
    assert reasons[13] == "3 cells, the header has 7"
    assert report["splits"] == {"train": 2, "validation": 1, "test": 1}

    reference = holistic_body_hands(read(HOLISTIC_FILE))
    splits = load_pose_splits(output)
    expected = {"a": reference[0:25], "b": reference[25:60], "c": reference, "d": reference[50:97]}
    for split in splits.values():
        for clip_id, pose in zip(split.ids, split.poses, strict=True):
            np.testing.assert_allclose(pose, expected[clip_id], rtol=1e-6)
    assert splits["train"].glosses == ["HELLO YOU", "THANK-YOU"]
    table = datasets.load_dataset(str(output), split="test")
    assert table[0]["start_frame"] == 50 and table[0]["signer"] == "bob" and table[0]["source"] == "rec.pose"
    assert read_landmarks(output)["layout"] == "holistic"
    assert dataset_metadata(output)["layout"] == "holistic"


def test_bad_row_stops_the_build_naming_the_line_and_publishes_nothing(tmp_path: Path) -> None:
    """The command line, in a real process: the default policy stops at the first bad row."""
    shutil.copy(HOLISTIC_FILE, tmp_path / "rec.pose")
    manifest = write_manifest(
        tmp_path / "clips.csv",
        ["pose", "split", "gloss", "clip_start", "clip_end"],
        [
            ["rec.pose", "train", "A", "0", "1000"],
            ["rec.pose", "validation", "A", "1000", "2000"],
            ["gone.pose", "test", "A", "", ""],
        ],
        "|",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "dataset_builder.build",
        "--manifest",
        str(manifest),
        "--delimiter",
        "pipe",
    ]
    command += ["--output-dir", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 1, completed.stderr[-2000:]
    assert f"error: {manifest}, line 4: no pose file {tmp_path / 'gone.pose'}" in completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache", "clips.csv", "rec.pose"]

    with pytest.raises(
        ValueError,
        match=r"no column 'split \(nor a split in the file name\)', 'id or pose', 'gloss or text' \(delimiter ','; columns found: \['pose\|split\|gloss\|clip_start\|clip_end'\]",
    ):
        build_manifest_dataset(ManifestOptions(manifest=str(manifest)), tmp_path / "out")
    skipping = ManifestOptions(manifest=str(manifest), delimiter="|", on_bad_row="skip")
    with pytest.raises(
        ValueError, match=r"no clip left in split test, all its rows are bad \(line 4: no pose file"
    ):
        build_manifest_dataset(skipping, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "out").exists()


def write_openpose_frames(folder: Path, frames: int, rng: np.random.Generator) -> np.ndarray:
    """OpenPose ``*_keypoints.json`` frames with random pixel positions, shoulders level (LShoulder 5 at x + 100
    of RShoulder 2), the right hand lost in frame 1; returns the ``(frames, 137, 3)`` x, y, confidence written."""
    folder.mkdir()
    points = {
        "pose_keypoints_2d": 25,
        "face_keypoints_2d": 70,
        "hand_left_keypoints_2d": 21,
        "hand_right_keypoints_2d": 21,
    }
    written = np.zeros((frames, 137, 3))
    for frame in range(frames):
        person, start = {}, 0
        for name, count in points.items():
            values = np.column_stack(
                [rng.uniform(50, 600, count), rng.uniform(50, 450, count), np.full(count, 0.8)]
            )
            if name == "pose_keypoints_2d":
                values[2, :2], values[5, :2] = (200.0, 150.0), (300.0, 150.0)
            if name == "hand_right_keypoints_2d" and frame == 1:
                values[:] = 0.0
            person[name] = values.ravel().tolist()
            written[frame, start : start + count] = values
            start += count
        (folder / f"clip_{frame:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [person]})
        )
    return written


def test_openpose_and_reduced_layouts_from_manifest_to_model(tmp_path: Path) -> None:
    """OpenPose JSON folders and their .pose files (BODY_25 + hands, x/y) and reduced Holistic (from a reduced file
    and from a full Holistic one, by point name) build; an OpenPose model reads the rows, normalized on its
    shoulders, and refuses a Holistic pose naming both layouts."""
    rng = np.random.default_rng(0)
    written = write_openpose_frames(tmp_path / "op1", 4, rng)
    write_openpose_frames(tmp_path / "op2", 3, rng)
    with open(tmp_path / "op2.pose", "wb") as file:
        load_openpose_directory(str(tmp_path / "op2"), fps=30, width=640, height=480).write(file)
    rows = [["1", "op1", "train", "A B"], ["2", "op2.pose", "validation", "B"], ["3", "op1", "test", "A"]]
    manifest = write_manifest(tmp_path / "openpose.csv", ["id", "pose", "split", "gloss"], rows, ",")
    options = ManifestOptions(manifest=str(manifest), layout="openpose_body25", fps=30, width=640, height=480)
    output = build_manifest_dataset(options, tmp_path / "openpose", cache_dir=tmp_path / "cache")
    assert read_landmarks(output)["coordinates"] == ["x", "y"] and read_landmarks(output)["num_points"] == 67
    pose = load_pose_splits(output)["train"].poses[0]
    body_hands = np.concatenate([written[:, :25], written[:, 95:137]], axis=1)
    expected = body_hands[..., :2] / OPENPOSE_SIZE
    expected[body_hands[..., 2] == 0] = np.nan
    np.testing.assert_allclose(pose, expected, rtol=1e-6)
    assert np.isnan(pose[1, 46:]).all() and not np.isnan(pose[0]).any()  # the lost right hand

    extractor = SignAttentionFeatureExtractor(layout="openpose_body25", sample_rate=1, fill_missing=False)
    features = extractor(pose)["input_features"][0].numpy().reshape(4, 67, 2)
    np.testing.assert_allclose(features[:, 5], np.tile([0.5, 0.0], (4, 1)), atol=1e-6)  # LShoulder
    np.testing.assert_allclose(features[:, 2], np.tile([-0.5, 0.0], (4, 1)), atol=1e-6)  # RShoulder

    tokenizer = build_gloss_tokenizer(["A B"])
    config = SignAttentionConfig(
        layout="openpose_body25", vocab_size=len(tokenizer), ffn_dim=32, embedder_width=16
    )
    assert config.num_coordinates == 2 and config.num_features == 67 * 2
    model = SignAttentionForConditionalGeneration(config).eval()
    # set on the model: generation options given to a pipeline when it is made warn on transformers < 5.20 (its
    # own code then passes a generation config together with them)
    model.generation_config.max_length = 3
    translate = SignLanguageTranslationPipeline(
        model=model,
        tokenizer=tokenizer,
        feature_extractor=SignAttentionFeatureExtractor(layout="openpose_body25"),
        task=TASK,
    )
    assert translate(str(tmp_path / "op2.pose"))["num_frames"] == 3
    with pytest.raises(
        ValueError, match=r"pose layout 'holistic' \(.*\), not the expected layout 'openpose_body25'"
    ):
        translate(str(HOLISTIC_FILE))
    with pytest.raises(
        ValueError, match=r"signer_test_video.mp4 \(MediaPipe.*not the expected layout 'openpose"
    ):
        translate(str(EXAMPLE_VIDEO))  # refused before MediaPipe runs

    shutil.copy(REDUCED_FILE, tmp_path / "reduced.pose")
    shutil.copy(HOLISTIC_FILE, tmp_path / "full.pose")
    rows = [
        ["1", "reduced.pose", "train", "A"],
        ["2", "full.pose", "validation", "A"],
        ["3", "full.pose", "test", "A"],
    ]
    manifest = write_manifest(tmp_path / "reduced.csv", ["id", "pose", "split", "text"], rows, ",")
    options = ManifestOptions(manifest=str(manifest), layout="holistic_reduced")
    output = build_manifest_dataset(options, tmp_path / "reduced", cache_dir=tmp_path / "cache")
    splits = load_pose_splits(output)
    assert splits["train"].poses[0].shape == (170, 50, 3) and splits["train"].texts == ["A"]
    full = holistic_body_hands(read(HOLISTIC_FILE))
    # reduced POSE_LANDMARKS: LEFT/RIGHT_SHOULDER, ELBOW, WRIST, HIP = MediaPipe points 11-16, 23, 24
    np.testing.assert_allclose(
        splits["test"].poses[0][:, :8], full[:, [11, 12, 13, 14, 15, 16, 23, 24]], rtol=1e-6
    )
    np.testing.assert_allclose(splits["test"].poses[0][:, 8:], full[:, 33:], rtol=1e-6)


def test_reproduce_quick_on_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``reproduce --quick --manifest``: data -> training -> WER -> interpretability -> report on your own clips
    (12-frame spans of the real Holistic file, four copies of it under other names, in a poses folder)."""
    from hub_scripts import reproduce

    poses = tmp_path / "poses"
    poses.mkdir()
    glosses = ["HELLO", "YOU", "HELLO YOU", "THANK-YOU", "YOU THANK-YOU", "HELLO", "YOU", "THANK-YOU"]
    rows = []
    for copy, split in enumerate(["train", "train", "train", "dev"]):
        shutil.copy(HOLISTIC_FILE, poses / f"rec{copy}.pose")
        for span, gloss in enumerate(glosses):
            part = split if split == "train" else ("dev", "test")[span % 2]
            rows.append([f"rec{copy}.pose", part, gloss, str(12 * span), str(12 * span + 12)])
    manifest = write_manifest(
        tmp_path / "clips.csv", ["pose", "split", "gloss", "clip_start", "clip_end"], rows, ","
    )
    output = tmp_path / "run"
    argv = ["--quick", "--manifest", str(manifest), "--poses-dir", str(poses), "--time-unit", "frames"]
    argv += ["--split-name", "dev=validation", "--methods", "attention", "--output-dir", str(output)]
    assert reproduce.main(argv) == 0
    printed = capsys.readouterr().out
    assert all(f"[reproduce {number}/5]" in printed for number in range(1, 6))
    index = json.loads((output / "settings.json").read_text(encoding="utf-8"))
    assert list(index["settings"]) == ["manifest"] and index["paper_setting"] is None
    results = json.loads((output / "manifest" / "eval_results.json").read_text(encoding="utf-8"))
    assert results["data_source"] == "manifest" and results["num_sentences"] == 4
    assert json.loads((output / "manifest" / "model" / "config.json").read_text())["layout"] == "holistic"
    assert load_pose_splits(output / "manifest" / "dataset")["train"].poses[0].shape == (12, 75, 3)
    assert (output / "report.html").is_file() and (output / "interpretability.json").is_file()
