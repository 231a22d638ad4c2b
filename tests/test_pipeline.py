"""``pipeline("sign-language-translation")`` on the real fixtures: the same glosses as the hand-written path
(extract -> feature extractor -> generate), in this process and in a fresh one where the project cannot be
imported; batching, generate kwargs, long clips and bad inputs; ``return_timestamps=True`` on a model whose
attention is known, on the real video, with and without the model's measured time-stamp accuracy."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from environment import unless_extra
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions
from test_attribution import GLOSS, RIGHT_HAND, key_frame_model
from tiny_model import MAX_GLOSSES, run_without_project, save_tiny_model
from transformers import AutoTokenizer, pipeline

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO
from dataset_builder.extract import extract_clip
from modeling_signattention import (
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
    build_gloss_tokenizer,
)
from modeling_signattention.attention_maps import TIMESTAMP_METHODS
from modeling_signattention.interpretability.attribution import attention
from modeling_signattention.interpretability.schema import TIMESTAMP_RELIABILITY_FILE
from modeling_signattention.interpretability.timestamps import (
    map_to_spans,
    spans_to_seconds,
    timestamp_reliability,
)
from modeling_signattention.time_stamps import ASSUMED_FPS

VIDEO = EXAMPLE_VIDEO
POSE_FILE = EXAMPLE_POSE
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
def video_landmarks(extract_extra) -> np.ndarray:
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


def test_video_and_frame_folder_translate_like_the_hand_written_path(
    translator, model_dir: Path, video_landmarks: np.ndarray, tmp_path: Path, extract_extra
) -> None:
    expected = hand_written(model_dir, video_landmarks)
    assert len(expected.split()) == MAX_GLOSSES
    result = translator(str(VIDEO))
    assert result == {"glosses": expected, "num_frames": 58, "frames_used": 20, "truncated": False}
    cv2 = extract_extra
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
    with pytest.raises(ValueError, match="return_timestamps needs a gloss model"):
        translate(str(POSE_FILE), return_timestamps=True)


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
        pytest.param(
            lambda tmp: tmp / "broken.mp4",
            ValueError,
            r"broken\.mp4: OpenCV cannot open it as a video",
            marks=unless_extra("extract", "mediapipe", "cv2"),
        ),
        (
            lambda tmp: openpose_file(tmp / "openpose.pose"),
            ValueError,
            r"openpose\.pose: .*pose layout unknown \(pose_keypoints_2d 25\), not the expected layout 'holistic'",
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
    with pytest.raises(ImportError, match=r"pip install 'signattention\[extract\]'"):
        translate(str(VIDEO))
    assert translate(str(POSE_FILE))["glosses"]  # poses need no MediaPipe


def test_fresh_process_without_the_project_translates_the_same(
    translator, model_dir: Path, tmp_path: Path, extract_extra
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
    script += (
        f"stamps = translate({str(POSE_FILE)!r}, return_timestamps=True, timestamp_method='value_norm')\n"
        "print(json.dumps(stamps, ensure_ascii=False))\n"
    )
    completed = run_without_project(script, tmp_path)
    *_, results_line, stamps_line = completed.stdout.strip().splitlines()
    assert json.loads(results_line) == [translator(item, batch_size=2) for item in inputs]
    with pytest.warns(UserWarning, match="not validated"):
        stamps = translator(str(POSE_FILE), return_timestamps=True, timestamp_method="value_norm")
    assert json.loads(stamps_line) == json.loads(json.dumps(stamps, ensure_ascii=False))


# -- return_timestamps=True --------------------------------------------------------------------------------------------
FPS = 30.0


def key_frame_clip(num_frames: int, key_frame: int, sample_rate: int = 3) -> np.ndarray:
    """``(frames, 75, 3)`` body+hands landmarks for ``key_frame_model``: model frame ``key_frame`` (clip frame
    ``sample_rate * key_frame``, one frame in ``sample_rate`` is read) carries the gloss, every other frame the
    opposite."""
    features = np.zeros((num_frames, 75 * 3), np.float32)
    features[:, RIGHT_HAND + 8 : RIGHT_HAND + 16] = 100.0
    features[sample_rate * key_frame, RIGHT_HAND + 8 : RIGHT_HAND + 16] = 0.0
    features[sample_rate * key_frame, RIGHT_HAND : RIGHT_HAND + 8] = 100.0
    return features.reshape(num_frames, 75, 3)


def key_frame_pipeline(sample_rate: int = 3) -> SignLanguageTranslationPipeline:
    """The attribution tests' key-frame model: every gloss attends to the key frame alone (one-hot). The feature
    extractor reads 1 frame in ``sample_rate`` and passes the landmarks through (no filling, no normalizing), so
    the model sees the hand-built frames."""
    tokenizer = build_gloss_tokenizer(["A B"])
    assert tokenizer.convert_ids_to_tokens([GLOSS]) == ["A"]
    model = key_frame_model()
    # three glosses; set on the model, as a pipeline given generation options when it is made warns on
    # transformers < 5.20 (its own code then passes a generation config together with them)
    model.generation_config.max_length = 4
    return SignLanguageTranslationPipeline(
        model=model,
        tokenizer=tokenizer,
        feature_extractor=SignAttentionFeatureExtractor(
            normalize=False, fill_missing=False, sample_rate=sample_rate
        ),
        task=TASK,
    )


@pytest.fixture(scope="module")
def key_frame_translator() -> SignLanguageTranslationPipeline:
    return key_frame_pipeline()


@pytest.mark.parametrize("method", [*TIMESTAMP_METHODS, "attention_head3", "value_norm_head5"])
def test_timestamps_of_a_model_whose_attention_is_known(key_frame_translator, method: str) -> None:
    # 36 frames: key at model frame 7 = clip frames [21, 24). 26 frames (padded in the batch): key at model frame 8
    # = clip frames [24, 27), cut at the clip's end, 26.
    clips = [key_frame_clip(36, 7), key_frame_clip(26, 8)]
    with pytest.warns(UserWarning, match=f"time stamps from {method} are not validated"):
        results = key_frame_translator(
            clips,
            batch_size=2,
            return_timestamps=True,
            timestamp_method=method,
            fps=FPS,
            return_frame_weights=True,
        )
    for result, key, (start, end) in zip(
        results, (7, 8), [(21 / FPS, 24 / FPS), (24 / FPS, 26 / FPS)], strict=True
    ):
        assert result["glosses"] == "A A A"
        # the map the time stamps come from: one row per gloss over the frames read, peaking at the key frame
        weights = result.pop("frame_weights")
        assert weights.shape == (3, result["frames_used"]) and (weights.argmax(axis=1) == key).all()
        if method == "attention":  # the mean over heads of one-hot attention
            np.testing.assert_allclose(weights, np.eye(result["frames_used"])[[key] * 3], atol=1e-6)
        assert [chunk["gloss"] for chunk in result["chunks"]] == ["A", "A", "A"]
        assert result["timestamp_info"] == {
            "method": method,
            "method_chosen_by": "the timestamp_method argument",
            "fps": FPS,
            "fps_source": "the fps argument",
            "reliability": None,
        }
        for chunk in result["chunks"]:
            if method == "rollout":  # the encoder's attention spreads it: the span holds the key frame
                assert chunk["timestamp"][0] <= start < end <= chunk["timestamp"][1]
            else:  # one-hot on the key frame: exactly its sample_rate clip frames
                assert chunk["timestamp"] == pytest.approx((start, end), abs=1e-12)


def test_timestamps_follow_the_feature_extractors_sample_rate() -> None:
    """Issue 24: at ``sample_rate`` 1 model frame i is clip frame i, so the key frame's gloss is stamped on that one
    clip frame (1/30 s), not on the 3 frames from there."""
    clip = key_frame_clip(36, 7, sample_rate=1)
    with pytest.warns(UserWarning, match="time stamps from attention are not validated"):
        result = key_frame_pipeline(sample_rate=1)(
            clip, return_timestamps=True, timestamp_method="attention", fps=FPS
        )
    assert result["glosses"] == "A A A" and result["frames_used"] == 36
    for chunk in result["chunks"]:
        assert chunk["timestamp"] == pytest.approx((7 / FPS, 8 / FPS), abs=1e-12)


def test_timestamps_on_the_real_video_lie_inside_the_clip(
    translator, model_dir: Path, video_landmarks: np.ndarray, extract_extra
) -> None:
    cv2 = extract_extra
    capture = cv2.VideoCapture(str(VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    with pytest.warns(UserWarning, match="time stamps from attention are not validated"):
        result = translator(str(VIDEO), return_timestamps=True, return_frame_weights=True)
    frame_weights = result.pop("frame_weights")
    assert len(result["chunks"]) == len(result["glosses"].split()) == MAX_GLOSSES
    assert [chunk["gloss"] for chunk in result["chunks"]] == result["glosses"].split()
    for chunk in result["chunks"]:
        start, end = chunk["timestamp"]
        assert 0.0 <= start < end <= 58 / fps + 1e-9
    info = result["timestamp_info"]
    assert info["fps"] == pytest.approx(fps) and info["fps_source"] == "the video file"
    assert info["method"] == "attention" and "no timestamp_reliability.json" in info["method_chosen_by"]
    assert info["reliability"] is None

    # The map rows and time stamps are the interpretability layer's (what the leaderboard scores) on the same clip.
    model = SignAttentionForConditionalGeneration.from_pretrained(model_dir).eval()
    feature_extractor = SignAttentionFeatureExtractor.from_pretrained(model_dir)
    inputs = feature_extractor(video_landmarks)
    (clip_map,) = attention(model, inputs, model.generate(**inputs))
    expected = spans_to_seconds(map_to_spans(clip_map), feature_extractor.sample_rate, fps, num_frames=58)
    # approx compares flat sequences only (pytest >= 9.1 refuses nested ones): the spans' bounds, in order
    assert [bound for chunk in result["chunks"] for bound in chunk["timestamp"]] == pytest.approx(
        [bound for span in expected for bound in span]
    )
    outputs = translator.forward({**inputs}, timestamp_method="attention")
    np.testing.assert_allclose(outputs["maps"][0, :MAX_GLOSSES, :20].numpy(), clip_map, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        frame_weights, clip_map, rtol=1e-5, atol=1e-7
    )  # return_frame_weights: that map

    # A .pose file says its frame rate; an array carries none: the assumed one is used, and said.
    with pytest.warns(UserWarning, match="not validated"):
        from_pose = translator(str(POSE_FILE), return_timestamps=True)
    assert from_pose["timestamp_info"]["fps"] == 25.0
    with (
        pytest.warns(UserWarning, match=f"no frame rate known; time stamps assume {ASSUMED_FPS:g} fps"),
        pytest.warns(UserWarning, match="not validated"),
    ):
        array = translator(video_landmarks, return_timestamps=True)
    assert array["timestamp_info"]["fps_source"].startswith("assumed")
    assert array["chunks"][0]["timestamp"] == pytest.approx(
        tuple(second * fps / ASSUMED_FPS for second in result["chunks"][0]["timestamp"])
    )


def leaderboard(best: str) -> dict:
    """``interpretability.json`` as the main job writes it, cut to what the time stamps read; boundary errors in
    model frames."""

    def entry(peak: float, iou: float, error: float) -> dict:
        scores = {
            "gold_peak_accuracy": peak,
            "timestamp_mean_iou": iou,
            "timestamp_boundary_error": error,
            "timestamp_num_glosses": 100,
        }
        return scores | {"unseen": scores | {"timestamp_num_glosses": 10}}

    return {
        "data_source": "synthetic",
        "config": "si",
        "split": "test",
        "num_clips": 20,
        "num_gold_glosses": 100,
        "memorization": {"seen_sentence_share": 0.5},
        "attribution": {
            "attention": entry(0.30, 0.25, 2.0),
            "value_norm": entry(0.35, 0.20, 3.0),
            "rollout": entry(0.20, 0.60, 1.0),
            "input_x_gradient": entry(0.50, 0.10, 4.0),
        },
        "baselines": {"uniform": entry(0.15, 0.15, 10.0), "diagonal_prior": entry(0.75, 0.50, 1.5)},
        "best_method": best,
        "best_method_chosen_by": "gold_peak_accuracy",
    }


def test_measured_accuracy_comes_from_the_model_folder(model_dir: Path, tmp_path: Path) -> None:
    measured_dir = tmp_path / "model"
    shutil.copytree(model_dir, measured_dir)
    path = measured_dir / TIMESTAMP_RELIABILITY_FILE
    path.write_text(json.dumps(timestamp_reliability(leaderboard("value_norm"))), encoding="utf-8")
    translate = pipeline(TASK, model=str(measured_dir), pipeline_class=SignLanguageTranslationPipeline)
    with pytest.warns(
        UserWarning, match=r"value_norm .* mean IoU of 0\.20 .* below a diagonal prior .* \(0\.50\)"
    ):
        result = translate(str(POSE_FILE), return_timestamps=True)  # 25 fps, 1 frame in 3 read
    info = result["timestamp_info"]
    assert info["method"] == "value_norm" and "leaderboard" in info["method_chosen_by"]
    reliability = info["reliability"]
    assert reliability["measured_on"] == (
        "synthetic poses, GSL si test split (20 clips, 50.0% signing a sentence seen in training; "
        "100 glosses with gold spans)"
    )
    assert reliability["timestamp_mean_iou"] == 0.20 and reliability["gold_peak_accuracy"] == 0.35
    # 3 model frames = 9 clip frames = 0.36 s at 25 fps
    assert reliability["timestamp_boundary_error_frames"] == 9.0
    assert reliability["timestamp_boundary_error_seconds"] == pytest.approx(0.36)
    assert reliability["diagonal_prior"]["timestamp_boundary_error_frames"] == 4.5
    assert reliability["uniform"]["timestamp_mean_iou"] == 0.15
    assert reliability["unseen_sentences"]["num_glosses"] == 10

    # A method that beat the prior is not warned about; the leaderboard's pick needing gradients falls back to the
    # best method the pipeline can run, by the same score.
    path.write_text(json.dumps(timestamp_reliability(leaderboard("input_x_gradient"))), encoding="utf-8")
    translate = pipeline(TASK, model=str(measured_dir), pipeline_class=SignLanguageTranslationPipeline)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = translate(str(POSE_FILE), return_timestamps=True, timestamp_method="rollout")["timestamp_info"]
    assert info["reliability"]["timestamp_mean_iou"] == 0.60
    with pytest.warns(UserWarning, match="below a diagonal prior"):
        info = translate(str(POSE_FILE), return_timestamps=True)["timestamp_info"]
    assert info["method"] == "value_norm" and "its best is input_x_gradient" in info["method_chosen_by"]

    # A leaderboard that picked one head for its time stamps, on the validation split: that head is the default.
    picked = leaderboard("input_x_gradient")
    picked["attribution"]["value_norm_head1"] = picked["attribution"]["rollout"] | {
        "timestamp_mean_iou": 0.65
    }
    picked |= {"timestamp_method": "value_norm_head1", "best_method_chosen_on": "validation"}
    path.write_text(json.dumps(timestamp_reliability(picked)), encoding="utf-8")
    translate = pipeline(TASK, model=str(measured_dir), pipeline_class=SignLanguageTranslationPipeline)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = translate(str(POSE_FILE), return_timestamps=True)["timestamp_info"]
    assert info["method"] == "value_norm_head1" and info["reliability"]["timestamp_mean_iou"] == 0.65
    assert "best time-stamp IoU, picked on the validation split" in info["method_chosen_by"]


def test_timestamp_options_are_checked(translator, model_dir: Path) -> None:
    with pytest.raises(
        ValueError, match="unknown timestamp_method 'occlusion'.*attention, value_norm, rollout"
    ):
        translator(str(POSE_FILE), return_timestamps=True, timestamp_method="occlusion")
    with pytest.raises(ValueError, match="head 9 does not exist: the model has 8 attention heads"):
        translator(str(POSE_FILE), return_timestamps=True, timestamp_method="attention_head9")
    with pytest.raises(ValueError, match="unknown timestamp_method 'rollout_head1'"):
        translator(str(POSE_FILE), return_timestamps=True, timestamp_method="rollout_head1")
    for option in ({"timestamp_method": "attention"}, {"return_frame_weights": True}):
        with pytest.raises(ValueError, match="only apply with return_timestamps=True"):
            translator(str(POSE_FILE), **option)
    with pytest.raises(ValueError, match="fps must be a positive"):
        translator(str(POSE_FILE), return_timestamps=True, fps=0)
    assert set(translator(str(POSE_FILE))) == {"glosses", "num_frames", "frames_used", "truncated"}
    # Given at construction, the options are the defaults of every call, which may switch them off.
    with pytest.warns(UserWarning, match="not validated"):
        stamping = pipeline(
            TASK,
            model=str(model_dir),
            pipeline_class=SignLanguageTranslationPipeline,
            return_timestamps=True,
            timestamp_method="rollout",
            fps=10.0,
        )
        stamped = stamping(str(POSE_FILE))
    info = stamped["timestamp_info"]
    assert (info["method"], info["fps"], info["fps_source"]) == ("rollout", 10.0, "the fps argument")
    assert "frame_weights" not in stamped  # an opt-in output
    assert "chunks" not in stamping(str(POSE_FILE), return_timestamps=False)
