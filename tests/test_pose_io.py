"""Reading and writing `.pose` / `.npy` pose files: pose-format interop, layouts we accept and reject.

No MediaPipe inference here: the data is the real Holistic fixture or synthetic arrays, so this file runs in
about a second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from environment import unless_extra
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from pose_format.utils.generic import detect_known_pose_format

from dataset_builder import EXAMPLE_POSE
from dataset_builder.extract import ExtractedPose, load_pose_file, save_extracted
from modeling_signattention.layouts import HOLISTIC

FIXTURES = Path(__file__).parent / "fixtures"
HOLISTIC_EXAMPLE = EXAMPLE_POSE  # 97 frames, 320x240, 25 fps, 576 points
HOLISTIC_REDUCED = FIXTURES / "holistic_reduced.pose"  # 8 body, 128 face, 21 + 21 hand points
SLICES = HOLISTIC.component_slices()


def synthetic_pose() -> ExtractedPose:
    """Random normalized landmarks with whole parts missing, like real extractions (a hand out of frame...)."""
    rng = np.random.default_rng(0)
    landmarks = rng.uniform(-0.2, 1.2, (12, HOLISTIC.num_points(), 3)).astype(np.float32)
    confidence = np.ones((12, HOLISTIC.num_points()), dtype=np.float32)
    confidence[:, SLICES["POSE_LANDMARKS"]] = rng.uniform(1e-6, 1, (12, 33))
    landmarks[2:5, SLICES["LEFT_HAND_LANDMARKS"]] = np.nan
    landmarks[7, SLICES["FACE_LANDMARKS"]] = np.nan
    landmarks[9] = np.nan  # nobody in that frame
    confidence[np.isnan(landmarks[..., 0])] = 0
    return ExtractedPose(landmarks, confidence, fps=29.97, width=540, height=720)


@unless_extra("extract", "mediapipe")  # writes a Holistic .pose file
def test_pose_round_trip_is_lossless(tmp_path):
    pose = synthetic_pose()
    save_extracted(pose, tmp_path / "clip.pose")
    loaded = load_pose_file(tmp_path / "clip.pose")

    assert loaded.landmarks.dtype == np.float32 and loaded.confidence.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(loaded.landmarks), np.isnan(pose.landmarks))
    np.testing.assert_array_equal(loaded.confidence, pose.confidence)
    # .pose stores pixels as float32: normalized -> pixels -> normalized may land 1 ulp away, no further.
    detected = ~np.isnan(pose.landmarks)
    np.testing.assert_array_max_ulp(loaded.landmarks[detected], pose.landmarks[detected], maxulp=1)
    assert (loaded.width, loaded.height) == (540, 720)
    assert loaded.fps == pytest.approx(29.97)  # the format stores fps as float32
    assert list(tmp_path.iterdir()) == [tmp_path / "clip.pose"]  # no temp file left behind


@unless_extra("extract", "mediapipe")  # writes a Holistic .pose file
def test_written_pose_is_pose_format_holistic_in_pixels(tmp_path):
    pose = synthetic_pose()
    save_extracted(pose, tmp_path / "clip.pose")
    read = Pose.read((tmp_path / "clip.pose").read_bytes())

    assert detect_known_pose_format(read) == "holistic"
    assert [len(c.points) for c in read.header.components] == [33, 468, 21, 21]
    pixels = read.body.data[:, 0]
    np.testing.assert_allclose(pixels[0, :, :2], pose.landmarks[0, :, :2] * [540, 720], rtol=1e-6)
    assert (
        pixels.mask[9].all() and not pixels.mask[0].any()
    )  # missing points are masked, like pose-format's own


def test_npy_round_trip_is_exact_and_loads_without_pickle(tmp_path):
    pose = synthetic_pose()
    save_extracted(pose, tmp_path / "clip.npy")
    loaded = load_pose_file(tmp_path / "clip.npy")

    np.testing.assert_array_equal(loaded.landmarks, pose.landmarks)
    np.testing.assert_array_equal(loaded.confidence, pose.confidence)
    assert (loaded.fps, loaded.width, loaded.height) == (29.97, 540, 720)
    assert np.load(tmp_path / "clip.npy", allow_pickle=False)["landmarks"].shape == pose.landmarks.shape


def test_failed_write_leaves_neither_file_nor_temp(tmp_path, monkeypatch):
    def fail_midway(file, array):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        save_extracted(synthetic_pose(), tmp_path / "clip.npy")
    assert list(tmp_path.iterdir()) == []


def test_reads_real_holistic_file_and_drops_world_landmarks():
    raw = Pose.read(HOLISTIC_EXAMPLE.read_bytes())
    assert raw.body.data.shape[2] == 576  # the fixture has POSE_WORLD_LANDMARKS too

    pose = load_pose_file(HOLISTIC_EXAMPLE)

    assert pose.landmarks.shape == (97, HOLISTIC.num_points(), 3) and pose.confidence.shape == (97, 543)
    assert (pose.fps, pose.width, pose.height) == (25.0, 320, 240)
    first_components = raw.body.data[:, 0, : HOLISTIC.num_points()]
    confidence = raw.body.confidence[:, 0, : HOLISTIC.num_points()]
    np.testing.assert_array_equal(pose.confidence, confidence)
    np.testing.assert_array_equal(np.isnan(pose.landmarks[..., 0]), confidence == 0)
    detected = confidence > 0
    np.testing.assert_allclose(
        pose.landmarks[detected], first_components.data[detected] / [320, 240, 1], rtol=1e-6
    )
    assert 0.4 < np.nanmean(pose.landmarks[:, SLICES["FACE_LANDMARKS"], 0]) < 0.6  # normalized, not pixels


def test_selects_components_by_name_and_keeps_first_468_of_refined_face(tmp_path, extract_extra):
    """A pose-format file with the refined 478-point face, extra world landmarks and a shuffled order (written with
    pose-format's Holistic header, which imports MediaPipe)."""
    from pose_format.utils.holistic import holistic_components

    expected = synthetic_pose()
    frames, width, height = len(expected.landmarks), expected.width, expected.height
    components = {c.name: c for c in holistic_components("XYZC", additional_face_points=10)}
    order = [
        "RIGHT_HAND_LANDMARKS",
        "POSE_WORLD_LANDMARKS",
        "FACE_LANDMARKS",
        "POSE_LANDMARKS",
        "LEFT_HAND_LANDMARKS",
    ]
    pixels = np.nan_to_num(expected.landmarks * [width, height, 1])
    parts = {name: (pixels[:, SLICES[name]], expected.confidence[:, SLICES[name]]) for name in SLICES}
    parts["POSE_WORLD_LANDMARKS"] = (np.full((frames, 33, 3), 7.0), np.ones((frames, 33)))
    parts["FACE_LANDMARKS"] = (  # the 10 iris points come after the 468 mesh points
        np.concatenate([parts["FACE_LANDMARKS"][0], np.full((frames, 10, 3), 5.0)], axis=1),
        np.concatenate([parts["FACE_LANDMARKS"][1], np.ones((frames, 10))], axis=1),
    )
    header = PoseHeader(0.2, PoseHeaderDimensions(width, height), [components[name] for name in order])
    data = np.concatenate([parts[name][0] for name in order], axis=1)[:, None].astype(np.float32)
    confidence = np.concatenate([parts[name][1] for name in order], axis=1)[:, None].astype(np.float32)
    body = NumPyPoseBody(fps=30, data=data, confidence=confidence)
    with open(tmp_path / "refined.pose", "wb") as file:
        Pose(header, body).write(file)

    loaded = load_pose_file(tmp_path / "refined.pose")

    np.testing.assert_array_equal(loaded.confidence, expected.confidence)
    np.testing.assert_allclose(loaded.landmarks, expected.landmarks, rtol=1e-6)


def test_reduced_holistic_layout_is_rejected_naming_what_is_missing():
    with pytest.raises(ValueError, match="holistic_reduced.pose") as error:
        load_pose_file(HOLISTIC_REDUCED)
    assert "POSE_LANDMARKS has 8 of the 33" in str(error.value)
    assert "FACE_LANDMARKS has 128 of the 468" in str(error.value)


def test_openpose_layout_is_rejected(tmp_path):
    points = [str(i) for i in range(25)]
    header = PoseHeader(
        0.1,
        PoseHeaderDimensions(640, 480),
        [PoseHeaderComponent("pose_keypoints_2d", points, [], [(255, 0, 0)], "XYC")],
    )
    body = NumPyPoseBody(
        fps=25, data=np.ones((4, 1, 25, 2), np.float32), confidence=np.ones((4, 1, 25), np.float32)
    )
    with open(tmp_path / "openpose.pose", "wb") as file:
        Pose(header, body).write(file)

    with pytest.raises(ValueError, match=r"openpose\.pose is not a full MediaPipe Holistic pose") as error:
        load_pose_file(tmp_path / "openpose.pose")
    assert "no POSE_LANDMARKS component" in str(error.value)
    assert "pose_keypoints_2d (25 points)" in str(error.value)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("plain.npy", np.zeros((5, HOLISTIC.num_points(), 3), np.float32)),  # no fps / size / confidence
        ("body_hands.npy", None),  # a record holding only 75 points
        ("garbage.pose", b"not a pose file"),
        ("clip.json", b"{}"),
    ],
)
def test_unusable_files_raise_value_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    if name == "body_hands.npy":
        record = np.dtype(
            [
                ("landmarks", "<f4", (5, 75, 3)),
                ("confidence", "<f4", (5, 75)),
                ("fps", "<f8"),
                ("width", "<i4"),
                ("height", "<i4"),
            ]
        )
        np.save(path, np.zeros((), record))
    elif isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_bytes(content)

    with pytest.raises(ValueError, match=name):
        load_pose_file(path)
