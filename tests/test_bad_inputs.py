"""One pose, one answer; bad input refused by name; nothing cut in silence (issue 11).

Read top to bottom: the same clip through every entry point gives identical ``input_features``; then the
bad-input matrix of the feature extractor and of ``model.generate`` (each row: input, the error it must raise);
then long clips. Extraction (Ctrl-C, orphaned workers, truncated videos) is in ``test_extract.py``; pose files
the builder cannot match are in ``test_gsl_builder.py``.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path
from types import ModuleType

import bad_input_table
import datasets
import numpy as np
import pytest
import torch
from bad_input_table import shown
from pose_format import Pose
from test_space import app, model_dir  # noqa: F401  (fixtures: the Space app module with a tiny model)
from transformers import AutoTokenizer, pipeline

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO
from dataset_builder.build import build_dataset
from dataset_builder.extract import extract_clip, load_pose_file, save_extracted
from dataset_builder.gsl import load_split
from dataset_builder.gsl_poses import GSLPosesConfig
from dataset_builder.loading import PoseSplit
from hub_scripts.evaluate import evaluate_split
from modeling_signattention import (
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    SignLanguageTranslationPipeline,
)
from modeling_signattention.layouts import HOLISTIC, pose_format_to_fractions
from modeling_signattention.loading import load_pretrained

HOLISTIC_POSE = EXAMPLE_POSE  # pose-format's own Holistic file, 320x240, 97 frames
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
        GSLPosesConfig(name="si", source="poses", poses_dir=root / "poses", limit=1),
        root / "out",
        cache_dir=root / "cache",
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


# -- issue 21: no silent wrong answer ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def translate(model_dir):  # noqa: F811
    return pipeline(TASK, model=str(model_dir), pipeline_class=SignLanguageTranslationPipeline)


def damaged_videos(folder: Path) -> dict[str, Path]:
    """The real video cut in half by bytes, and garbled mid-file (20 kB zeroed a third of the way in)."""
    data = VIDEO.read_bytes()
    garbled = bytearray(data)
    garbled[len(data) // 3 : len(data) // 3 + 20_000] = bytes(20_000)
    videos = {"truncated": folder / "cut.mp4", "corrupt": folder / "garbled.mp4"}
    videos["truncated"].write_bytes(data[: len(data) // 2])
    videos["corrupt"].write_bytes(bytes(garbled))
    return videos


@pytest.mark.parametrize(
    "damage, row", [("truncated", "pipeline: truncated video"), ("corrupt", "pipeline: corrupt video")]
)
def test_pipeline_refuses_a_cut_or_garbled_video_like_the_extractor(translate, damage, row, tmp_path):
    video = damaged_videos(tmp_path)[damage]
    with pytest.raises(ValueError) as pipeline_error:
        translate(str(video))
    shown(row, str(pipeline_error.value))
    assert str(pipeline_error.value).startswith(f"{video}: ")
    with pytest.raises(ValueError) as extractor_error:  # dataset_builder.extract (and the Space) say the same
        extract_clip(video)
    decoded = re.search(r"(\d+ of the \d+ frames)", str(pipeline_error.value))[1]
    assert decoded in str(extractor_error.value)


def test_pose_format_body_data_is_one_clip_with_its_mask(translate):
    """``pose.body.data`` is ``(frames, 1, points, coords)``, masked where a point was not detected, in pixels."""
    pose = Pose.read(HOLISTIC_POSE.read_bytes())
    from_path = translate(str(HOLISTIC_POSE))
    with pytest.raises(ValueError) as error:
        translate(pose.body.data)
    shown("pipeline: pose.body.data in pixels", str(error.value))

    scale = np.array([pose.header.dimensions.width, pose.header.dimensions.height, 1.0])
    in_fractions = pose.body.data / scale  # still masked, still (frames, 1, points, coords)
    assert in_fractions.shape[1] == 1 and in_fractions.mask.any()
    assert translate(in_fractions) == from_path  # one clip of 97 frames, not 97 one-frame clips
    assert from_path["frames_used"] == 33
    extractor = SignAttentionFeatureExtractor()
    reference = extractor(pose)["input_features"]
    for array in (in_fractions, in_fractions[:, 0]):
        assert torch.equal(extractor(array)["input_features"], reference)
    unmasked = np.ma.getdata(
        in_fractions[:, 0]
    )  # what losing the mask gave: missing points read as coordinates
    assert not torch.equal(extractor(unmasked)["input_features"], reference)


def test_a_nested_list_is_one_clip_for_the_pipeline_too(translate):
    landmarks = real_clip()
    from_list = translate(landmarks.tolist())
    shown("pipeline: nested list of one clip", str(from_list))
    assert from_list == translate(landmarks)
    assert translate([landmarks.tolist(), landmarks]) == [translate(landmarks)] * 2


@pytest.mark.parametrize(
    "make, row",
    [
        (lambda: np.zeros((30, 543, 3)), "pipeline: all-zero clip"),
        (lambda: np.full((30, 75, 3), 0.5), "pipeline: all-zero clip"),
    ],
    ids=["all zero", "constant"],
)
def test_pipeline_says_no_person_instead_of_translating_nothing(translate, make, row):
    with pytest.raises(ValueError) as error:
        translate(make(), return_timestamps=True)
    shown(row, str(error.value))


def test_shoulder_width_zero_is_no_person():
    clip = real_clip()
    clip[:, 12] = clip[:, 11]  # right shoulder on the left one: a body with no width to divide by
    with pytest.raises(ValueError) as error:
        SignAttentionFeatureExtractor()(clip)
    shown("feature extractor: shoulder width 0", str(error.value))
    SignAttentionFeatureExtractor(normalize=False)(clip)  # without normalisation there is nothing to divide


def test_generate_options_through_the_pipeline(translate):
    path = str(HOLISTIC_POSE)
    with pytest.raises(ValueError) as error:
        translate(path, return_dict_in_generate=True)
    shown("pipeline: return_dict_in_generate", str(error.value))
    with pytest.raises(ValueError) as error:
        translate(path, num_beams=0)
    shown("pipeline: num_beams=0", str(error.value))
    with pytest.raises(ValueError, match="num_return_sequences must be 1"):
        translate(path, num_beams=2, num_return_sequences=2, return_timestamps=True)

    two = translate(path, num_beams=2, num_return_sequences=2)
    inputs = SignAttentionFeatureExtractor.from_pretrained(translate.model.name_or_path)(str(HOLISTIC_POSE))
    sequences = translate.model.generate(**inputs, num_beams=2, num_return_sequences=2)
    assert [result["glosses"] for result in two] == [translate.decode(row) for row in sequences]
    assert len({result["glosses"] for result in two}) == 2


@pytest.mark.parametrize("fps", ["abc", 0, -5.0, float("nan"), True])
def test_pipeline_refuses_a_bad_fps_by_value(translate, fps):
    with pytest.raises(ValueError) as error:
        translate(str(HOLISTIC_POSE), return_timestamps=True, fps=fps)
    assert f"fps must be a positive number of frames per second, got {fps!r}" in str(error.value)
    if fps == "abc":
        shown("pipeline: fps='abc'", str(error.value))


def test_interpret_refuses_zero_beams_in_the_library_too(model, model_dir):  # noqa: F811
    from modeling_signattention.interpretability import translate_with_attention

    feature_extractor = SignAttentionFeatureExtractor.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with pytest.raises(ValueError) as error:
        translate_with_attention(model, feature_extractor, tokenizer, [real_clip()], num_beams=0)
    shown("pipeline: num_beams=0", str(error.value))


@pytest.mark.parametrize(
    "arguments, row",
    [
        (["--methods"], "interpret: --methods with no names"),
        (["--max-samples", "0"], "interpret: --max-samples 0"),
        (["--num-beams", "0"], None),
    ],
    ids=["no methods", "max samples 0", "num beams 0"],
)
def test_interpret_command_line_refuses_counts_that_score_nothing(arguments, row, tmp_path, capsys):
    from hub_scripts.interpret import main

    paths = [
        "--model-dir",
        str(tmp_path),
        "--dataset-dir",
        str(tmp_path),
        "--output-dir",
        str(tmp_path / "out"),
    ]
    with pytest.raises(SystemExit) as exit_info:
        main([*paths, *arguments])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {arguments[0]}:" in error
    if row is not None:
        shown(row, error)
    assert not (tmp_path / "out").exists()


def test_push_to_hub_dry_run_refuses_what_the_hub_would(model_dir, tmp_path, capsys):  # noqa: F811
    from hub_scripts import push_to_hub

    with pytest.raises(SystemExit) as exit_info:
        push_to_hub.main(["--model-dir", str(model_dir), "--repo-id", "not a/valid/repo id", "--dry-run"])
    assert exit_info.value.code == 2
    shown("push_to_hub: invalid repo id", capsys.readouterr().err)
    local = tmp_path / "repo"
    assert (
        push_to_hub.main(
            ["--model-dir", str(model_dir), "--repo-id", "me/ok", "--dry-run", "--local-dir", str(local)]
        )
        == 0
    )


# -- the table of docs/bad_inputs.md is the tested one ---------------------------------------------------------------
def test_docs_table_is_the_tested_one():
    """docs/bad_inputs.md holds exactly ``bad_input_table.ROWS``, and every row is asserted by some test (a
    ``shown("<row id>", ...)`` call, or a parametrized row id passed to one)."""
    assert bad_input_table.documented_table() == bad_input_table.render(), (
        "docs/bad_inputs.md is out of date: run python tests/bad_input_table.py"
    )
    sources = "".join(path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py"))
    unused = [row_id for row_id in bad_input_table.ROWS if f'"{row_id}"' not in sources]
    assert not unused, f"rows of docs/bad_inputs.md that no test checks: {unused}"
