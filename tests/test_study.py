"""The study command on a tiny budget (12 clips per split, one epoch, raw attention only): one run per variant and
seed, a rerun redoes nothing, the summary is numpy's mean and sd of the stored runs, a killed study resumes where it
stopped, and a variant that cannot be built is an error naming it while the others finish."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from bad_input_table import shown
from safetensors.numpy import load_file

from dataset_builder.build import build_dataset
from dataset_builder.gsl_poses import GSLPosesConfig
from dataset_builder.loading import dataset_metadata, dataset_record, load_pose_splits
from dataset_builder.timing import signing_timing
from hub_scripts import seed_spread
from hub_scripts import study as study_module
from hub_scripts.reproduce import CPU_BUDGET_RECIPE, QUICK
from hub_scripts.seed_spread import documented_spread
from hub_scripts.study import (
    CURVES_FILE,
    FIGURE_FILE,
    RUN_FILE,
    SCORES,
    SD_DDOF,
    STUDY_FILE,
    TABLE_FILE,
    Run,
    StudyError,
    StudyOptions,
    Variant,
    base_seed,
    describe_data,
    draw_learning_curves,
    main,
    parse_variants,
    prepare_data,
    study,
)
from hub_scripts.train import DEFAULT_SAMPLE_RATE, options_record, recipe_differences

REPO = Path(__file__).resolve().parents[1]
TINY = {"epochs": 1, "methods": ("attention",), "progress": False}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset(GSLPosesConfig(name="si", limit=12), tmp_path_factory.mktemp("study_data") / "si")


def tiny_options(dataset_dir: Path, output_dir: Path, field: str, values: tuple[str, ...], seeds: int):
    return StudyOptions(field, values, seeds, dataset_dir=dataset_dir, output_dir=output_dir, **TINY)


def command_line(dataset_dir: Path, output_dir: Path, vary: list[str], seeds: int) -> list[str]:
    """The same tiny study as ``tiny_options``, as arguments of ``python -m hub_scripts.study``."""
    return [
        *("--vary", *vary, "--seeds", str(seeds), "--dataset-dir", str(dataset_dir)),
        *("--epochs", str(TINY["epochs"]), "--methods", *TINY["methods"]),
        *("--output-dir", str(output_dir), "--no-progress"),
    ]


class CountingTrain:
    """Wraps ``hub_scripts.study.train``: the runs it trained, by output folder."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.folders: list[Path] = []
        self.train = study_module.train
        monkeypatch.setattr(study_module, "train", self)

    def __call__(self, options):
        self.folders.append(Path(options.output_dir))
        return self.train(options)


def run_files(output_dir: Path) -> dict[Path, int]:
    """Every finished run's record and its modification time (ns)."""
    return {path: path.stat().st_mtime_ns for path in sorted(output_dir.glob(f"runs/*/seed*/{RUN_FILE}"))}


@pytest.fixture(scope="module")
def finished(dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """2 values of d_model x 2 seeds."""
    output_dir = tmp_path_factory.mktemp("study")
    return output_dir, study(tiny_options(dataset_dir, output_dir, "d_model", ("8", "16"), 2))


def test_two_variants_by_two_seeds_make_four_runs(finished):
    output_dir, result = finished
    assert result == json.loads((output_dir / STUDY_FILE).read_text(encoding="utf-8"))
    runs = result["runs"]
    assert [(run["variant"], run["seed_index"], run["status"]) for run in runs] == [
        ("d_model=8", 0, "done"),
        ("d_model=8", 1, "done"),
        ("d_model=16", 0, "done"),
        ("d_model=16", 1, "done"),
    ]
    for run in runs:
        # each run trained what its entry says, with seed base + k, into its own folder
        assert run["options"]["d_model"] == run["value"] and run["options"]["epochs"] == TINY["epochs"]
        assert run["seed"] == run["options"]["seed"] == base_seed() + run["seed_index"]
        folder = output_dir / "runs" / run["variant"] / f"seed{run['seed_index']}"
        assert json.loads((folder / RUN_FILE).read_text(encoding="utf-8")) == run
        config = json.loads((folder / "model" / "config.json").read_text(encoding="utf-8"))
        assert config["d_model"] == run["value"]
        assert set(run["scores"]) == set(SCORES) and isinstance(run["scores"]["wer"], float)
        assert run["seconds"]["total"] >= run["seconds"]["training"] > 0 and run["seconds"]["cpu"] > 0
    # Another seed is another initialisation: the two seeds of a variant end with different weights.
    seeds = [load_file(output_dir / "runs/d_model=8" / f"seed{k}/model/model.safetensors") for k in (0, 1)]
    assert any(not np.array_equal(seeds[0][name], seeds[1][name]) for name in seeds[0])
    assert {entry["done"] for entry in result["summary"].values()} == {2}
    assert result["failed_variants"] == {}


def test_summary_is_numpys_mean_and_sd_of_the_stored_runs(finished):
    output_dir, result = finished
    stored = [json.loads(path.read_text(encoding="utf-8")) for path in run_files(output_dir)]
    spread = 0
    for variant, entry in result["summary"].items():
        for name, summary in entry["scores"].items():
            values = [run["scores"][name] for run in stored if run["variant"] == variant]
            measured = [value for value in values if value is not None]
            assert summary["n"] == len(measured)
            if not measured:
                assert summary["mean"] is None and summary["sd"] is None
                continue
            assert summary["mean"] == pytest.approx(np.mean(measured))
            if len(measured) > SD_DDOF:
                assert summary["sd"] == pytest.approx(np.std(measured, ddof=SD_DDOF))
                spread += summary["sd"] > 0
            else:
                assert summary["sd"] is None
    assert spread, "no score differs between seeds: the comparison above checked nothing"


def test_figure_and_table_show_every_variant(finished):
    output_dir, result = finished
    assert (output_dir / FIGURE_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (output_dir / TABLE_FILE).read_text(encoding="utf-8")
    for variant, entry in result["summary"].items():
        assert f"<th>{variant}</th>" in page
        wer = entry["scores"]["wer"]
        assert f"{100 * wer['mean']:.1f} ± {100 * wer['sd']:.1f} %" in page
    # Learning curves: every run's validation WER per evaluation, as its training log has it.
    assert (output_dir / CURVES_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and CURVES_FILE in page
    curves = draw_learning_curves(result, output_dir, output_dir / CURVES_FILE)
    assert len(curves) == len(result["runs"]) == 4
    for run in result["runs"]:
        folder = output_dir / "runs" / run["variant"] / f"seed{run['seed_index']}"
        log = json.loads((folder / "training_log.json").read_text(encoding="utf-8"))["log_history"]
        evaluations = [entry for entry in log if "eval_wer" in entry]
        assert len(evaluations) == TINY["epochs"]
        assert curves[f"{run['variant']} seed{run['seed_index']}"] == [
            (entry["step"], entry["eval_wer"]) for entry in evaluations
        ]


def test_a_rerun_redoes_no_run(finished, dataset_dir, monkeypatch):
    output_dir, result = finished
    before = run_files(output_dir)
    counting = CountingTrain(monkeypatch)
    again = study(tiny_options(dataset_dir, output_dir, "d_model", ("8", "16"), 2))
    assert counting.folders == [] and run_files(output_dir) == before
    assert again["runs"] == result["runs"] and again["summary"] == result["summary"]


def test_a_rerun_with_other_options_is_refused_naming_the_runs(finished, dataset_dir):
    output_dir, _ = finished
    before = run_files(output_dir)
    options = tiny_options(dataset_dir, output_dir, "d_model", ("8", "16"), 2)
    with pytest.raises(StudyError) as error:
        study(replace(options, epochs=TINY["epochs"] + 1))
    shown("study: rerun with other options", str(error.value))
    assert (
        "d_model=8 seed0, d_model=8 seed1, d_model=16 seed0, d_model=16 seed1 with epochs 1 (asked: 2)"
        in str(error.value)
    )
    assert run_files(output_dir) == before


def test_a_documented_study_gives_its_spread_to_the_same_recipe_only(
    finished, dataset_dir, tmp_path, monkeypatch
):
    """The main job's report puts a run next to the seed spread of a documented study that trained the same recipe
    on the same data (hub_scripts.seed_spread): the variant's summary, whatever the seed and folders; nothing for
    another recipe or other data. A study recorded before an option existed ran at its default, and still applies."""
    output_dir, result = finished
    documented = tmp_path / "docs" / "studies"
    (documented / "tiny").mkdir(parents=True)
    stored = json.loads((output_dir / STUDY_FILE).read_text(encoding="utf-8"))
    for run in stored["runs"]:
        del run["options"]["threads"]  # recorded before --threads existed: it ran at the default
    (documented / "tiny" / STUDY_FILE).write_text(json.dumps(stored), encoding="utf-8")
    monkeypatch.setattr(seed_spread, "DOCUMENTED_STUDIES", documented)

    asked = Run(Variant("d_model", 16), 0).train_options(
        {**CPU_BUDGET_RECIPE, "epochs": TINY["epochs"], "isolated_sign_epochs": 0},
        dataset_dir,
        tmp_path / "mine",
    )
    asked = replace(asked, seed=1234, progress=True)  # another seed, shown otherwise
    spread = documented_spread(options_record(asked), dataset_record(dataset_dir))
    assert spread is not None
    assert spread["study"] == "docs/studies/tiny/study.json" and spread["variant"] == "d_model=16"
    assert spread["seeds"] == 2 and spread["scores"] == result["summary"]["d_model=16"]["scores"]
    assert spread["labels"]["wer"] == {"label": SCORES["wer"].label, "percent": True}
    assert documented_spread(options_record(replace(asked, d_model=8)), dataset_record(dataset_dir))[
        "variant"
    ] == ("d_model=8")
    assert documented_spread(options_record(replace(asked, epochs=2)), dataset_record(dataset_dir)) is None
    assert documented_spread(options_record(replace(asked, threads=2)), dataset_record(dataset_dir)) is None
    other_data = dataset_record(dataset_dir) | {"clips": {"train": 13, "validation": 12, "test": 12}}
    assert documented_spread(options_record(asked), other_data) is None


@pytest.mark.parametrize(
    ("setting", "study", "seeds"), [("si", "si_seeds", 3), ("sd", "sd_main_recipe_seeds", 2)]
)
def test_the_documented_seed_study_trained_the_main_jobs_recipe(setting, study, seeds, monkeypatch):
    """docs/studies/si_seeds and sd_main_recipe_seeds hold the main job's paper and sentence-disjoint settings over
    several seeds: their recipe is what the main job trains today (else the report would show no spread, and the docs
    would describe another recipe: rerun the study)."""
    from dataset_builder.gsl import load_split
    from hub_scripts import reproduce

    main_job = reproduce.RunOptions()
    run = next(run for run in reproduce.plan_runs(main_job) if run.name == setting)
    sizes = {split: len(load_split(setting, split)) for split in ("train", "validation", "test")}
    sizes["train"] += (
        run.recombine + run.isolated_signs
    )  # the synthetic clips the main job adds to its training
    monkeypatch.setattr(reproduce, "split_sizes", lambda dataset_dir: sizes)
    record = json.loads((REPO / "docs/studies" / study / STUDY_FILE).read_text(encoding="utf-8"))
    assert {entry["done"] for entry in record["summary"].values()} == {seeds}
    trained = record["runs"][0]
    asked = options_record(reproduce.training_options(run, main_job))
    assert recipe_differences(trained["options"], asked, ignore=("seed",)) == []
    assert trained["dataset"]["clips"] == sizes and trained["dataset"]["timing"]["name"] == main_job.timing


def test_a_killed_study_resumes_with_the_missing_runs_only(dataset_dir, tmp_path, monkeypatch):
    """Kill the command once its first run has finished; the rerun trains only the runs without a record (the one
    cut short included, from scratch) and leaves the finished one alone. The varied field is a model config field
    (not a training option): the rerun's model has it."""
    arguments = command_line(dataset_dir, tmp_path, ["encoder_layers", "1", "2"], seeds=1)
    environment = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub_scripts.study", *arguments],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The kill comes once the first run's record and the study file listing it are both written (in that order:
    # killed between the two, the rerun would rebuild study.json from the records anyway, but the test would not
    # see the whole study.json it checks for).
    deadline = time.monotonic() + 120
    try:
        while (
            not (run_files(tmp_path) and (tmp_path / STUDY_FILE).exists())
            and process.poll() is None
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    finished_before = run_files(tmp_path)
    assert len(finished_before) == 1, "the study was not killed between its two runs"
    # what a kill leaves of study.json is a whole file (written to a temporary name, then renamed)
    assert len(json.loads((tmp_path / STUDY_FILE).read_text(encoding="utf-8"))["runs"]) == 1

    # whatever the kill left of the second run (a partial folder, or nothing yet), plus a file it did not write
    second = Run(Variant("encoder_layers", 2), 0).folder(tmp_path)
    second.mkdir(parents=True, exist_ok=True)
    (second / "left_by_the_killed_run.txt").touch()

    counting = CountingTrain(monkeypatch)
    result = study(tiny_options(dataset_dir, tmp_path, "encoder_layers", ("1", "2"), 1))
    assert counting.folders == [second]
    assert not (second / "left_by_the_killed_run.txt").exists()  # redone from scratch
    assert {path: run_files(tmp_path)[path] for path in finished_before} == finished_before
    assert [run["status"] for run in result["runs"]] == ["done", "done"]
    config = json.loads((second / "model" / "config.json").read_text(encoding="utf-8"))
    assert config["encoder_layers"] == 2


def test_runs_side_by_side_give_the_records_of_runs_one_after_the_other(finished, dataset_dir, tmp_path):
    """--jobs 2: the same 4 runs in 2 processes, each run's record what one process made (training is
    deterministic), the folders and times aside."""
    output_dir, result = finished
    parallel = study(replace(tiny_options(dataset_dir, tmp_path, "d_model", ("8", "16"), 2), jobs=2))

    def comparable(record: dict) -> dict:
        options = {key: value for key, value in record["options"].items() if key != "output_dir"}
        return {key: value for key, value in record.items() if key != "seconds"} | {"options": options}

    assert [comparable(run) for run in parallel["runs"]] == [comparable(run) for run in result["runs"]]
    for variant, entry in parallel["summary"].items():
        assert entry["scores"] == result["summary"][variant]["scores"]


def test_a_killed_study_leaves_no_worker_training(dataset_dir, tmp_path):
    """Killed while its 2 processes train, the study takes them with it: no run they held finishes afterwards (a
    resumed study redoes them, as test_a_killed_study_resumes_with_the_missing_runs_only shows)."""
    arguments = command_line(dataset_dir, tmp_path, ["d_model", "8", "16"], seeds=1)
    environment = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub_scripts.study", *arguments, "--jobs", "2"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    logs = [Run(Variant("d_model", value), 0).folder(tmp_path) / "log.txt" for value in (8, 16)]
    deadline = time.monotonic() + 120
    try:
        while (
            not all(log.exists() for log in logs) and process.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert all(log.exists() for log in logs) and not run_files(tmp_path), "not killed while both runs trained"
    time.sleep(30)  # a tiny run takes about 10 s: a worker left alive would have finished one
    assert not run_files(tmp_path)


def test_a_failing_variant_is_named_and_the_others_finish(dataset_dir, tmp_path, capsys):
    code = main(command_line(dataset_dir, tmp_path, ["d_model", "12", "8"], seeds=1))
    assert code == 1
    message = "d_model (12) must be even and divisible by num_heads (8)"
    shown("study: a value no model can have", capsys.readouterr().err)
    result = json.loads((tmp_path / STUDY_FILE).read_text(encoding="utf-8"))
    assert [(run["variant"], run["status"]) for run in result["runs"]] == [
        ("d_model=12", "failed"),
        ("d_model=8", "done"),
    ]
    assert result["failed_variants"] == {"d_model=12": [f"ValueError: {message}"]}
    assert result["summary"]["d_model=12"]["failed"] == 1 and result["summary"]["d_model=8"]["done"] == 1
    assert not (Run(Variant("d_model", 12), 0).folder(tmp_path) / RUN_FILE).exists()  # a rerun tries it again


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        (["hidden_sise", "8"], "--vary hidden_sise: no such training option or model config field"),
        (["d_model", "eight"], "--vary d_model: 'eight' is not int"),
        (["seed", "1", "2"], "a study sets seed itself (--seeds varies it)"),
        (["vocab_size", "9"], "--vary vocab_size: the data, the tokenizer or the architecture fixes it"),
        (["output_mode", "gloss", "sign"], "--vary output_mode: 'sign' is not one of gloss, text"),
        (["landmark_components", "body"], "a study varies numbers, words and switches only"),
        (["d_model", "16", "16"], "d_model=16 is given more than once"),
    ],
)
def test_what_cannot_be_varied_is_refused_naming_it(vary, message):
    with pytest.raises(StudyError, match=re.escape(message)):
        parse_variants(vary[0], vary[1:])


def test_an_unknown_field_is_a_command_line_error_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--vary", "hidden_sise", "8", "16", "--output-dir", str(tmp_path / "study")])
    assert exit_info.value.code == 2
    shown("study: unknown field", capsys.readouterr().err)
    assert not (tmp_path / "study").exists()


def test_values_are_read_as_the_fields_types():
    assert [v.value for v in parse_variants("learning_rate", ["1e-3", "0.01"])] == [1e-3, 0.01]
    assert [v.value for v in parse_variants("encoder_layers", ["1", "2"])] == [1, 2]
    assert [v.value for v in parse_variants("max_train_samples", ["100", "none"])] == [100, None]
    assert [v.value for v in parse_variants("use_cache", ["true", "0"])] == [True, False]
    assert [v.name for v in parse_variants("output_mode", ["gloss", "text"])] == [
        "output_mode=gloss",
        "output_mode=text",
    ]


# at 1 in 1 the model reads 220 frames: the longer clips warn where interpret reads them
@pytest.mark.filterwarnings("ignore:.* frames, but the model reads at most:UserWarning")
def test_sample_rate_is_varied_as_a_training_option_and_recorded(dataset_dir, tmp_path):
    """Issue 24: ``--vary sample_rate 1 3``; each run trains with its value (a training option, not a model config
    field), its record holds it, and the run's model reads 1 frame in it (trained and analysed: one run, ~10 s)."""
    variants = parse_variants("sample_rate", ["1", "3"])
    assert [variant.value for variant in variants] == [1, 3]
    assert [variant.name for variant in variants] == ["sample_rate=1", "sample_rate=3"]
    options = Run(variants[0], 0).train_options({"output_mode": "gloss", "epochs": 1}, dataset_dir, tmp_path)
    assert options.sample_rate == 1 and options.model_config == {}

    (run,) = study(tiny_options(dataset_dir, tmp_path, "sample_rate", ("1",), 1))["runs"]
    assert run["status"] == "done" and run["value"] == run["options"]["sample_rate"] == 1
    folder = Run(variants[0], 0).folder(tmp_path)
    assert json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))["options"]["sample_rate"] == 1
    saved = json.loads((folder / "model" / "preprocessor_config.json").read_text(encoding="utf-8"))
    assert saved["sample_rate"] == 1


def test_a_record_from_before_sample_rate_existed_reads_as_the_default(tmp_path):
    """Runs recorded before ``sample_rate`` was an option read 1 frame in the default: a rerun with the default is
    no difference, one with another value is."""
    run = Run(Variant("d_model", 16), 0)
    options = run.train_options({"output_mode": "gloss", "epochs": 1}, tmp_path / "data", tmp_path)
    dataset = {"config": "si"}
    options_then = options_record(options)
    del options_then["sample_rate"]
    record = {"options": options_then, "dataset": dataset}
    assert study_module.run_differences(record, options, dataset) == []
    other = replace(options, sample_rate=1)
    assert study_module.run_differences(record, other, dataset) == [
        f"sample_rate {DEFAULT_SAMPLE_RATE} (asked: 1)"
    ]


def median_span_frames(dataset_dir: Path) -> float:
    """The median length of the training split's gold gloss spans, in frames."""
    spans = load_pose_splits(dataset_dir)["train"].gloss_spans
    return float(np.median([end - start for clip in spans for start, end in clip]))


def test_a_gsl_config_is_built_and_trained_as_the_main_job_builds_it_at_the_timing_asked(tmp_path, capsys):
    """--config si --quick --timing conversational: the main job's quick subset and recipe, its clips signed at
    conversational speed (signs of a few frames, where the gsl timing's last 15-35); the default timing then
    rebuilds the clips instead of reusing the conversational ones, and a second study at it reuses them."""
    options = StudyOptions(
        "d_model", ("16",), 1, config="si", quick=True, timing="conversational", output_dir=tmp_path
    )
    dataset_dir, recipe = prepare_data(options)
    assert dataset_metadata(dataset_dir)["timing"] == signing_timing("conversational").record()
    assert recipe["epochs"] == QUICK.epochs and recipe["batch_size"] == QUICK.batch_size
    assert recipe["learning_rate"] == CPU_BUDGET_RECIPE["learning_rate"]
    assert median_span_frames(dataset_dir) < 10
    # figure titles and study.json name the timing when it is not the default
    assert describe_data(dataset_record(dataset_dir), None) == "GSL si (synthetic, conversational timing)"

    capsys.readouterr()
    gsl_dir, _ = prepare_data(replace(options, timing="gsl"))
    assert gsl_dir == dataset_dir and "rebuilding" in capsys.readouterr().out
    assert dataset_metadata(gsl_dir)["timing"]["name"] == "gsl" and median_span_frames(gsl_dir) >= 15
    assert describe_data(dataset_record(gsl_dir), None) == "GSL si (synthetic)"
    prepare_data(replace(options, timing="gsl"))
    assert "reusing" in capsys.readouterr().out


def test_a_timing_for_a_dataset_folder_is_refused_naming_it(dataset_dir, tmp_path):
    options = replace(
        tiny_options(dataset_dir, tmp_path / "study", "d_model", ("16",), 1), timing="conversational"
    )
    with pytest.raises(StudyError, match=re.escape(f"a dataset folder ({dataset_dir}) has its own timing")):
        study(options)
    assert not (tmp_path / "study" / "runs").exists()
