"""``pipeline("sign-language-translation")`` on the real fixtures: the same glosses as the hand-written path
(extract -> feature extractor -> generate), in this process and in a fresh one where the project cannot be
imported; batching, generate kwargs, long clips and bad inputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from tiny_model import MAX_GLOSSES, run_without_project, save_tiny_model
from transformers import AutoTokenizer, pipeline

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.extract import extract_clip
from modeling_signattention import (
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
)
from modeling_signattention.pipeline_signattention import read_holistic

FIXTURES = Path(__file__).parent / "fixtures"
VIDEO = EXAMPLE_VIDEO
POSE_FILE = FIXTURES / "holistic_example.pose"
TASK = "sign-language-translation"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "model"
    save_tiny_model(folder)
    return folder


@pytest.fixture(scope="module")
def translator(model_dir: Path) -> SignLanguageTranslationPipeline:
    """With the package installed: the registered class, no remote code (``pipeline_class`` skips it)."""
    torch.set_num_threads(1)
    return pipeline(TASK, model=str(model_dir), pipeline_class=SignLanguageTranslationPipeline)


@pytest.fixture(scope="module")
def video_landmarks() -> np.ndarray:
    """The project's extractor on the real signer video: the reference the pipeline's reader must match."""
    return extract_clip(VIDEO).landmarks


def hand_written(model_dir: Path, pose, **generate_kwargs) -> str:
    """The path the pipeline replaces, written out with the saved components."""
    model = SignAttentionForConditionalGeneration.from_pretrained(model_dir).eval()
    feature_extractor = SignAttentionFeatureExtractor.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.no_grad():
        (sequence,) = model.generate(**feature_extractor(pose), **generate_kwargs).tolist()
    return glosses_of(sequence, tokenizer)


def glosses_of(sequence: list[int], tokenizer) -> str:
    """Tokens after the decoder start, up to ``</s>``; ``<unk>`` kept (a predicted gloss with no name)."""
    end = sequence.index(3) if 3 in sequence else len(sequence)
    return " ".join(tokenizer.convert_ids_to_tokens(sequence[1:end]))


def test_video_reader_gives_the_extractor_arrays(translator, video_landmarks: np.ndarray) -> None:
    ours = read_holistic(VIDEO, translator.holistic())
    assert ours.shape == video_landmarks.shape == (58, 543, 3)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(video_landmarks))
    np.testing.assert_array_equal(ours, video_landmarks)


def test_video_and_frame_folder_translate_like_the_hand_written_path(
    translator, model_dir: Path, video_landmarks: np.ndarray, tmp_path: Path
) -> None:
    expected = hand_written(model_dir, video_landmarks)
    assert len(expected.split()) == MAX_GLOSSES
    result = translator(str(VIDEO))
    assert result == {"glosses": expected, "num_frames": 58, "frames_used": 20, "truncated": False}
    # PNG is lossless: a folder of the video's frames is the same clip, frame10 sorted after frame9
    capture = cv2.VideoCapture(str(VIDEO))
    index = 0
    while (frame := capture.read())[0]:
        cv2.imwrite(str(tmp_path / f"frame{index}.png"), frame[1])
        index += 1
    capture.release()
    assert translator(tmp_path) == result


def test_pose_inputs_translate_like_the_hand_written_path(
    translator, model_dir: Path, tmp_path: Path
) -> None:
    pose = Pose.read(POSE_FILE.read_bytes())
    expected = hand_written(model_dir, pose)
    result = translator(str(POSE_FILE))
    assert result == {"glosses": expected, "num_frames": 97, "frames_used": 33, "truncated": False}
    assert translator(pose) == result
    landmarks = np.random.default_rng(0).random((40, 543, 3), dtype=np.float32)
    np.save(tmp_path / "clip.npy", landmarks)
    assert translator(landmarks)["glosses"] == hand_written(model_dir, landmarks)
    assert translator(tmp_path / "clip.npy") == translator(landmarks)


def test_list_is_batched_and_equals_one_by_one(translator) -> None:
    rng = np.random.default_rng(1)
    clips = [
        str(POSE_FILE),
        rng.random((30, 543, 3), dtype=np.float32),
        rng.random((75, 75, 3), dtype=np.float32),
    ]
    one_by_one = [translator(clip) for clip in clips]
    assert translator(clips, batch_size=3) == one_by_one
    assert translator(clips, batch_size=2) == one_by_one
    assert [result["num_frames"] for result in one_by_one] == [97, 30, 75]


def test_generate_kwargs_are_passed_through(translator, model_dir: Path) -> None:
    pose = Pose.read(POSE_FILE.read_bytes())
    short = translator(pose, max_length=3, num_beams=3)
    assert short["glosses"] == hand_written(model_dir, pose, max_length=3, num_beams=3)
    assert len(short["glosses"].split()) <= 2 < MAX_GLOSSES  # max_length counts the decoder start token
    assert translator(pose, generate_kwargs={"max_length": 3})["glosses"] == hand_written(
        model_dir, pose, max_length=3
    )


def test_long_clip_says_it_was_cut_and_names_the_clip(translator) -> None:
    readable = translator.feature_extractor.max_frames * translator.feature_extractor.sample_rate  # 660
    rng = np.random.default_rng(2)
    clips = [
        rng.random((readable, 543, 3), dtype=np.float32),
        rng.random((readable + 1, 543, 3), dtype=np.float32),
    ]
    with pytest.warns(
        UserWarning, match=rf"clip 1 of the list: .*{readable + 1} frames, but the model reads"
    ) as caught:
        results = translator(clips)
    assert len(caught) == 1
    assert results[0]["truncated"] is False and results[0]["frames_used"] == 220
    assert results[1] == {**results[1], "num_frames": readable + 1, "frames_used": 220, "truncated": True}


def test_text_mode_model_returns_text(model_dir: Path) -> None:
    translate = pipeline(TASK, model=str(model_dir), pipeline_class=SignLanguageTranslationPipeline)
    translate.model.config.output_mode = "text"
    result = translate(str(POSE_FILE))
    assert set(result) == {"text", "num_frames", "frames_used", "truncated"} and result["text"]


def openpose_file(path: Path) -> Path:
    header = PoseHeader(
        0.1,
        PoseHeaderDimensions(640, 480),
        [PoseHeaderComponent("pose_keypoints_2d", [str(i) for i in range(25)], [], [(255, 0, 0)], "XYC")],
    )
    body = NumPyPoseBody(
        fps=25, data=np.ones((4, 1, 25, 2), np.float32), confidence=np.ones((4, 1, 25), np.float32)
    )
    with open(path, "wb") as file:
        Pose(header, body).write(file)
    return path


@pytest.mark.parametrize(
    ("make_input", "error", "message"),
    [
        (lambda tmp: tmp / "missing.mp4", FileNotFoundError, r"missing\.mp4: no such file or folder"),
        (lambda tmp: tmp / "broken.mp4", ValueError, r"broken\.mp4: OpenCV cannot open it as a video"),
        (
            lambda tmp: openpose_file(tmp / "openpose.pose"),
            ValueError,
            r"openpose\.pose: .*not a MediaPipe Holistic",
        ),
        (
            lambda tmp: np.zeros((0, 543, 3), np.float32),
            ValueError,
            r"ndarray of shape \(0, 543, 3\): .*0 frames",
        ),
        (lambda tmp: [], ValueError, "No clips given: the list is empty"),
        (
            lambda tmp: [str(POSE_FILE), tmp / "nope.pose"],
            FileNotFoundError,
            r"clip 1 of the list: .*nope\.pose: no such file",
        ),
    ],
    ids=["missing-path", "unreadable-video", "openpose", "zero-frames", "empty-list", "bad-clip-in-list"],
)
def test_bad_input_is_named(translator, tmp_path: Path, make_input, error, message) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(error, match=message):
        translator(make_input(tmp_path), batch_size=2)


def test_missing_mediapipe_says_how_to_install(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    translate = pipeline(TASK, model=str(model_dir), pipeline_class=SignLanguageTranslationPipeline)
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'mediapipe==0\.10\.21'"):
        translate(str(VIDEO))
    assert translate(str(POSE_FILE))["glosses"]  # poses need no MediaPipe


def test_fresh_process_without_the_project_translates_the_same(
    translator, model_dir: Path, tmp_path: Path
) -> None:
    """The saved folder alone: ``custom_pipelines`` + the pipeline file, loaded with trust_remote_code, offline."""
    config = json.loads((model_dir / "config.json").read_text())
    assert (
        config["custom_pipelines"][TASK]["impl"] == "pipeline_signattention.SignLanguageTranslationPipeline"
    )
    assert (model_dir / "pipeline_signattention.py").is_file()
    inputs = [str(POSE_FILE), [str(VIDEO), str(POSE_FILE)]]  # one clip, and a batch with the real video
    script = (
        "import json, sys\nfrom transformers import pipeline\n"
        f"translate = pipeline({TASK!r}, model={str(model_dir)!r}, trust_remote_code=True)\n"
        "assert type(translate).__module__.startswith('transformers_modules'), type(translate).__module__\n"
        f"results = [translate(item, batch_size=2) for item in {inputs!r}]\n"
        "print(json.dumps(results, ensure_ascii=False))\n"
    )
    completed = run_without_project(script, tmp_path)
    remote = json.loads(completed.stdout.strip().splitlines()[-1])
    assert remote == [translator(item, batch_size=2) for item in inputs]
