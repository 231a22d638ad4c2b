"""GSL annotation parsing, the GSLPoses builder (synthetic / poses / gsl sources) and the build CLI end to end."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
from bad_input_table import shown
from environment import unless_extra
from huggingface_hub import DatasetCard

from dataset_builder import EXAMPLE_POSE, EXAMPLE_VIDEO
from dataset_builder import gsl_poses as builder_module
from dataset_builder.build import build_dataset, dataset_provenance, main
from dataset_builder.extract import ExtractedPose, save_extracted
from dataset_builder.gsl import (
    annotation_key,
    load_split,
    parse_clip_path,
    read_annotations,
    read_split_file,
    split_file,
)
from dataset_builder.gsl_poses import GSLPoses, GSLPosesConfig
from dataset_builder.loading import (
    DatasetFolderError,
    dataset_metadata,
    iter_split_poses,
    load_pose_splits,
    read_landmarks,
)
from dataset_builder.synthetic import SyntheticGSL
from dataset_builder.timing import TIMINGS
from modeling_signattention.layouts import HOLISTIC

VIDEO = EXAMPLE_VIDEO
SPLIT_SIZES = {"si": (8821, 588, 881), "sd": (8189, 1063, 1043)}


# -- annotations ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["si", "sd"])
def test_split_sizes_and_every_clip_has_its_annotation(config, caplog):
    texts = read_annotations()
    assert len(texts) == 10295
    with caplog.at_level(logging.WARNING, logger="dataset_builder.gsl"):
        splits = [load_split(config, split, texts=texts) for split in ("train", "validation", "test")]
    assert tuple(map(len, splits)) == SPLIT_SIZES[config]
    for clips in splits:
        assert all(annotation_key(clip.id) in texts for clip in clips)
        untranslated = [clip.id for clip in clips if not clip.text]
        assert len(untranslated) <= 2  # upstream rows with no Greek text anywhere: reported, not dropped
        for clip_id in untranslated:
            assert clip_id in caplog.text


def test_empty_greek_text_borrows_the_same_sentence_s_translation(tmp_path):
    path = tmp_path / "annotations.csv"
    rows = ["a_signer1_rep1_x/s0|γεια σας|ΓΕΙΑ", "a_signer2_rep1_x/s0||ΓΕΙΑ", "a_signer2_rep1_x/s1||ΠΟΤΕ"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert read_annotations(path) == {
        "a_signer1_rep1_x/s0": "γεια σας",
        "a_signer2_rep1_x/s0": "γεια σας",
        "a_signer2_rep1_x/s1": "",
    }


def test_clip_fields():
    clip = load_split("si", "test")[0]
    assert clip.id == "police1/police1_signer3_rep3_sentences/sentences0000"
    assert (clip.scenario, clip.signer, clip.repetition) == ("police1", "signer3", 3)
    assert clip.gloss == "ΓΕΙΑ ΕΓΩ(1) ΜΠΟΡΩ ΒΟΗΘΩ"
    assert clip.text == "γεια σας πώς μπορώ να βοηθήσω"
    assert {clip.signer for clip in load_split("si", "train")}.isdisjoint({"signer3"})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("police1/police1_signer1_rep1_sentences/sentences0001 ΕΓΩ(1) ΘΕΛΩ", "no '\\|'"),
        ("police1/police1_signer1_rep1_sentences/sentences0001|   ", "no gloss"),
        ("police1/sentences0001|ΕΓΩ(1)", "Cannot parse scenario/signer/repetition"),
    ],
)
def test_malformed_split_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "split.csv"
    path.write_text(
        f"police1/police1_signer1_rep1_sentences/sentences0000|ΓΕΙΑ\n\n{line}\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match=f"split.csv:3: .*{message}"):
        read_split_file(path)


def test_unknown_config_or_split_lists_valid_names():
    with pytest.raises(ValueError, match="valid splits: train, validation, test"):
        split_file("si", "dev")
    with pytest.raises(ValueError, match="valid configs: si, sd"):
        load_split("signer", "train")
    with pytest.raises(ValueError, match="Available: \\['si', 'sd'\\]"):
        GSLPoses(config_name="xx")


def test_parse_clip_path():
    assert parse_clip_path("kep3/kep3_signer7_rep6_sentences/sentences0012") == ("kep3", "signer7", 6)
    with pytest.raises(ValueError, match="'nonsense'"):
        parse_clip_path("nonsense")


# -- build CLI, synthetic source --------------------------------------------------------------------------


def test_build_cli_end_to_end_loads_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    output = tmp_path / "gsl_si"
    argv = ["--config", "si", "--source", "synthetic", "--limit", "4", "--output-dir", str(output)]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0

    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "gsl_si"]  # no staging folder left
    shards = sorted(p.name for p in (output / "data").iterdir())
    assert shards == [f"{s}-00000-of-00001.parquet" for s in ("test", "train", "validation")]
    layout = read_landmarks(output)
    assert layout["landmark_set"] == "body_hands" and layout["num_points"] == 75
    assert layout["components"] == ["POSE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
    card = (output / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "config_name: si" in card and "synthetic" in card and "slrzoo" in card

    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load_cache"))
    assert set(dataset) == {"train", "validation", "test"}
    assert all(dataset[split].num_rows == 4 for split in dataset)
    features = dataset["train"].features
    assert features["pose"] == datasets.Array3D(shape=(None, 75, 3), dtype="float32")
    assert features["gloss_spans"] == datasets.List(datasets.List(datasets.Value("int32"), length=2))
    row = dataset["test"].with_format("numpy")[0]
    assert row["id"] == "police1/police1_signer3_rep3_sentences/sentences0000" and row["signer"] == "signer3"
    assert row["pose"].shape == (row["num_frames"], 75, 3) and row["fps"] == 30
    assert row["gloss_spans"].shape == (len(row["gloss"].split()), 2)
    assert dataset_metadata(output)["timing"] == TIMINGS["gsl"].record()  # the default timing, recorded
    assert "Timing: `gsl`" in card

    with pytest.raises(SystemExit):  # an existing output folder is never silently replaced
        main([*argv, "--cache-dir", str(tmp_path / "cache")])
    # A synthetic dataset built before timings existed has no timing in its card: it was signed at the default one.
    readme = output / "README.md"
    readme.write_text(card.replace("timing:\n  name: gsl\n", ""), encoding="utf-8")
    assert "timing" not in DatasetCard.load(readme).data
    assert dataset_metadata(output)["timing"] == TIMINGS["gsl"].record()


def test_conversational_timing_is_recorded_and_its_spans_are_the_renderers(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    output = tmp_path / "si_conversational"
    argv = ["--config", "si", "--timing", "conversational", "--limit", "3", "--output-dir", str(output)]
    assert main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0
    timing = TIMINGS["conversational"]
    card = DatasetCard.load(output / "README.md")
    assert card.data["timing"] == timing.record() == dataset_metadata(output)["timing"]
    text = " ".join(card.text.split())
    sign = {name: f"{getattr(timing.sign, name) * 1000:.0f} ms" for name in ("median", "p10", "p90")}
    assert "**Timing: `conversational`**" in text
    assert f"median {sign['median']} (10th-90th percentile {sign['p10']} to {sign['p90']})" in text
    renderer = SyntheticGSL(timing=timing)
    for split, data in load_pose_splits(output).items():
        for clip, spans, pose in zip(load_split("si", split)[:3], data.gloss_spans, data.poses, strict=True):
            rendered = renderer.clip(clip.id, clip.glosses)
            np.testing.assert_array_equal(spans, rendered.gloss_spans)
            np.testing.assert_array_equal(pose, rendered.pose)


def test_streamed_poses_are_the_rendered_ones_across_batches_and_shards(tmp_path, monkeypatch):
    """Training streams a split's poses (iter_split_poses) instead of holding them: the rows asked for, in order,
    whatever the batch and shard boundaries, each the pose the renderer signed."""
    import pyarrow.parquet as pq

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    output = build_dataset(GSLPosesConfig(name="si", limit=10), tmp_path / "si", cache_dir=tmp_path / "cache")
    renderer, clips = SyntheticGSL(), load_split("si", "train")[:10]
    rows = [0, 2, 3, 8, 9]  # batches of 3 rows: the first, inside, across and the last batch
    streamed = list(iter_split_poses(output, "train", rows, batch_rows=3))
    assert len(streamed) == len(rows)
    for row, pose in zip(rows, streamed, strict=True):
        np.testing.assert_array_equal(pose, renderer.clip(clips[row].id, clips[row].glosses).pose)
    every = list(iter_split_poses(output, "train", batch_rows=4))
    held = load_pose_splits(output, ["train"])["train"].poses
    assert len(every) == len(held) == 10 and all(
        np.array_equal(a, b, equal_nan=True) for a, b in zip(every, held, strict=True)
    )
    with pytest.raises(IndexError, match="row 10 of split 'train'.*it has 10 clips"):
        list(iter_split_poses(output, "train", [9, 10]))

    (shard,) = sorted((output / "data").glob("train-*.parquet"))
    pq.write_table(pq.read_table(shard).drop_columns(["pose"]), shard)
    with pytest.raises(DatasetFolderError, match="has no 'pose' for 10 of the 10 clips of split 'train'"):
        next(iter_split_poses(output, "train"))


def test_timing_bad_options_are_clear_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="Unknown timing 'fast'; valid timings: gsl, conversational"):
        GSLPoses(config_name="si", timing="fast", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="timing 'conversational' needs the synthetic source"):
        GSLPoses(
            config_name="si",
            source="poses",
            poses_dir=str(tmp_path),
            timing="conversational",
            cache_dir=str(tmp_path),
        )
    with pytest.raises(SystemExit):
        main(["--timing", "fast", "--output-dir", str(tmp_path / "out")])
    error = capsys.readouterr().err  # argparse quotes the choices or not, by Python version
    assert "argument --timing: invalid choice: 'fast'" in error and all(name in error for name in TIMINGS)


def test_build_dataset_full_landmarks_and_overwrite(tmp_path):
    output = tmp_path / "full"
    output.mkdir()
    (output / "stale.txt").write_text("old build")
    path = build_dataset(
        GSLPosesConfig(name="sd", landmark_set="full", limit=2, seed=3),
        output,
        cache_dir=tmp_path / "c",
        overwrite=True,
    )
    assert path == output and not (output / "stale.txt").exists()
    assert read_landmarks(output)["num_points"] == HOLISTIC.num_points()
    table = datasets.Dataset.from_parquet(str(output / "data" / "train-00000-of-00001.parquet"))
    assert table.features["pose"].shape == (None, HOLISTIC.num_points(), 3)


def test_recombine_adds_novel_training_sentences_only_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    output = tmp_path / "sd"
    argv = ["--config", "sd", "--limit", "6", "--recombine", "5", "--recombine-method", "bigram"]
    assert main([*argv, "--output-dir", str(output), "--cache-dir", str(tmp_path / "cache")]) == 0
    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load_cache"))
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 11, "validation": 6, "test": 6}
    real = load_split("sd", "train")[:6]
    train = dataset["train"].with_format("numpy")
    assert list(train["id"][:6]) == [clip.id for clip in real]
    recombined = [train[i] for i in range(6, 11)]
    glosses = {gloss for clip in real for gloss in clip.glosses}
    for row in recombined:
        assert row["scenario"] == "recombined" and row["text"] == ""
        assert row["signer"] in {clip.signer for clip in real}
        assert set(row["gloss"].split()) <= glosses
        assert tuple(row["gloss"].split()) not in {clip.glosses for clip in real}
        spans = row["gloss_spans"]
        assert (
            spans.shape == (len(row["gloss"].split()), 2)
            and 0 < spans[0, 0] < spans[-1, 1] < row["num_frames"]
        )
    assert not any(
        "recombined" in split_id for split in ("validation", "test") for split_id in dataset[split]["id"]
    )
    card = DatasetCard.load(output / "README.md").data
    assert card["recombination"] == {"clips": 5, "method": "bigram"}


def test_isolated_signs_join_the_train_split_only(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    output = tmp_path / "sd"
    argv = ["--config", "sd", "--limit", "4", "--recombine", "2", "--isolated-signs", "3"]
    assert main([*argv, "--output-dir", str(output), "--cache-dir", str(tmp_path / "cache")]) == 0
    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load_cache"))
    assert {split: dataset[split].num_rows for split in dataset} == {"train": 9, "validation": 4, "test": 4}
    real = load_split("sd", "train")[:4]
    train = dataset["train"].with_format("numpy")
    assert [train[i]["scenario"] for i in range(4, 9)] == ["recombined"] * 2 + ["isolated"] * 3
    vocabulary = sorted({gloss for clip in real for gloss in clip.glosses})
    for row, gloss in zip((train[i] for i in range(6, 9)), vocabulary, strict=False):
        assert row["gloss"] == gloss and row["gloss_spans"].shape == (1, 2) and row["text"] == ""
    card = DatasetCard.load(output / "README.md")
    assert card.data["recombination"] == {"clips": 2, "method": "random", "isolated_signs": 3}
    assert "3 clips that each sign one training" in card.text
    # what the folder says of itself is what its options say it is (a reuse check compares the two)
    wanted = dataset_provenance(GSLPosesConfig(name="sd", limit=4, recombine=2, isolated_signs=3))
    assert {key: dataset_metadata(output)[key] for key in wanted} == wanted


def test_synthetic_clips_rendered_in_two_processes_are_the_same_dataset(tmp_path, monkeypatch):
    """--num-proc 2 renders each split in two processes (a shard each) and publishes the same clips, in the same
    order, as one process: recombined and isolated clips included, which are listed before the split is cut."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    argv = ["--config", "sd", "--limit", "6", "--recombine", "4", "--isolated-signs", "4"]
    for processes in ("1", "2"):
        output = str(tmp_path / processes)
        assert (
            main([*argv, "--num-proc", processes, "--output-dir", output, "--cache-dir", output + "c"]) == 0
        )
    for split, clips in {"train": 14, "validation": 6, "test": 6}.items():
        assert len(list((tmp_path / "2" / "data").glob(f"{split}-*-of-00002.parquet"))) == 2
        one, two = (load_pose_splits(tmp_path / name, [split])[split] for name in ("1", "2"))
        assert one.ids == two.ids and len(one.ids) == clips and one.glosses == two.glosses
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(one.poses, two.poses, strict=True))
    assert (
        sum(clip_id.startswith("recombined/") for clip_id in two.ids) == 0
    )  # the test split: real sentences
    with pytest.raises(ValueError, match="only synthetic poses are built in several processes"):
        build_dataset(
            GSLPosesConfig(name="si", source="poses", poses_dir=tmp_path), tmp_path / "out", num_proc=2
        )


def test_options_are_one_dataclass_its_folders_strings(tmp_path):
    """build_dataset takes a GSLPosesConfig whole; a Path folder is stored as a string, and the builder made from
    it keeps the named config's version and description."""
    options = GSLPosesConfig(name="sd", source="poses", poses_dir=tmp_path, limit=2)
    assert options.poses_dir == str(tmp_path) and options.options()["poses_dir"] == str(tmp_path)
    own = {"source", "gsl_root", "poses_dir", "pose_cache", "landmark_set", "limit", "seed", "recombine"}
    # its own fields only: name, version and description are datasets' BuilderConfig's
    assert set(options.options()) == own | {"recombine_method", "isolated_signs", "timing"}
    builder = GSLPoses.from_config(options, cache_dir=str(tmp_path / "cache"))
    assert builder.config.poses_dir == str(tmp_path) and builder.config.limit == 2
    assert builder.config.description == GSLPoses.builder_configs["sd"].description
    assert GSLPosesConfig().name == GSLPoses.DEFAULT_CONFIG_NAME == "si"
    with pytest.raises(ValueError, match="Unknown GSL config 'xx'; valid configs: si, sd"):
        build_dataset(GSLPosesConfig(name="xx"), tmp_path / "out")


def test_recombine_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="recombine must be a non-negative number of clips, got -2"):
        GSLPoses(config_name="sd", recombine=-2, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="valid methods: random, bigram"):
        GSLPoses(config_name="sd", recombine=3, recombine_method="unigram", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="recombine needs the synthetic source"):
        GSLPoses(
            config_name="sd", source="poses", poses_dir=str(tmp_path), recombine=3, cache_dir=str(tmp_path)
        )
    with pytest.raises(ValueError, match="isolated_signs needs the synthetic source"):
        GSLPoses(
            config_name="sd",
            source="poses",
            poses_dir=str(tmp_path),
            isolated_signs=3,
            cache_dir=str(tmp_path),
        )
    with pytest.raises(ValueError, match="isolated_signs must be a non-negative number of clips, got -1"):
        GSLPoses(config_name="sd", isolated_signs=-1, cache_dir=str(tmp_path))


def test_failed_build_leaves_no_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder_module.SyntheticGSL, "clip", broken)
    with pytest.raises(datasets.exceptions.DatasetGenerationError):
        build_dataset(GSLPosesConfig(name="si", limit=2), tmp_path / "out", cache_dir=tmp_path / "cache")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


# -- real sources -----------------------------------------------------------------------------------------


def _fake_extraction(frames: int, person: bool = True) -> ExtractedPose:
    rng = np.random.default_rng(frames)
    landmarks = rng.random((frames, HOLISTIC.num_points(), 3), dtype=np.float32)
    if not person:
        landmarks[:] = np.nan
    confidence = np.where(np.isnan(landmarks[..., 0]), 0.0, 1.0).astype(np.float32)
    return ExtractedPose(landmarks, confidence, fps=25.0, width=848, height=480)


@unless_extra("extract", "mediapipe")  # writes a Holistic .pose file
def test_poses_source_reports_missing_unreadable_and_no_person_clips(tmp_path):
    poses = tmp_path / "poses"
    clips = {split: load_split("si", split)[:3] for split in ("train", "validation", "test")}
    for split, rows in clips.items():
        for index, clip in enumerate(rows):
            if (split, index) == ("train", 1):
                continue  # missing
            suffix = ".pose" if (split, index) == ("test", 2) else ".npy"
            pose = _fake_extraction(10 + index, person=(split, index) != ("validation", 0))
            save_extracted(pose, poses / f"{clip.id}{suffix}")
    broken = clips["validation"][2].id
    np.save(poses / f"{broken}.npy", np.zeros((4, 75, 3)))  # not a save_extracted record
    # Files that match no clip: a typo in the name, an upper-case suffix, a stray file; temp files are ours.
    typo = f"{clips['train'][1].id[:-1]}X.npy"
    for name in (typo, f"{clips['train'][1].id}.NPY", "notes.txt"):
        shutil.copy(poses / f"{clips['train'][0].id}.npy", poses / name)
    first = poses / f"{clips['train'][0].id}.npy"
    (first.parent / f".{first.name}.123.abcd.tmp").touch()
    (poses / "extraction_report.json").write_text("{}")  # what dataset_builder.extract leaves there

    output = build_dataset(
        GSLPosesConfig(name="si", source="poses", poses_dir=poses, limit=3),
        tmp_path / "out",
        cache_dir=tmp_path / "cache",
    )
    assert (output / "missing_clips.txt").read_text(encoding="utf-8") == f"train\t{clips['train'][1].id}\n"
    report = json.loads((output / "report.json").read_text(encoding="utf-8"))["splits"]
    full_report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    report = full_report["splits"]
    assert report["train"] == {
        "clips": 3, "missing": 1, "failed": {}, "no_person": 0, "no_person_clips": [], "same_poses": []
    }  # fmt: skip
    assert report["validation"]["no_person_clips"] == [clips["validation"][0].id]
    assert list(report["validation"]["failed"]) == [broken]
    assert "expected a record .npy" in report["validation"]["failed"][broken]
    assert full_report["unmatched_files"] == sorted([typo, f"{clips['train'][1].id}.NPY", "notes.txt"])

    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load_cache"))
    assert [dataset[s].num_rows for s in ("train", "validation", "test")] == [2, 1, 3]  # no person: left out
    row = dataset["test"].with_format("numpy")[2]  # read back from the .pose file
    expected = _fake_extraction(12).landmarks[:, list(range(33)) + list(range(501, 543))]
    np.testing.assert_allclose(row["pose"], expected, rtol=1e-6)
    assert row["fps"] == 25 and len(row["gloss_spans"]) == 0
    assert clips["validation"][0].id not in dataset["validation"]["id"]


def test_missing_source_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="gsl_root '.*nowhere' does not exist"):
        GSLPoses(config_name="si", source="gsl", gsl_root=str(tmp_path / "nowhere"), cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="source 'poses' needs poses_dir"):
        build_dataset(GSLPosesConfig(name="si", source="poses"), tmp_path / "out", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="valid sources: synthetic, gsl, poses"):
        build_dataset(GSLPosesConfig(name="si", source="video"), tmp_path / "out", cache_dir=tmp_path)


@pytest.mark.slow
def test_gsl_source_extracts_videos_and_frame_folders_once(tmp_path, monkeypatch, extract_extra):
    cv2 = extract_extra
    root, cache = tmp_path / "GSL", tmp_path / "pose_cache"
    video_clip, frames_clip, missing_clip = (clip.id for clip in load_split("sd", "test")[:3])
    (root / video_clip).parent.mkdir(parents=True)
    shutil.copy(VIDEO, root / f"{video_clip}.mp4")
    (root / frames_clip).mkdir(parents=True)
    for index in range(3):  # blank frames: nobody there
        cv2.imwrite(str(root / frames_clip / f"frame{index:04d}.jpg"), np.zeros((48, 64, 3), np.uint8))
    for split in ("train", "validation"):  # already extracted by an earlier run: only in the pose cache
        save_extracted(_fake_extraction(5), cache / f"{load_split('sd', split)[0].id}.npy")

    def build(name: str) -> Path:
        return build_dataset(
            GSLPosesConfig(name="sd", source="gsl", gsl_root=root, pose_cache=cache, limit=3),
            tmp_path / name,
            cache_dir=tmp_path / "hf",
        )

    output = build("first")
    assert (cache / f"{video_clip}.npy").is_file() and (cache / f"{frames_clip}.npy").is_file()
    assert f"test\t{missing_clip}\n" in (output / "missing_clips.txt").read_text(encoding="utf-8")
    assert json.loads((output / "report.json").read_text())["splits"]["test"]["no_person_clips"] == [
        frames_clip
    ]
    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load"))
    assert [dataset[s].num_rows for s in ("train", "validation", "test")] == [
        1,
        1,
        1,
    ]  # the blank frame folder (no person) is left out
    video = dataset["test"].with_format("numpy")[0]
    assert video["num_frames"] == 58 and not np.isnan(video["pose"][:, :33]).all()

    def no_extraction(*args, **kwargs):
        raise AssertionError("the pose cache should have been used")

    monkeypatch.setattr("dataset_builder.extract.extract_clip", no_extraction)
    build("second")  # every clip found comes from the pose cache


def test_split_without_any_clip_is_an_error(tmp_path):
    (tmp_path / "GSL").mkdir()
    with pytest.raises(datasets.exceptions.DatasetGenerationError) as error:
        build_dataset(
            GSLPosesConfig(name="si", source="gsl", gsl_root=tmp_path / "GSL", limit=2),
            tmp_path / "out",
            cache_dir=tmp_path / "hf",
        )
    assert "si/train: none of the 2 clips found in" in str(error.value.__cause__)
    assert not (tmp_path / "out").exists()


# -- issue 21: the builder publishes nothing it should not, and says what it found -------------------------------
REAL_POSE = EXAMPLE_POSE


def test_output_path_that_is_a_file_or_under_one_is_refused_untouched(tmp_path, capsys):
    poses = tmp_path / "poses"
    for split in ("train", "validation", "test"):
        target = poses / f"{load_split('si', split)[0].id}.pose"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL_POSE, target)
    users_file = tmp_path / "afile"
    users_file.write_text("the user's own file")
    command = [
        "--source",
        "poses",
        "--poses-dir",
        str(poses),
        "--limit",
        "1",
        "--cache-dir",
        str(tmp_path / "hf"),
    ]
    for output, row in (
        (users_file, "build: --overwrite onto a file"),
        (users_file / "out", "build: output under a file"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main([*command, "--overwrite", "--output-dir", str(output)])
        assert exit_info.value.code == 2
        shown(row, capsys.readouterr().err)
    assert users_file.read_text() == "the user's own file"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_same_poses_under_two_ids_and_a_clip_with_two_files_are_reported(tmp_path, caplog):
    """The real .pose copied to the first train, validation and test clip: kept, but named in report.json, the
    log and the card. A plain .npy beside the train clip's .pose: the clip is read from the .pose, not lost."""
    ids = {split: load_split("si", split)[0].id for split in ("train", "validation", "test")}
    poses = tmp_path / "poses"
    for clip_id in ids.values():
        (poses / clip_id).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL_POSE, poses / f"{clip_id}.pose")
    np.save(poses / f"{ids['train']}.npy", np.zeros((5, 543, 3)))  # a plain array, not an extract record
    with caplog.at_level(logging.WARNING):
        output = build_dataset(
            GSLPosesConfig(name="si", source="poses", poses_dir=poses, limit=1),
            tmp_path / "out",
            cache_dir=tmp_path / "hf",
        )

    report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    same_as_train = f"train: {ids['train']}"
    for split in ("validation", "test"):
        assert report["splits"][split]["same_poses"] == [{"id": ids[split], "same_as": same_as_train}]
    shown("build: a test clip also in train", caplog.text)
    files = report["several_files"][ids["train"]]
    assert (
        files["used"].endswith(".pose")
        and "expected a record .npy" in files["not_used"][f"{Path(ids['train']).name}.npy"]
    )
    card = (output / "README.md").read_text(encoding="utf-8")
    assert f"| test | `{ids['test']}` | `{same_as_train}` |" in card
    wanted = dataset_provenance(GSLPosesConfig(name="si", source="poses", poses_dir=poses, limit=1))
    assert {key: dataset_metadata(output)[key] for key in wanted} == wanted  # no recombination, no timing
    assert "Clips with several pose files (1)" in card

    dataset = datasets.load_dataset(str(output), cache_dir=str(tmp_path / "load")).with_format("numpy")
    assert [dataset[split]["id"][0] for split in ("train", "validation", "test")] == list(ids.values())
    np.testing.assert_array_equal(dataset["train"][0]["pose"], dataset["test"][0]["pose"])
