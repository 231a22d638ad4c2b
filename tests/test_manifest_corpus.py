"""Your own corpus with gloss times, end to end: a synthetic corpus written through pose-format in reduced-Holistic
layout (``dataset_builder.synthetic_manifest``), its true gloss times in the manifest, built, trained on, interpreted
with gold spans, assembled as a Hub folder and served by the pipeline; PHOENIX-2014T's annotation files by options
alone; every bad gloss time named.

Known answers: the renderer's own gloss spans (``SyntheticGSL.clip``), the files' frame counts, the manifest's rows.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent
from transformers import pipeline

from dataset_builder import EXAMPLE_POSE, build
from dataset_builder.gsl import load_split
from dataset_builder.loading import DatasetFolderError, load_pose_splits, read_landmarks, split_sizes
from dataset_builder.manifest import ManifestOptions, build_manifest_dataset
from dataset_builder.synthetic import SyntheticGSL
from dataset_builder.synthetic_manifest import write_corpus
from modeling_signattention import TASK, SignLanguageTranslationPipeline
from modeling_signattention.interpretability.matching import normalise_sentence

CLIPS = (24, 8, 8)  # train, validation, test


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first clips of each SI split as reduced-Holistic ``.pose`` files + ``manifest.csv`` (times in ms)."""
    return write_corpus(tmp_path_factory.mktemp("corpus"), CLIPS, "holistic_reduced").parent


def true_spans() -> dict[str, np.ndarray]:
    """Clip id -> the renderer's [start, end) frames of each gloss, rendered again here."""
    renderer = SyntheticGSL(landmark_set="body_hands")
    return {
        clip.id.replace("/", "_"): renderer.clip(clip.id, clip.glosses).gloss_spans
        for split, count in zip(("train", "validation", "test"), CLIPS, strict=True)
        for clip in load_split("si", split)[:count]
    }


def read_rows(manifest: Path) -> list[dict[str, str]]:
    with open(manifest, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_gloss_times_in_ms_and_in_frames_give_the_true_gold_spans(corpus: Path, tmp_path: Path) -> None:
    """The written manifest (ms, CSV, no pose column: ``<id>.pose``) and the same times in frames (JSON Lines, lists)
    build the same ``gloss_spans``: the renderer's."""
    rows = read_rows(corpus / "manifest.csv")
    frames = tmp_path / "frames.jsonl"
    with open(frames, "w", encoding="utf-8") as handle:
        for row in rows:
            fps = float(row["fps"])
            times = {
                name: [round(float(time) * fps / 1000) for time in row[name].split()]
                for name in ("gloss_start", "gloss_end")
            }
            handle.write(json.dumps({**row, "fps": None, **times}, ensure_ascii=False) + "\n")
    built = {}
    for name, manifest, unit in (("ms", corpus / "manifest.csv", "ms"), ("frames", frames, "frames")):
        options = ManifestOptions(
            manifest=str(manifest),
            poses_dir=str(corpus / "poses"),
            layout="holistic_reduced",
            time_unit=unit,
            split_names={"dev": "validation"},
        )
        built[name] = load_pose_splits(
            build_manifest_dataset(options, tmp_path / name, cache_dir=tmp_path / "cache")
        )
    truth = true_spans()
    for split in ("train", "validation", "test"):
        ms, in_frames = built["ms"][split], built["frames"][split]
        assert ms.ids == in_frames.ids and len(ms.ids) == CLIPS[("train", "validation", "test").index(split)]
        for clip_id, a, b in zip(ms.ids, ms.gloss_spans, in_frames.gloss_spans, strict=True):
            np.testing.assert_array_equal(a, truth[clip_id])
            np.testing.assert_array_equal(b, truth[clip_id])
    first = built["ms"]["train"]
    assert first.poses[0].shape[1:] == (50, 3)  # 8 body + 21 + 21 hand points of the reduced layout
    assert first.glosses[0] == rows[0]["gloss"] and first.texts[0] == rows[0]["text"]


def test_bad_gloss_times_are_named_or_skipped_and_listed(corpus: Path, tmp_path: Path) -> None:
    """Every bad row of the issue, skipped and listed with its line and reason; the default stops at the first.
    (A pose file missing, unreadable or in another layout: tests/test_manifest.py.)"""
    rows = [{**row, "pose": f"{row['id']}.pose"} for row in read_rows(corpus / "manifest.csv")]
    good = {split: next(row for row in rows if row["split"] == split) for split in ("train", "dev", "test")}
    clip = good["train"]
    frames = Pose.read((corpus / "poses" / f"{clip['id']}.pose").read_bytes()).body.data.shape[0]
    no_fps = Pose.read((corpus / "poses" / f"{clip['id']}.pose").read_bytes())
    no_fps.body.fps = 0
    with open(tmp_path / "no_fps.pose", "wb") as file:
        no_fps.write(file)
    three_d = Pose.read(
        (corpus / "poses" / f"{clip['id']}.pose").read_bytes()
    )  # the same clip in 2D: x, y only
    header = three_d.header  # pose-format caches headers it read: build a new one, never change it
    components = [PoseHeaderComponent(c.name, c.points, c.limbs, c.colors, "XYC") for c in header.components]
    body = NumPyPoseBody(three_d.body.fps, three_d.body.data[..., :2], three_d.body.confidence)
    with open(tmp_path / "flat.pose", "wb") as file:
        Pose(PoseHeader(header.version, header.dimensions, components), body).write(file)
    shutil.copytree(corpus / "poses", tmp_path / "poses")
    for name in ("no_fps.pose", "flat.pose"):
        shutil.move(tmp_path / name, tmp_path / "poses" / name)
    past = f"{(frames + 3) * 1000 / 30:.3f}"
    bad = [
        {**clip, "id": "count", "gloss_start": "0", "gloss_end": "100"},  # 1 time, 4 glosses
        {**clip, "id": "overlap", "gloss": "A B", "gloss_start": "0 100", "gloss_end": "200 300"},
        {**clip, "id": "past", "gloss": "A", "gloss_start": "0", "gloss_end": past},
        {
            **clip,
            "id": "no_fps",
            "pose": "no_fps.pose",
            "fps": "",
            "gloss": "A",
            "gloss_start": "0",
            "gloss_end": "100",
        },
        {**clip, "id": clip["id"]},  # a duplicate id
        {**clip, "id": "empty", "gloss": "", "text": "", "gloss_start": "", "gloss_end": ""},
        {**clip, "id": "holdout", "split": "holdout"},
        {**clip, "id": "half", "gloss_end": ""},
        {**clip, "id": "flat", "pose": "flat.pose"},
    ]
    manifest = tmp_path / "clips.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*good.values(), *bad])
    options = dict(
        manifest=str(manifest),
        poses_dir=str(tmp_path / "poses"),
        layout="holistic_reduced",
        split_names={"dev": "validation"},
    )
    output = build_manifest_dataset(
        ManifestOptions(**options, on_bad_row="skip"), tmp_path / "out", cache_dir=tmp_path / "cache"
    )
    report = json.loads((output / "report.json").read_text(encoding="utf-8"))
    reasons = {row["id"]: row["reason"] for row in report["bad_rows"]}
    assert [row["line"] for row in report["bad_rows"]] == list(range(5, 14))
    assert reasons["count"] == f"1 gloss_start and 1 gloss_end times for 4 glosses ({clip['gloss']!r})"
    assert (
        reasons["overlap"]
        == "gloss 2 (B) starts at 100 ms, before gloss 1 (A) ends at 200 ms: gloss times overlap"
    )
    assert (
        reasons["past"]
        == f"gloss 1 ends at {float(past):g} ms = frame {frames + 3}, past the clip's {frames} frames (30 fps)"
    )
    assert (
        reasons["no_fps"].startswith("times in ms need an fps: ")
        and "no_fps.pose has none" in reasons["no_fps"]
    )
    assert reasons[clip["id"]] == "id {!r} repeats line 2".format(clip["id"])
    assert reasons["empty"] == "no target: gloss and text are both empty"
    assert reasons["holdout"].startswith("split 'holdout' is none of train, validation, test")
    assert reasons["half"] == "gloss_end is empty but gloss_start is not"
    assert reasons["flat"].endswith(
        "flat.pose holds 2 coordinates per point; the layout 'holistic_reduced' has 3 (x, y, z)"
    )
    assert report["splits"] == {"train": 1, "validation": 1, "test": 1} and report["corpus"] == "clips.csv"

    with pytest.raises(ValueError, match=rf"{manifest}, line 5: 1 gloss_start and 1 gloss_end times for 4"):
        build_manifest_dataset(ManifestOptions(**options), tmp_path / "stopped", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "stopped").exists()


def test_phoenix_annotation_files_by_options_alone(corpus: Path, tmp_path: Path) -> None:
    """PHOENIX-2014T's ``name|video|start|end|speaker|orth|translation``, one file per split (the split in the file
    name), through ``python -m dataset_builder.build --manifest``: its start / end (-1) and video columns are not
    ours, its pose files are ``<name>.pose``."""
    rows = read_rows(corpus / "manifest.csv")
    files = []
    for split in ("train", "dev", "test"):
        path = tmp_path / f"PHOENIX-2014-T.{split}.corpus.csv"
        lines = ["name|video|start|end|speaker|orth|translation"] + [
            f"{row['id']}|{split}/{row['id']}/1/*.png|-1|-1|{row['signer']}|{row['gloss']}|{row['text']}"
            for row in rows
            if row["split"] == split
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    argv = ["--manifest", *files, "--poses-dir", str(corpus / "poses"), "--output-dir", str(tmp_path / "out")]
    argv += [
        "--delimiter",
        "|",
        "--column",
        "id=name",
        "--column",
        "gloss=orth",
        "--column",
        "text=translation",
    ]
    argv += ["--column", "signer=speaker", "--split-name", "dev=validation", "--layout", "holistic_reduced"]
    argv += ["--cache-dir", str(tmp_path / "cache")]
    assert build.main(argv) == 0
    splits = load_pose_splits(tmp_path / "out")
    for split, name in (("train", "train"), ("validation", "dev"), ("test", "test")):
        expected = [row for row in rows if row["split"] == name]
        assert splits[split].ids == [row["id"] for row in expected]
        assert splits[split].glosses == [row["gloss"] for row in expected]
        assert splits[split].texts == [row["text"] for row in expected]
        assert all(len(spans) == 0 for spans in splits[split].gloss_spans)  # PHOENIX has no gloss times
    assert read_landmarks(tmp_path / "out")["layout"] == "holistic_reduced"

    # a corpus with only some splits: the dev file alone builds a dataset of its validation split
    argv[1:4] = [files[1]]
    argv[argv.index("--output-dir") + 1] = str(tmp_path / "dev_only")
    assert build.main(argv) == 0
    assert split_sizes(tmp_path / "dev_only") == {"validation": len(splits["validation"].ids)}
    with pytest.raises(DatasetFolderError, match=r"has no split \['train'\]; it has \['validation'\]"):
        load_pose_splits(tmp_path / "dev_only", ["train"])


def test_quick_main_job_on_a_reduced_holistic_manifest_corpus(corpus: Path, tmp_path: Path) -> None:
    """``reproduce --quick --manifest --poses-dir`` on the reduced-Holistic corpus: the model's layout is recorded,
    interpretability.json has gold-span scores and memorization, the Hub folder's card names the corpus, and the
    pipeline loaded from that folder reads a clip of the corpus and refuses another layout naming both."""
    from hub_scripts import push_to_hub, reproduce

    output = tmp_path / "run"
    argv = ["--quick", "--manifest", str(corpus / "manifest.csv"), "--poses-dir", str(corpus / "poses")]
    argv += ["--layout", "holistic_reduced", "--split-name", "dev=validation", "--methods", "attention"]
    assert reproduce.main([*argv, "--output-dir", str(output)]) == 0
    run = output / "manifest"
    config = json.loads((run / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["layout"] == "holistic_reduced" and config["num_coordinates"] == 3

    scores = json.loads((output / "interpretability.json").read_text(encoding="utf-8"))
    rows = read_rows(corpus / "manifest.csv")
    test_rows = [row for row in rows if row["split"] == "test"]
    attention = scores["attribution"]["attention"]
    assert attention["num_clips"] + scores["num_too_short"] + scores["num_empty_predictions"] == len(
        test_rows
    )
    assert attention["num_gold_glosses"] > 0 and 0 <= attention["gold_peak_accuracy"] <= 1
    assert 0 <= scores["baselines"]["diagonal_prior"]["gold_peak_accuracy"] <= 1
    train = {normalise_sentence(row["gloss"]) for row in rows if row["split"] == "train"}
    seen = sum(normalise_sentence(row["gloss"]) in train for row in test_rows)
    assert scores["memorization"]["num_seen_clips"] == seen and scores["memorization"]["num_clips"] == len(
        test_rows
    )

    folder = tmp_path / "hub"
    argv = [
        "--model-dir",
        str(run / "model"),
        "--repo-id",
        "me/mine",
        "--dry-run",
        "--local-dir",
        str(folder),
    ]
    assert push_to_hub.main(argv) == 0
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert "the sign language of **manifest.csv**" in card and "the corpus of `manifest.csv`" in card
    assert "holistic_reduced pose layout" in card
    assert json.loads((folder / "interpretability.json").read_text())["attribution"]["attention"][
        "num_gold_glosses"
    ]

    translate = pipeline(TASK, model=str(folder), pipeline_class=SignLanguageTranslationPipeline)
    clip = corpus / "poses" / f"{test_rows[0]['id']}.pose"
    result = translate(str(clip))
    assert result["num_frames"] == Pose.read(clip.read_bytes()).body.data.shape[0]
    assert set(result["glosses"].split()) <= set(translate.tokenizer.get_vocab())
    assert translate(str(EXAMPLE_POSE))["num_frames"] == 97  # full Holistic: picked by name
    with pytest.raises(
        ValueError, match=r"pose layout 'openpose_body25'.*not the expected layout 'holistic_reduced'"
    ):
        translate(str(openpose_pose(tmp_path)))


def openpose_pose(folder: Path) -> Path:
    """A two-frame ``.pose`` of OpenPose BODY_25 + face + hands, written by pose-format from OpenPose JSON frames."""
    from pose_format.utils.openpose import load_openpose_directory

    frames = folder / "openpose"
    frames.mkdir()
    parts = {"pose_keypoints_2d": 25, "face_keypoints_2d": 70, "hand_left_keypoints_2d": 21}
    parts["hand_right_keypoints_2d"] = 21
    person = {name: [100.0, 200.0, 0.9] * count for name, count in parts.items()}
    for frame in range(2):
        (frames / f"clip_{frame:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [person]})
        )
    path = folder / "openpose.pose"
    with open(path, "wb") as file:
        load_openpose_directory(str(frames), fps=25, width=640, height=480).write(file)
    return path


# OpenPose BODY_25 point -> the MediaPipe Holistic body point at the same place on the body
OPENPOSE_FROM_HOLISTIC = {0: 0, 2: 12, 3: 14, 4: 16, 5: 11, 6: 13, 7: 15, 9: 24, 12: 23}
REDUCED_FROM_HOLISTIC = [11, 12, 13, 14, 15, 16, 23, 24]  # reduce_holistic's 8 body points, in its order


def test_one_clip_in_three_layouts_gives_the_same_body_and_hand_features(tmp_path: Path) -> None:
    """The real Holistic clip (3D), the same clip reduced by pose-format's ``reduce_holistic`` (3D) and the same
    points written as OpenPose JSON frames read by pose-format (2D): each model's feature extractor (normalized on
    the shoulders) gives the same features wherever the layouts hold the same point; x / y only for OpenPose."""
    from pose_format.utils.generic import reduce_holistic
    from pose_format.utils.openpose import load_openpose_directory

    from modeling_signattention import SignAttentionFeatureExtractor

    full = Pose.read(EXAMPLE_POSE.read_bytes())
    width, height = full.header.dimensions.width, full.header.dimensions.height
    raw = np.ma.getdata(full.body.data[:, 0]).astype(np.float64)
    confidence = full.body.confidence[:, 0] * ~np.ma.getmaskarray(full.body.data[:, 0]).any(-1)
    frames = tmp_path / "openpose"
    frames.mkdir()

    def keypoints(frame: int, indices: list[int | None]) -> list[float]:
        """OpenPose's x, y, confidence triples of these raw Holistic points (None, or not detected: zeros)."""
        return [
            value
            for index in indices
            for value in (
                (0.0, 0.0, 0.0)
                if index is None or confidence[frame, index] == 0
                else (*raw[frame, index, :2], 1.0)
            )
        ]

    for frame in range(len(raw)):
        person = {
            "pose_keypoints_2d": keypoints(frame, [OPENPOSE_FROM_HOLISTIC.get(i) for i in range(25)]),
            "face_keypoints_2d": keypoints(frame, [None] * 70),
            "hand_left_keypoints_2d": keypoints(frame, list(range(501, 522))),
            "hand_right_keypoints_2d": keypoints(frame, list(range(522, 543))),
        }
        (frames / f"clip_{frame:012d}_keypoints.json").write_text(json.dumps({"people": [person]}))
    openpose = load_openpose_directory(str(frames), fps=25, width=width, height=height)

    def features(layout: str, pose: Pose, points: int, coordinates: int) -> np.ndarray:
        extractor = SignAttentionFeatureExtractor(layout=layout, sample_rate=1)
        return extractor(pose)["input_features"][0].numpy().reshape(len(raw), points, coordinates)

    holistic = features("holistic", full, 75, 3)
    reduced = features("holistic_reduced", reduce_holistic(full), 50, 3)
    from_openpose = features("openpose_body25", openpose, 67, 2)
    assert np.abs(holistic).max() > 0.1  # real, varying features
    np.testing.assert_allclose(reduced[:, :8], holistic[:, REDUCED_FROM_HOLISTIC], atol=1e-5)
    np.testing.assert_allclose(reduced[:, 8:], holistic[:, 33:], atol=1e-5)
    body = sorted(OPENPOSE_FROM_HOLISTIC)
    np.testing.assert_allclose(
        from_openpose[:, body], holistic[:, [OPENPOSE_FROM_HOLISTIC[i] for i in body], :2], atol=1e-4
    )
    np.testing.assert_allclose(from_openpose[:, 25:], holistic[:, 33:, :2], atol=1e-4)
    # and a reduced-Holistic model reads the full file by point name: the same features as from the reduced file
    np.testing.assert_allclose(features("holistic_reduced", full, 50, 3), reduced, atol=1e-6)


def test_plain_npy_in_a_declared_layout_and_empty_files(tmp_path: Path) -> None:
    """A ``.npy`` array holding every point of the declared layout (its fps from the row) gives its body and hands;
    an empty ``.pose`` file, a clip of no frame and an array of another shape are bad rows naming the file."""
    rng = np.random.default_rng(1)
    array = rng.uniform(0, 1, (6, 178, 3)).astype(np.float32)  # holistic_reduced: 8 + 128 + 21 + 21 points
    array[2, 140] = np.nan  # a left-hand point not detected
    np.save(tmp_path / "a.npy", array)
    np.save(tmp_path / "none.npy", array[:0])
    np.save(tmp_path / "wrong.npy", array[:, :50])
    (tmp_path / "empty.pose").write_bytes(b"")
    rows = [
        ["a", "train", "a.npy", "A B", "50", "0 40", "40 120"],
        ["b", "validation", "a.npy", "A", "50", "", ""],
        ["c", "test", "a.npy", "B", "50", "", ""],
        ["d", "test", "empty.pose", "B", "", "", ""],
        ["e", "test", "none.npy", "B", "50", "", ""],
        ["f", "test", "wrong.npy", "B", "50", "", ""],
    ]
    manifest = tmp_path / "clips.csv"
    header = ["id", "split", "pose", "gloss", "fps", "gloss_start", "gloss_end"]
    manifest.write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n", encoding="utf-8")
    options = ManifestOptions(manifest=str(manifest), layout="holistic_reduced", on_bad_row="skip")
    output = build_manifest_dataset(options, tmp_path / "out", cache_dir=tmp_path / "cache")
    train = load_pose_splits(output)["train"]
    expected = np.concatenate([array[:, :8], array[:, 136:]], axis=1)  # body 8, then hands 21 + 21
    np.testing.assert_array_equal(train.poses[0], expected)
    np.testing.assert_array_equal(train.gloss_spans[0], [[0, 2], [2, 6]])  # 40 ms = 2 frames at 50 fps
    reasons = {
        row["id"]: row["reason"] for row in json.loads((output / "report.json").read_text())["bad_rows"]
    }
    assert reasons["d"].startswith(f"{tmp_path / 'empty.pose'}: unreadable")
    assert reasons["e"] == f"{tmp_path / 'none.npy'} holds no frame"
    assert reasons["f"].startswith(
        f"{tmp_path / 'wrong.npy'}: a plain array of shape (6, 50, 3), not (frames, 178, 3)"
    )


def test_how2sign_openpose_folders_by_options_alone(tmp_path: Path) -> None:
    """How2Sign's realigned TSVs (tab-separated, ``.csv``, the split in the file name, ``val``) and its OpenPose
    JSON folder per sentence, named like the sentence: one column serves as both id and pose folder."""
    header = "VIDEO_ID\tVIDEO_NAME\tSENTENCE_ID\tSENTENCE_NAME\tSTART_REALIGNED\tEND_REALIGNED\tSENTENCE"
    files, frames = [], {}
    for split, count in (("train", 2), ("val", 1), ("test", 1)):
        lines = [header]
        for index in range(count):
            name = f"{split}{index}_0-1-rgb_front"
            frames[name] = 2 + index
            openpose = tmp_path / "keypoints" / name
            openpose.mkdir(parents=True)
            for frame in range(frames[name]):
                person = {
                    "pose_keypoints_2d": [640.0, 360.0, 0.9] * 25,
                    "face_keypoints_2d": [0.0, 0.0, 0.0] * 70,
                    "hand_left_keypoints_2d": [100.0 + frame, 200.0, 0.8] * 21,
                    "hand_right_keypoints_2d": [300.0, 400.0, 0.7] * 21,
                }
                (openpose / f"{name}_{frame:012d}_keypoints.json").write_text(
                    json.dumps({"people": [person]})
                )
            lines.append(f"v{index}\t{name[:-2]}\ts{index}\t{name}\t1.5\t3.0\tsentence {split} {index}")
        path = tmp_path / f"how2sign_realigned_{split}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(path))
    argv = ["--manifest", *files, "--poses-dir", str(tmp_path / "keypoints"), "--delimiter", "tab"]
    argv += ["--column", "id=SENTENCE_NAME", "--column", "pose=SENTENCE_NAME", "--column", "text=SENTENCE"]
    argv += ["--split-name", "val=validation", "--layout", "openpose_body25", "--fps", "24"]
    argv += ["--width", "1280", "--height", "720", "--output-dir", str(tmp_path / "out")]
    assert build.main([*argv, "--cache-dir", str(tmp_path / "cache")]) == 0
    splits = load_pose_splits(tmp_path / "out")
    assert splits["validation"].texts == ["sentence val 0"] and splits["train"].ids == [
        "train0_0-1-rgb_front",
        "train1_0-1-rgb_front",
    ]
    second = splits["train"].poses[1]
    assert second.shape == (3, 67, 2)
    np.testing.assert_allclose(
        second[:, 25, 0], [100 / 1280, 101 / 1280, 102 / 1280], rtol=1e-6
    )  # left hand x
    np.testing.assert_allclose(second[:, 0], np.tile([0.5, 0.5], (3, 1)))
