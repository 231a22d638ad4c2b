"""Training: a short run on a small synthetic subset learns, saves a Hub-ready folder that reloads and translates,
resumes from its checkpoint, and fine-tunes on new glosses without moving the old ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from bad_input_table import shown
from transformers import AutoFeatureExtractor, AutoModelForSeq2SeqLM, AutoTokenizer

from dataset_builder.build import build_dataset
from dataset_builder.gsl_poses import GSLPosesConfig
from dataset_builder.loading import load_pose_splits
from hub_scripts.train import RunFolderError, TrainOptions, build_model, build_tokenizer, train

CLIPS_PER_SPLIT = 48
NEW_GLOSSES = "ΝΕΟ_ΝΟΗΜΑ_Α ΝΕΟ_ΝΟΗΜΑ_Β"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(
        GSLPosesConfig(name="si", limit=CLIPS_PER_SPLIT), tmp_path_factory.mktemp("data") / "si"
    )


def small_run(dataset_dir: Path, output_dir: Path, **overrides) -> TrainOptions:
    """Batches of 8 so that a few epochs make enough steps for the loss to move; no bars in test logs."""
    settings = {"epochs": 4, "batch_size": 8, "logging_steps": 4, "patience": 10, "progress": False}
    return TrainOptions(dataset_dir=dataset_dir, output_dir=output_dir, **{**settings, **overrides})


@pytest.fixture(scope="module")
def trained_run(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run_dir = tmp_path_factory.mktemp("run")
    results = train(small_run(dataset_dir, run_dir))
    return run_dir, results


def test_loss_falls_and_results_are_written(trained_run):
    run_dir, results = trained_run
    history = json.loads((run_dir / "training_log.json").read_text(encoding="utf-8"))["log_history"]
    losses = [entry["loss"] for entry in history if "loss" in entry]
    assert losses[-1] < losses[0]
    assert [entry["epoch"] for entry in history if "eval_wer" in entry] == [1, 2, 3, 4]

    saved = json.loads((run_dir / "model" / "eval_results.json").read_text(encoding="utf-8"))
    assert saved == results
    assert saved["data_source"] == "synthetic" and saved["config"] == "si" and saved["split"] == "test"
    assert saved["output_mode"] == "gloss" and saved["num_sentences"] == CLIPS_PER_SPLIT
    assert saved["hits"] + saved["substitutions"] + saved["deletions"] == saved["num_reference_words"]
    assert saved["wer"] == pytest.approx(
        (saved["substitutions"] + saved["deletions"] + saved["insertions"]) / saved["num_reference_words"]
    )


def test_saved_folder_is_hub_ready_and_translates(trained_run, dataset_dir):
    model_dir = trained_run[0] / "model"
    for name in (
        "model.safetensors",
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "preprocessor_config.json",
    ):
        assert (model_dir / name).is_file(), name
    assert not list(model_dir.glob("checkpoint-*")), "checkpoints must stay out of the model folder"
    assert list((trained_run[0] / "checkpoints").glob("checkpoint-*"))
    assert list((trained_run[0] / "tensorboard").rglob("events.out.tfevents.*"))

    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    feature_extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    assert model.config.output_mode == "gloss" and model.config.vocab_size == len(tokenizer)
    pose = load_pose_splits(dataset_dir, ["test"])["test"].poses[0]
    generated = model.generate(**feature_extractor([pose]))
    assert generated.shape[0] == 1 and generated.shape[1] <= model.config.max_target_positions
    assert generated[0, 0].item() == model.config.decoder_start_token_id


def test_resume_continues_from_the_last_checkpoint(trained_run, dataset_dir):
    run_dir, _ = trained_run
    results = train(small_run(dataset_dir, run_dir, epochs=5, resume=True))
    history = json.loads((run_dir / "training_log.json").read_text(encoding="utf-8"))["log_history"]
    assert results["epochs_trained"] == 5
    assert [entry["epoch"] for entry in history if "eval_wer" in entry] == [1, 2, 3, 4, 5]


def test_resume_without_checkpoint_is_a_clear_error(dataset_dir, tmp_path):
    with pytest.raises(RunFolderError, match="no checkpoint"):
        train(small_run(dataset_dir, tmp_path, resume=True))


def test_fine_tuning_grows_the_vocabulary_and_keeps_old_glosses(trained_run, dataset_dir, tmp_path):
    model_dir = trained_run[0] / "model"
    old_tokenizer = AutoTokenizer.from_pretrained(model_dir)
    old_model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    old_vocab = old_tokenizer.get_vocab()
    targets = load_pose_splits(dataset_dir, ["train"])["train"].glosses + [NEW_GLOSSES]

    tokenizer = build_tokenizer(targets, init_from=model_dir)
    assert len(tokenizer) == len(old_vocab) + 2
    assert {token: tokenizer.get_vocab()[token] for token in old_vocab} == old_vocab
    model, _ = build_model(small_run(dataset_dir, tmp_path, init_from=model_dir), tokenizer, "holistic")
    assert model.config.vocab_size == len(tokenizer)
    embedding, head = model.get_input_embeddings(), model.get_output_embeddings()
    assert embedding.weight.shape[0] == head.weight.shape[0] == head.bias.shape[0] == len(tokenizer)
    old = len(old_vocab)
    torch.testing.assert_close(embedding.weight[:old], old_model.get_input_embeddings().weight)
    torch.testing.assert_close(head.weight[:old], old_model.lm_head.weight)
    torch.testing.assert_close(head.bias[:old], old_model.lm_head.bias)


def test_fine_tuning_run_saves_the_grown_vocabulary(trained_run, dataset_dir, tmp_path):
    model_dir = trained_run[0] / "model"
    old_vocab = AutoTokenizer.from_pretrained(model_dir).get_vocab()
    results = train(small_run(dataset_dir, tmp_path, epochs=1, init_from=model_dir, output_mode="text"))
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "model")
    vocab = tokenizer.get_vocab()
    assert len(vocab) > len(old_vocab)  # Greek words are new to a gloss model
    assert {token: vocab[token] for token in old_vocab} == old_vocab
    assert {"bleu", "chrf"} <= results.keys()
    assert AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "model").config.vocab_size == len(vocab)


def test_pose_collator_pads_frames_and_labels():
    from hub_scripts.train import PoseCollator, PoseSeq2SeqDataset
    from modeling_signattention import SignAttentionFeatureExtractor

    extractor = SignAttentionFeatureExtractor()
    poses = [np.random.rand(30, 75, 3).astype(np.float32), np.random.rand(61, 75, 3).astype(np.float32)]
    poses[0][3] = np.nan  # a lost frame becomes zeros, not NaN
    dataset = PoseSeq2SeqDataset(poses, [[5, 3], [5, 6, 7, 3]], augment=True, feature_extractor=extractor)
    batch = PoseCollator(extractor, seed=0)([dataset[0], dataset[1]])
    assert batch["input_features"].shape == (2, 21, 225)
    assert batch["attention_mask"].sum(1).tolist() == [10, 21]
    assert not torch.isnan(batch["input_features"]).any()
    assert batch["labels"].tolist() == [[5, 3, -100, -100], [5, 6, 7, 3]]
    # Clips preprocessed once give exactly the batch the extractor makes from the raw poses with the same seed.
    seed = int(np.random.default_rng(0).integers(2**32))
    expected = extractor(poses, training=True, seed=seed)
    assert torch.equal(batch["input_features"], expected["input_features"])
    assert torch.equal(batch["attention_mask"], expected["attention_mask"])
    # --clip-dtype float16 holds half the bytes and gives float32 batches equal to float16 rounding.
    half = PoseSeq2SeqDataset(poses, dataset.labels, True, extractor, dtype="float16")
    assert sum(c.nbytes for c in half.clips) * 2 == sum(c.nbytes for c in dataset.clips)
    half_batch = PoseCollator(extractor, seed=0)([half[0], half[1]])["input_features"]
    assert half_batch.dtype == torch.float32 and not torch.equal(half_batch, batch["input_features"])
    torch.testing.assert_close(half_batch, batch["input_features"], rtol=1e-3, atol=1e-3)


def test_training_runs_on_the_threads_asked_and_gives_the_callers_back(dataset_dir, tmp_path, monkeypatch):
    """Every forward pass of the run (training, validation, test decoding) sees ``threads`` intra-op threads, and the
    caller's setting is back afterwards (reproduce goes on to interpretation with its own)."""
    import hub_scripts.train as train_module

    seen: set[int] = set()
    build_model_of_run = train_module.build_model

    def build_model_recording_threads(*args, **kwargs):
        model, feature_extractor = build_model_of_run(*args, **kwargs)
        model.register_forward_pre_hook(lambda *_: seen.add(torch.get_num_threads()))
        return model, feature_extractor

    monkeypatch.setattr(train_module, "build_model", build_model_recording_threads)
    callers = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(small_run(dataset_dir, tmp_path, epochs=1, threads=1))
        assert seen == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(callers)


def test_missing_dataset_dir_is_a_clear_cli_error(tmp_path, capsys):
    from hub_scripts.train import parse_args

    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--dataset-dir", str(tmp_path / "nonexistent"), "--output-dir", str(tmp_path / "run")])
    assert exit_info.value.code == 2
    assert f"no dataset at {tmp_path / 'nonexistent'}" in capsys.readouterr().err


def test_model_config_on_the_command_line_builds_that_model(dataset_dir, tmp_path):
    from hub_scripts.train import parse_args
    from modeling_signattention.modeling_signattention import SignAttentionEncoderLayer

    options = parse_args(
        ["--dataset-dir", str(dataset_dir), "--output-dir", str(tmp_path)]
        + ["--model-config", '{"encoder_layers": 2, "ffn_dim": 64}']
    )
    assert options.model_config == {"encoder_layers": 2, "ffn_dim": 64}
    model, _ = build_model(options, build_tokenizer(["ΕΓΩ ΕΣΥ"], None), "holistic")
    assert sum(isinstance(module, SignAttentionEncoderLayer) for module in model.modules()) == 2
    assert model.config.ffn_dim == 64 and model.config.d_model == options.d_model


@pytest.mark.parametrize(
    ("model_config", "message"),
    [
        ({"vocab_size": 9}, "--model-config: vocab_size cannot be set there"),
        ({"d_model": 32}, "--model-config: d_model cannot be set there (d_model and dropout have their own"),
        ({"encoder_layer": 2}, "--model-config: encoder_layer cannot be set there"),
    ],
)
def test_model_config_refuses_what_it_cannot_set_before_reading_data(model_config, message, tmp_path):
    from hub_scripts.train import ModelConfig

    options = TrainOptions(tmp_path / "no_dataset", tmp_path / "run", model_config=ModelConfig(model_config))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        train(options)
    if "vocab_size" in model_config:
        shown("train: --model-config field it cannot set", str(error.value))


# the test split's long clips warn at evaluation (counted in eval_results.json)
@pytest.mark.filterwarnings("ignore:.* frames, but the model reads at most:UserWarning")
def test_sample_rate_1_is_saved_and_the_model_reads_every_clip_frame(dataset_dir, tmp_path, capsys):
    """Issue 24: ``--sample-rate 1``; the saved feature extractor reads 1 frame in 1, so model frame i is clip frame
    i, and the clips longer than the 220 frames it then reads are counted, not cut in silence."""
    from hub_scripts.train import parse_args

    options = parse_args(
        ["--dataset-dir", str(dataset_dir), "--output-dir", str(tmp_path), "--sample-rate", "1"]
    )
    assert options.sample_rate == 1
    capsys.readouterr()
    train(small_run(dataset_dir, tmp_path, epochs=1, sample_rate=1))
    feature_extractor = AutoFeatureExtractor.from_pretrained(tmp_path / "model")
    assert feature_extractor.sample_rate == 1 and feature_extractor.max_frames == 220
    pose = next(pose for pose in load_pose_splits(dataset_dir, ["test"])["test"].poses if len(pose) <= 220)
    inputs = feature_extractor([pose])
    assert int(inputs["attention_mask"].sum()) == len(pose)
    np.testing.assert_array_equal(inputs["input_features"][0].numpy(), feature_extractor.preprocess(pose))

    splits = load_pose_splits(dataset_dir, ["train", "validation"])
    cut = {name: sum(len(pose) > 220 for pose in split.poses) for name, split in splits.items()}
    assert cut["train"], "no training clip is longer than 220 frames: the count below checks nothing"
    assert (
        f"[train] {cut['train']} of {CLIPS_PER_SPLIT} training and {cut['validation']} of {CLIPS_PER_SPLIT} "
        "validation clips are longer than the model reads (220 sampled frames, 1 in 1): only their first 220 "
        "frames are used" in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sample_rate": 0}, "--sample-rate must be at least 1 (the model reads 1 frame in N), got 0"),
        (
            {"sample_rate": 1, "init_from": Path("saved_model")},
            "--sample-rate 1 sets up a fresh model's feature extractor; --init-from saved_model brings its own",
        ),
    ],
)
def test_sample_rate_is_refused_where_it_cannot_apply_before_reading_data(overrides, message, tmp_path):
    options = TrainOptions(tmp_path / "no_dataset", tmp_path / "run", **overrides)
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        train(options)
    if "init_from" in overrides:
        shown("train: --sample-rate with --init-from", str(error.value))


def test_resume_skips_a_truncated_checkpoint_and_names_its_file(trained_run, dataset_dir, tmp_path, capsys):
    """A run killed while saving leaves a truncated model.safetensors: resume from the previous checkpoint."""
    from transformers.trainer_utils import get_last_checkpoint

    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0] / "checkpoints", run_dir / "checkpoints")
    last = Path(get_last_checkpoint(str(run_dir / "checkpoints")))
    weights = last / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    previous_epoch = json.loads(
        (Path(get_last_checkpoint(str(run_dir / "checkpoints"))) / "trainer_state.json").read_text()
    )["epoch"]
    results = train(small_run(dataset_dir, run_dir, epochs=int(previous_epoch) + 1, resume=True))

    out = capsys.readouterr().out
    assert f"{weights} does not load (SafetensorError" in out
    assert (last.parent / f"broken-{last.name}" / "model.safetensors").is_file()  # kept, moved aside
    assert results["epochs_trained"] == int(previous_epoch) + 1


def test_resume_with_no_loadable_checkpoint_is_a_clear_error(dataset_dir, tmp_path):
    broken = tmp_path / "checkpoints" / "checkpoint-3"
    broken.mkdir(parents=True)
    (broken / "model.safetensors").write_bytes(b"\x00" * 7)
    with pytest.raises(RunFolderError, match="no checkpoint in .* loads"):
        train(small_run(dataset_dir, tmp_path, resume=True))
    assert (tmp_path / "checkpoints" / "broken-checkpoint-3").is_dir()


def test_length_buckets_are_shared_out_between_processes_without_overlap():
    """What accelerate does to the sampler under 2 processes: each global step is one length bucket, split in two."""
    from accelerate.data_loader import prepare_data_loader

    from hub_scripts.train import LengthBucketSampler

    lengths = np.random.default_rng(1).permutation(45)  # 45 distinct lengths: bucket k holds 8k..8k+7
    per_process = []
    for rank in (0, 1):
        sampler = LengthBucketSampler(lengths, batch_size=8, seed=3)  # global batch: 2 processes x 4
        loader = torch.utils.data.DataLoader(np.arange(45), batch_size=4, sampler=sampler)
        per_process.append(
            [
                batch.tolist()
                for batch in prepare_data_loader(
                    loader, num_processes=2, process_index=rank, put_on_device=False
                )
            ]
        )
    assert len(per_process[0]) == len(per_process[1]) == 6
    seen = [index for batches in per_process for batch in batches[:-1] for index in batch]
    last = set(per_process[0][-1]) | set(per_process[1][-1])
    assert len(seen) == len(set(seen)) == 40 and last >= set(range(45)) - set(seen)  # accelerate pads the end
    for step in range(5):
        bucket = lengths[per_process[0][step] + per_process[1][step]] // 8
        assert len(set(bucket.tolist())) == 1, f"step {step} mixes length buckets {bucket}"
    assert set((lengths[per_process[0][-1]] // 8).tolist()) == {5}  # the short bucket (40..44) comes last


DISTRIBUTED_PROBE = """
import json, os, sys
from pathlib import Path
from hub_scripts import train as training

trained_on = []
get_item = training.PoseSeq2SeqDataset.__getitem__

def record(self, index):
    if self.augment:
        trained_on.append(int(index))
    return get_item(self, index)

training.PoseSeq2SeqDataset.__getitem__ = record
training.main(sys.argv[2:])
Path(sys.argv[1], f"rank{os.environ['RANK']}.json").write_text(json.dumps(trained_on))
"""


def test_two_cpu_processes_share_the_data_and_count_each_sentence_once(dataset_dir, tmp_path):
    """`torchrun --nproc_per_node 2` on CPU (gloo), one epoch: disjoint halves, one run folder, each validation
    sentence scored once, and a loss close to one process with the same global batch."""
    probe = tmp_path / "probe.py"
    probe.write_text(DISTRIBUTED_PROBE)
    flags = ["--dataset-dir", str(dataset_dir), "--epochs", "1", "--logging-steps", "2", "--no-progress"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    run = subprocess.run(
        [*command, str(probe), str(tmp_path), *flags, "--output-dir", str(tmp_path / "two"), "--batch-size", "4"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "terminate called" not in run.stdout + run.stderr  # no process left with its process group alive
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == CLIPS_PER_SPLIT // 2
    assert sorted(ranks[0] + ranks[1]) == list(range(CLIPS_PER_SPLIT))
    assert run.stdout.count("[train] test WER") == 1  # the main process alone evaluates and writes
    steps = CLIPS_PER_SPLIT // 8
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == [f"checkpoint-{steps}"]

    two = json.loads((tmp_path / "two" / "training_log.json").read_text())["log_history"]
    references = load_pose_splits(dataset_dir, ["validation"])["validation"].glosses
    (evaluation,) = [entry for entry in two if "eval_wer" in entry]
    assert evaluation["eval_num_sentences"] == len(references) == CLIPS_PER_SPLIT
    assert evaluation["eval_num_reference_words"] == sum(len(sentence.split()) for sentence in references)

    train(small_run(dataset_dir, tmp_path / "one", epochs=1, logging_steps=2))
    one = json.loads((tmp_path / "one" / "training_log.json").read_text())["log_history"]
    (one_evaluation,) = [entry for entry in one if "eval_wer" in entry]
    assert two[-1]["train_loss"] == pytest.approx(one[-1]["train_loss"], rel=0.1)
    assert evaluation["eval_loss"] == pytest.approx(one_evaluation["eval_loss"], rel=0.1)


@pytest.mark.parametrize("sentences_after", [False, True], ids=["every-clip-after", "sentences-after"])
def test_isolated_sign_epochs_train_on_one_gloss_clips_first(tmp_path, monkeypatch, sentences_after):
    """Stage 1 sees only the clips of one gloss (the builder's isolated signs and any one-gloss sentence) for
    ``isolated_sign_epochs`` epochs in batches of ``isolated_sign_batch_size``, then the main stage sees every clip,
    or with ``sentences_after_isolated_signs`` only the clips of two or more glosses; both logs are kept."""
    import hub_scripts.train as train_module

    dataset = build_dataset(GSLPosesConfig(name="sd", limit=12, isolated_signs=20), tmp_path / "sd")
    splits = load_pose_splits(dataset)
    lengths = [len(gloss.split()) for gloss in splits["train"].glosses]
    single, several = lengths.count(1), sum(length > 1 for length in lengths)
    assert single >= 20 and several >= 5
    training_batches = []  # the label lengths of each training batch (evaluation batches are not augmented)
    collate = train_module.PoseCollator.__call__

    def recording(self, items):
        if items[0]["augment"]:
            training_batches.append([len(item["labels"]) for item in items])
        return collate(self, items)

    monkeypatch.setattr(train_module.PoseCollator, "__call__", recording)
    options = small_run(
        dataset,
        tmp_path / "run",
        epochs=1,
        isolated_sign_epochs=2,
        isolated_sign_batch_size=16,
        batch_size=4,
        sentences_after_isolated_signs=sentences_after,
    )
    train(options)

    log = json.loads((tmp_path / "run" / "training_log.json").read_text(encoding="utf-8"))
    stage_one_steps = 2 * -(-single // 16)
    assert log["isolated_sign_log_history"][-1]["step"] == stage_one_steps
    stage_one, main_stage = training_batches[:stage_one_steps], training_batches[stage_one_steps:]
    assert all(lengths == [2] * len(lengths) for lengths in stage_one)  # one gloss + </s>
    assert sum(len(batch) for batch in stage_one) == 2 * single
    assert max(len(batch) for batch in stage_one) == 16
    main_lengths = sorted(length - 1 for batch in main_stage for length in batch)  # glosses, </s> off
    assert max(len(batch) for batch in main_stage) == 4
    assert main_lengths == sorted(length for length in lengths if length > 1 or not sentences_after)
    assert [entry["epoch"] for entry in log["log_history"] if "eval_wer" in entry] == [1]


def test_isolated_sign_epochs_without_one_gloss_clips_is_a_clear_error(tmp_path):
    from hub_scripts.train import train_on_isolated_signs

    options = TrainOptions(dataset_dir=tmp_path, output_dir=tmp_path, isolated_sign_epochs=1)
    with pytest.raises(ValueError, match="training clips that sign one gloss.*--isolated-signs N"):
        train_on_isolated_signs(options, tmp_path, None, None, None, None, ["A B", "C D E"])


# -- bad inputs (issue 21): a forgotten flag or a broken file costs no work and shows no traceback ----------------
def copy_of_run(trained_run, folder: Path) -> Path:
    shutil.copytree(trained_run[0] / "checkpoints", folder / "checkpoints")
    return folder


def test_forgotten_resume_keeps_the_checkpoints_and_says_which_flag(
    trained_run, dataset_dir, tmp_path, capsys
):
    from hub_scripts.train import main

    run_dir = copy_of_run(trained_run, tmp_path / "run")
    before = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset-dir", str(dataset_dir), "--output-dir", str(run_dir), "--no-progress"])
    shown("train: earlier checkpoints, no --resume", str(exit_info.value.code))
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == before  # nothing deleted
    with pytest.raises(RunFolderError, match="pass one of them"):
        train(small_run(dataset_dir, run_dir, resume=True, overwrite=True))
    train(small_run(dataset_dir, run_dir, epochs=1, overwrite=True))  # said: deleted, a fresh run
    assert "--overwrite: removing the old checkpoints" in capsys.readouterr().out
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == [
        f"checkpoint-{CLIPS_PER_SPLIT // 8}"
    ]


def test_resume_without_checkpoint_is_one_line_on_the_command_line(dataset_dir, tmp_path):
    from hub_scripts.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset-dir", str(dataset_dir), "--output-dir", str(tmp_path), "--resume"])
    shown("train: --resume, no checkpoint", str(exit_info.value.code))


def test_resume_sets_aside_a_checkpoint_with_a_corrupt_rng_state(trained_run, dataset_dir, tmp_path, capsys):
    """A garbled ``rng_state.pth``: torch's own error advises ``weights_only=False`` (running the file's code);
    the checkpoint is moved aside as a whole, the previous one resumed, and no message says to load it unsafely."""
    from transformers.trainer_utils import get_last_checkpoint

    run_dir = copy_of_run(trained_run, tmp_path / "run")
    last = Path(get_last_checkpoint(str(run_dir / "checkpoints")))
    rng_state = last / "rng_state.pth"
    assert rng_state.is_file()
    rng_state.write_bytes(b"\x80\x02garbage, not a checkpoint" * 40)
    previous_epoch = json.loads(
        (Path(get_last_checkpoint(str(run_dir / "checkpoints"))) / "trainer_state.json").read_text()
    )["epoch"]
    results = train(small_run(dataset_dir, run_dir, epochs=int(previous_epoch) + 1, resume=True))

    out = capsys.readouterr().out
    shown("train: corrupt rng_state.pth", out)
    assert f"{rng_state} does not load" in out and "weights_only" not in out
    assert (last.parent / f"broken-{last.name}" / "rng_state.pth").is_file()  # kept, moved aside whole
    assert results["epochs_trained"] == int(previous_epoch) + 1


def test_dataset_without_a_gloss_column_is_named(dataset_dir, tmp_path):
    import pyarrow.parquet as parquet

    from hub_scripts.train import main

    copy = tmp_path / "no_gloss"
    shutil.copytree(dataset_dir, copy)
    for shard in (copy / "data").glob("*.parquet"):
        parquet.write_table(parquet.read_table(shard).drop(["gloss"]), shard)
    with pytest.raises(SystemExit) as exit_info:
        main(["--dataset-dir", str(copy), "--output-dir", str(tmp_path / "run"), "--no-progress"])
    shown("train: dataset without a gloss column", str(exit_info.value.code))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_each_step_runs_fused_adamw_and_counts_the_parameters_once(tmp_path, monkeypatch):
    """The per-step bookkeeping of the Trainer, made cheap: AdamW as one fused kernel, and the FLOP estimate the
    library makes every step (6 x input numbers x parameters) with the parameters counted once, not per step."""
    from transformers import Seq2SeqTrainer

    from hub_scripts.train import PoseSeq2SeqTrainer, training_arguments

    options = TrainOptions(dataset_dir=tmp_path, output_dir=tmp_path)
    model, _ = build_model(options, build_tokenizer(["Α Β"], None), "holistic")
    arguments = training_arguments(options, tmp_path / "checkpoints", isolated_signs=True)  # no evaluation
    trainer = PoseSeq2SeqTrainer(model=model, args=arguments)
    trainer.create_optimizer()
    assert trainer.optimizer.defaults["fused"] is True
    counted = []
    count = model.num_parameters
    monkeypatch.setattr(model, "num_parameters", lambda **kwargs: counted.append(kwargs) or count(**kwargs))
    for frames in (17, 40):
        inputs = {
            "input_features": torch.zeros(3, frames, 225),
            "labels": torch.zeros(3, 5, dtype=torch.long),
        }
        assert trainer.floating_point_ops(inputs) == Seq2SeqTrainer.floating_point_ops(trainer, inputs) > 0
    assert len(counted) == 1 + 2  # ours once, the library's on each of its two calls
