"""Interpretability: aggregation helpers, the analysis on a model with no correct prediction (explicit "no data"),
pickle-free raw attention, and ``reproduce --quick`` end to end."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset_builder.build import build_dataset
from dataset_builder.gsl_poses import GSLPosesConfig
from dataset_builder.loading import load_pose_splits
from hub_scripts import reproduce
from hub_scripts.interpret import InterpretOptions, interpret
from hub_scripts.report import write_report
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    build_gloss_tokenizer,
)
from modeling_signattention.interpretability import (
    compute_attention_alignment,
    load_translations,
    mean_attention_by_length,
    resample_attention,
    schema,
)
from modeling_signattention.interpretability.attribution import METHODS, head_methods
from modeling_signattention.interpretability.results import RunScores
from modeling_signattention.interpretability.timestamps import timestamp_reliability


def test_resample_attention_keeps_where_the_mass_is():
    attention = np.zeros((2, 10))
    attention[0, 0] = attention[1, 9] = 1.0
    resampled = resample_attention(attention, num_bins=100)
    assert resampled.shape == (2, 100)
    np.testing.assert_allclose(resampled.sum(axis=1), 1.0)
    assert resampled[0].argmax() < 10 and resampled[1].argmax() >= 90
    one_frame = resample_attention(np.ones((3, 1)), num_bins=20)
    np.testing.assert_allclose(one_frame, 1 / 20)
    with pytest.raises(ValueError, match="n_frames >= 1"):
        resample_attention(np.zeros((2, 0)))


def test_mean_attention_by_length_groups_and_counts():
    rng = np.random.default_rng(0)
    maps = [
        rng.dirichlet(np.ones(frames), size=glosses)
        for glosses, frames in ((2, 30), (2, 50), (3, 40), (0, 5))
    ]
    means = mean_attention_by_length(maps, num_bins=50)
    assert list(means) == [2, 3]  # the empty prediction is left out
    assert [count for _, count in means.values()] == [2, 1]
    expected = (resample_attention(maps[0], 50) + resample_attention(maps[1], 50)) / 2
    np.testing.assert_allclose(means[2][0], expected)


@pytest.fixture(scope="module")
def untrained_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny synthetic split and a random model that says the splits' most frequent gloss 4 times for every clip:
    some of its glosses hit a reference gloss (and are scored against the gold spans), no sentence is exactly right.
    Its attention is random; what it says does not depend on how a transformers version initialises weights."""
    root = tmp_path_factory.mktemp("interpret")
    dataset_dir = build_dataset(GSLPosesConfig(name="si", limit=12), root / "data")
    glosses = [line.split("|")[1] for line in reproduce_train_lines()]
    tokenizer = build_gloss_tokenizer(glosses)
    splits = load_pose_splits(dataset_dir, ["validation", "test"]).values()
    frequent = Counter(gloss for split in splits for sentence in split.glosses for gloss in sentence.split())
    torch.manual_seed(0)
    model = SignAttentionForConditionalGeneration(SignAttentionConfig(vocab_size=len(tokenizer), ffn_dim=64))
    with torch.no_grad():
        model.lm_head.bias.fill_(
            0.0
        )  # the random weights give logits of a few units: a bias of 10 outweighs them
        model.lm_head.bias[tokenizer.convert_tokens_to_ids(frequent.most_common(1)[0][0])] = 10.0
        model.lm_head.bias[model.config.eos_token_id] = -1e4
    model.generation_config.max_length = 5
    model_dir = root / "model"
    model.save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    SignAttentionFeatureExtractor().save_pretrained(model_dir)
    return model_dir, dataset_dir


def reproduce_train_lines() -> list[str]:
    from dataset_builder.gsl import GSL_DATA_DIR

    return (GSL_DATA_DIR / "gsl_split_SI_train.csv").read_text(encoding="utf-8").splitlines()[:40]


def test_no_correct_prediction_gives_explicit_no_data(untrained_setup, tmp_path):
    model_dir, dataset_dir = untrained_setup
    scores = interpret(model_dir, dataset_dir, tmp_path, InterpretOptions(split="validation", progress=False))
    assert scores == json.loads((tmp_path / "interpretability.json").read_text(encoding="utf-8"))
    assert scores["num_sentences"] == 12 and scores["num_correct"] == 0
    assert scores["sentence_accuracy"] == 0.0
    for name in ("correct", "correct_with_gold_spans"):
        assert scores[name]["status"] == "no data" and scores[name]["num_sentences"] == 0
    assert scores["gold_alignment_accuracy"] == "no data"
    assert scores["figures"]["mean_cross_attention_correct"] == "no data"
    alignment = scores["all"]["attention_alignment"]  # still scored on every prediction
    assert alignment["num_samples"] == 12 and isinstance(alignment["diagonality"], float)
    assert set(alignment["by_length"]) == {"4"}
    contribution = scores["all"]["contribution"]
    assert len(contribution["by_step"]["norm_ratio"]) == 4 and "per_sample" not in contribution
    # Memorization comes first; the validation split's sentences are all in training here (the first 12 clips).
    assert next(iter(scores)) == "memorization"
    assert scores["memorization"]["seen_sentence_share"] == 1.0
    assert scores["memorization"]["wer"]["unseen"]["status"] == "no data"
    # Every method and both baselines are scored on the same 12 x 4 glosses; hits of a random model are few.
    assert set(scores["attribution"]) == set(METHODS) and set(scores["baselines"]) == {
        "uniform",
        "diagonal_prior",
    }
    for entry in [*scores["attribution"].values(), *scores["baselines"].values()]:
        assert entry["deletion_num_glosses"] == 48 and entry["num_gold_glosses"] == scores["num_gold_glosses"]
        assert isinstance(entry["deletion_drop_10"], float) and entry["unseen"]["num_clips"] == 0
    assert scores["best_method"] in METHODS
    for figure in (
        "mean_cross_attention_all.png",
        "sample_cross_attention.png",
        "encoder_self_attention.png",
        "contributions_all.png",
    ):
        assert (tmp_path / figure).stat().st_size > 0


def test_best_method_is_picked_on_the_validation_split_then_scored_on_test(untrained_setup, tmp_path):
    model_dir, dataset_dir = untrained_setup
    heads = SignAttentionConfig.from_pretrained(model_dir).num_heads
    scores = interpret(
        model_dir,
        dataset_dir,
        tmp_path,
        InterpretOptions(split="test", progress=False, methods=["attention", "rollout"]),
    )
    selection = scores["method_selection"]
    assert selection["split"] == scores["best_method_chosen_on"] == "validation"
    # The validation split has gold spans: every head of attention and value_norm is a candidate too.
    assert set(selection["scores"]) == {
        "attention",
        "rollout",
        *head_methods(heads),
        "uniform",
        "diagonal_prior",
    }
    peak = {
        name: entry["gold_peak_accuracy"]
        for name, entry in selection["scores"].items()
        if name not in scores["baselines"]
    }
    assert selection["best_method"] == max(peak, key=peak.get) == scores["best_method"]
    iou = {name: selection["scores"][name]["timestamp_mean_iou"] for name in peak}
    assert selection["timestamp_method"] == max(iou, key=iou.get) == scores["timestamp_method"]
    # Both picks are scored on the test clips next to the methods asked for, with the same scores as any method.
    assert set(scores["attribution"]) == {
        "attention",
        "rollout",
        scores["best_method"],
        scores["timestamp_method"],
    }
    for pick in (scores["best_method"], scores["timestamp_method"]):
        assert set(scores["attribution"][pick]) >= set(scores["attribution"]["attention"]) - {
            "articulator_share"
        }
    # What the pipeline reads: the time-stamp pick, and where it was picked.
    reliability = timestamp_reliability(scores)
    assert reliability["timestamp_method"] == scores["timestamp_method"]
    assert reliability["best_method_chosen_on"] == "validation"
    # Without a held-out split the pick is made on the scored clips, and the scores say so.
    same = interpret(
        model_dir,
        dataset_dir,
        tmp_path / "same",
        InterpretOptions(split="test", progress=False, methods=["attention"], select_on=None),
    )
    assert same["method_selection"] == "no data" and same["best_method"] == "attention"
    assert same["best_method_chosen_on"].startswith("the scored clips themselves")


def test_a_model_that_says_nothing_is_analysed_as_no_data(untrained_setup, tmp_path):
    """A model that ends every sentence at once (a study's undertrained variant) has nothing to pick a method from on
    the validation split nor to score on the test split: every score is "no data", and the reader says no method."""
    model_dir, dataset_dir = untrained_setup
    model = SignAttentionForConditionalGeneration.from_pretrained(model_dir)
    with torch.no_grad():
        model.lm_head.bias[model.config.eos_token_id] = 1e4
    silent_dir = tmp_path / "silent_model"
    model.save_pretrained(silent_dir)
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "preprocessor_config.json",
    ):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, silent_dir / name)
    scores = interpret(
        silent_dir,
        dataset_dir,
        tmp_path / "analysis",
        InterpretOptions(progress=False, methods=["attention"]),
    )
    assert scores["num_empty_predictions"] == scores["num_sentences"] == 12
    assert scores["best_method"] == "no data"
    assert scores["attribution"] == {} and scores["all"]["status"] == "no data"
    run = RunScores.from_json(scores)
    assert run.pick.method is None and run.best_accuracy is None and run.prior_accuracy is None
    assert run.alignment("diagonality") is None and run.video_share() is None
    assert run.wer_on("all") == 1.0  # every reference gloss deleted


def test_raw_attention_is_stored_without_pickles(untrained_setup, tmp_path):
    model_dir, dataset_dir = untrained_setup
    interpret(
        model_dir,
        dataset_dir,
        tmp_path,
        InterpretOptions(split="test", progress=False, methods=["attention"]),
    )
    with np.load(tmp_path / "attention.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    loaded = load_translations(tmp_path / "attention.npz")
    assert len(loaded["cross_attention"]) == len(loaded["ids"]) == 12
    assert loaded["ids"][0].startswith("police1/") and not loaded["correct"].any()
    for cross, encoder, frames in zip(
        loaded["cross_attention"], loaded["encoder_attention"], loaded["frame_indices"], strict=True
    ):
        assert cross.shape == (4, encoder.shape[0]) and frames.shape == (encoder.shape[0],)
        np.testing.assert_allclose(cross.sum(axis=1), 1.0, rtol=1e-5)


def test_settings_train_on_as_many_clips_as_the_paper_setting():
    """A setting's epochs show the model the budget's clips (BUDGET_EPOCHS of the paper setting's training split, read
    from the split file), to the nearest whole epoch, whatever its number of training clips."""
    from dataset_builder.gsl import load_split

    paper_clips = len(load_split("si", "train"))
    assert reproduce.epochs_for_clips(paper_clips) == reproduce.BUDGET_EPOCHS
    budget = reproduce.BUDGET_EPOCHS * paper_clips
    sd_clips = len(load_split("sd", "train"))
    for clips in (sd_clips, sd_clips + 8000, 60):
        assert abs(reproduce.epochs_for_clips(clips) * clips - budget) <= clips / 2
    assert reproduce.epochs_for_clips(3 * budget) == 1  # more clips than the budget: one epoch, never none


def test_a_runs_epochs_come_from_one_place(tmp_path):
    """--epochs, else --quick's, else the setting's own (sd, si_text), else the clip budget: each setting's run, planned."""

    def epochs(options: reproduce.RunOptions, clips: int = 8000) -> dict[str, int]:
        runs = reproduce.plan_runs(replace(options, output_dir=tmp_path))
        return {run.name: reproduce.training_epochs(run, options, clips) for run in runs}

    everything = reproduce.RunOptions(configs=("si", "si_text", "sd"))
    budget = reproduce.epochs_for_clips(8000)
    assert epochs(everything) == {
        "si": budget,
        "si_text": reproduce.SETTINGS["si_text"].epochs,
        "sd": reproduce.SETTINGS["sd"].epochs,
    }
    quick = reproduce.QUICK.epochs
    assert epochs(replace(everything, quick=True)) == {"si": quick, "si_text": quick, "sd": quick}
    assert epochs(replace(everything, quick=True, epochs=3)) == {"si": 3, "si_text": 3, "sd": 3}


def test_the_default_settings_are_the_papers_two_and_the_sentence_disjoint_one(tmp_path):
    """Glosses and text of the same clips and the sentence-disjoint glosses, by default, in the order the main job
    hands them to its processes; the text setting reads the gloss setting's dataset."""
    runs = reproduce.plan_runs(reproduce.RunOptions(output_dir=tmp_path))
    assert [(run.name, run.setting.config, run.output_mode) for run in runs] == [
        ("si", "si", "gloss"),
        ("sd", "sd", "gloss"),
        ("si_text", "si", "text"),
    ]
    assert runs[0].dataset_dir == runs[2].dataset_dir == tmp_path / "si" / "dataset"
    assert runs[1].dataset_dir == tmp_path / "sd" / "dataset"
    # --output-mode alone picks the default settings that write it; with --config it applies to every setting.
    text = reproduce.plan_runs(reproduce.RunOptions(output_dir=tmp_path, output_mode="text"))
    assert [(run.name, run.output_mode) for run in text] == [("si_text", "text")]
    sd_text = reproduce.plan_runs(
        reproduce.RunOptions(output_dir=tmp_path, configs=("sd",), output_mode="text")
    )
    assert [(run.name, run.output_mode) for run in sd_text] == [("sd", "text")]


@pytest.mark.parametrize("configs", [["xx"], ["si", "si"], []])
def test_reproduce_rejects_unknown_or_repeated_settings(configs, tmp_path):
    with pytest.raises(ValueError, match="distinct names among si, si_text, sd"):
        reproduce.reproduce(reproduce.RunOptions(output_dir=tmp_path, configs=tuple(configs)))


def test_reproduce_rejects_two_settings_made_the_same_run(tmp_path):
    options = reproduce.RunOptions(output_dir=tmp_path, configs=("si", "si_text"), output_mode="gloss")
    with pytest.raises(ValueError, match="settings si and si_text would both train on GSL si to gloss"):
        reproduce.reproduce(options)


# A settings.json entry of a tiny run, as reproduce writes it (the reports' tests fill in the rest).
SETTING_ENTRY = {
    "description": "what it measures",
    "epochs": 3,
    "seconds": 90.0,
    "cpu_seconds": 80.0,
    "recombination": None,
}


def test_settings_report_puts_the_settings_side_by_side(tmp_path):
    """A reproduce output with two settings (tiny runs, their WERs made different, no interpretability): one
    table with both, then each setting's own sections, in the order of settings.json."""
    from tiny_model import save_tiny_run

    wers = {"si": 0.0252, "sd": 0.4321}
    for name, wer in wers.items():
        save_tiny_run(tmp_path / name)
        (tmp_path / name / "interpretability.json").unlink()
        results = json.loads((tmp_path / name / "eval_results.json").read_text(encoding="utf-8"))
        (tmp_path / name / "eval_results.json").write_text(
            json.dumps({**results, "wer": wer}), encoding="utf-8"
        )
    entry = dict(SETTING_ENTRY)
    entry["fresh_sentence_wer"] = 0.9876
    # The paper setting's recipe was studied over 3 seeds (hub_scripts.seed_spread); the sd one's was not.
    spread = {
        "study": "docs/studies/si_seeds/study.json",
        "variant": "d_model=16",
        "seeds": 3,
        "scores": {"wer": {"mean": 0.0113, "sd": 0.0033, "n": 3}, "bleu": {"mean": None, "sd": None, "n": 0}},
        "labels": {
            "wer": {"label": "test WER", "percent": True},
            "bleu": {"label": "BLEU", "percent": False},
        },
    }
    settings = {
        "si": {**entry, "dir": "si", "config": "si", "wer": wers["si"], "seed_spread": spread},
        "sd": {**entry, "dir": "sd", "config": "sd", "recombination": {"clips": 8000, "method": "random"}},
    }
    (tmp_path / "settings.json").write_text(json.dumps({"paper_setting": "si", "settings": settings}))
    report = write_report(tmp_path).read_text(encoding="utf-8")
    spread_table = report[report.index("One run against the seed spread") : report.index("Setting si:")]
    assert "docs/studies/si_seeds/study.json" in spread_table and "BLEU" not in spread_table  # no run of it
    assert "<td>test WER</td><td>2.52%</td><td>1.13% ± 0.33% (3 seeds)</td>" in spread_table
    table = report[report.index("Settings side by side") : report.index("One run against the seed spread")]
    assert "2.52%" in table and "43.21%" in table and "8,000 random recombined" in table
    assert table.count("98.76%") == 2
    assert report.index("Setting si:") < report.index("Setting sd:")
    assert report.count("<h3>Recognition</h3>") == 2  # each run's sections, one level below its setting
    # memorization, exact sentences and gold alignment: not analysed, said so
    assert table.count('class="nodata"') == 6


def test_settings_report_puts_text_next_to_its_gloss_setting(tmp_path):
    """A gloss run and a text run on the same clips (tiny runs, their scores made different): the report's text
    table gives each of the paper's claims as the text number beside the gloss number, in that order, with BLEU and
    chrF where the run has them."""
    from tiny_model import save_tiny_run

    diagonality = {"si": 0.8761, "si_text": 0.1231}
    video_share_step_2 = {"si": 0.4321, "si_text": 0.2471}
    for name, output_mode in (("si", "gloss"), ("si_text", "text")):
        save_tiny_run(tmp_path / name)
        results = json.loads((tmp_path / name / "eval_results.json").read_text(encoding="utf-8"))
        if output_mode == "text":
            results |= {"output_mode": "text", "bleu": 12.3451, "chrf": 34.5671}
        (tmp_path / name / "eval_results.json").write_text(json.dumps(results), encoding="utf-8")
        path = tmp_path / name / "interpretability.json"
        scores = json.loads(path.read_text(encoding="utf-8"))
        scores |= {"sentence_accuracy": 0.0, "num_empty_predictions": 0}  # what interpret adds to score_set's
        scores["all"]["attention_alignment"]["diagonality"] = diagonality[name]
        scores["all"]["contribution"]["by_step"]["norm_ratio"][1] = video_share_step_2[name]
        path.write_text(json.dumps(scores), encoding="utf-8")
    entry = dict(SETTING_ENTRY)
    settings = {
        "si": {**entry, "dir": "si", "config": "si", "output_mode": "gloss"},
        "si_text": {**entry, "dir": "si_text", "config": "si", "output_mode": "text"},
    }
    (tmp_path / "settings.json").write_text(json.dumps({"paper_setting": "si", "settings": settings}))
    report = write_report(tmp_path).read_text(encoding="utf-8")
    table = report[report.index("Text next to glosses: si and si_text") : report.index("Setting si:")]

    def row(label: str) -> str:
        start = table.index(f"<td>{label}")
        return table[start : table.index("</tr>", start)]

    label = schema.ALIGNMENT_SCORES["diagonality"].label
    assert row(f"{label}, {schema.SCORE_SETS['all']}").count("<td>") == 4
    assert "<td>0.876</td><td>0.123</td><td>no diagonal for text</td>" in row(f"{label}, all")
    assert "<td>0.432</td><td>0.247</td>" in row(
        f"video share at decoding step 2, {schema.SCORE_SETS['all']}"
    )
    assert '<td class="nodata">no data</td><td>12.345</td>' in row("test BLEU")
    assert '<td class="nodata">no data</td><td>34.567</td>' in row("test chrF")
    side_by_side = report[report.index("Settings side by side") : report.index("Text next to glosses")]
    assert "12.345" in side_by_side and "<td>text</td>" in side_by_side


@pytest.mark.slow
def test_reproduce_quick_end_to_end(tmp_path, capsys):
    """The quick main job with the paper's two settings and the sentence-disjoint one, two at a time: every stage of
    every setting, text scored as sacreBLEU scores the saved model's own translations, the files readers use."""
    import sacrebleu

    from hub_scripts.evaluate import decode
    from modeling_signattention.loading import load_pretrained

    names = ["si", "si_text", "sd"]
    assert reproduce.main(["--quick", "--config", *names, "--output-dir", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    for number in range(1, 6):
        assert output.count(f"[reproduce {number}/5]") == 3  # once per setting
    # sd alone reads its dataset: its own process built it, rendering in one process per core (datasets writes a
    # shard per process); the dataset si and si_text share was built by the main process.
    logs = {name: (tmp_path / name / reproduce.LOG_FILE).read_text(encoding="utf-8") for name in names}
    assert "[reproduce 1/5] sd: dataset" in logs["sd"]
    assert not any("[reproduce 1/5]" in logs[name] for name in ("si", "si_text"))
    cores = len(os.sched_getaffinity(0))
    assert len(list((tmp_path / "sd" / "dataset_first60" / "data").glob("train-*.parquet"))) == cores
    index = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert index["paper_setting"] == "si" and list(index["settings"]) == names
    settings = index["settings"]
    assert [settings[name]["output_mode"] for name in names] == ["gloss", "text", "gloss"]
    # The text setting read the gloss setting's dataset: the same clips, another target.
    assert settings["si"]["dataset"] == settings["si_text"]["dataset"] == "si/dataset_first60"
    assert not (tmp_path / "si_text" / "dataset_first60").exists()
    sd = settings["sd"]
    assert sd["dir"] == "sd"
    assert sd["recombination"] == {"clips": 60, "method": "random", "isolated_signs": 30}
    # The sd setting learns its isolated signs first (QUICK: 2 epochs), then every clip.
    sd_log = json.loads((tmp_path / "sd" / "training_log.json").read_text(encoding="utf-8"))
    assert sd_log["isolated_sign_log_history"][-1]["epoch"] == 2 and sd_log["log_history"]
    # The reading check ran on fresh random sentences for the gloss settings; 10 quick epochs read next to nothing.
    assert all(0.5 <= settings[name]["fresh_sentence_wer"] <= 2.0 for name in ("si", "sd"))
    assert settings["si_text"]["fresh_sentence_wer"] is None
    all_scores = {}
    for name in names:
        run = tmp_path / name
        results = json.loads((run / "eval_results.json").read_text(encoding="utf-8"))
        assert results["data_source"] == "synthetic" and results["split"] == "test"
        assert (
            results["config"] == settings[name]["config"]
            and results["output_mode"] == settings[name]["output_mode"]
        )
        assert results["wer"] == settings[name]["wer"]
        scores = all_scores[name] = json.loads((run / "interpretability.json").read_text(encoding="utf-8"))
        assert (
            scores["num_sentences"] == results["num_sentences"]
            and scores["output_mode"] == results["output_mode"]
        )
        assert "attention_alignment" in scores["all"] and "contribution" in scores["all"]
        assert "gold_alignment_accuracy" in scores
        # The model folder carries the measured time-stamp accuracy that the pipeline shows.
        reliability = json.loads(
            (run / "model" / schema.TIMESTAMP_RELIABILITY_FILE).read_text(encoding="utf-8")
        )
        for method in reproduce.MAIN_JOB_METHODS:
            measured = reliability["scores"][method]["timestamp_mean_iou"]
            assert measured == scores["attribution"][method]["timestamp_mean_iou"]
        assert reliability["best_method"] == scores["best_method"]
        for file in (
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "preprocessor_config.json",
            "eval_results.json",
        ):
            assert (run / "model" / file).is_file()
        assert (run / "report.html").is_file() and (run / reproduce.LOG_FILE).is_file()

    # Text: BLEU and chrF are sacreBLEU's, on the saved model's translations of the test clips.
    text = json.loads((tmp_path / "si_text" / "eval_results.json").read_text(encoding="utf-8"))
    model, feature_extractor, tokenizer = load_pretrained(tmp_path / "si_text" / "model")
    test = load_pose_splits(tmp_path / "si" / "dataset_first60", ["test"])["test"]
    predictions = decode(model, feature_extractor, tokenizer, test.poses)
    references = test.targets("text")
    assert all(references) and any(predictions)
    assert text["bleu"] == pytest.approx(sacrebleu.corpus_bleu(predictions, [references]).score)
    assert text["chrf"] == pytest.approx(sacrebleu.corpus_chrf(predictions, [references]).score)
    assert text["bleu"] == settings["si_text"]["bleu"] and text["chrf"] == settings["si_text"]["chrf"]
    # The text setting's attention is scored as the gloss setting's (no gold spans: no gold_* scores).
    assert set(all_scores["si_text"]["all"]["attention_alignment"]) == {
        key for key in all_scores["si"]["all"]["attention_alignment"] if not key.startswith("gold_")
    }

    si = json.loads((tmp_path / "si" / "eval_results.json").read_text(encoding="utf-8"))
    assert (
        0.0 <= si["wer"] < 1.0
    )  # the quick si test mostly signs training sentences: something is recognised
    # The top level keeps the paper setting's files where readers of a single run find them.
    assert json.loads((tmp_path / "eval_results.json").read_text(encoding="utf-8")) == si
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Settings side by side" in report and "data:image/png;base64," in report
    assert "Text next to glosses: si and si_text" in report
    assert f"{si['wer']:.2%}" in report and f"{sd['wer']:.2%}" in report and f"{text['bleu']:.3f}" in report
    assert report.index("Setting si:") < report.index("Setting si_text:") < report.index("Setting sd:")


def test_run_output_follows_the_schema(untrained_setup, tmp_path):
    """What interpret writes is what the report, the model card and the Space read: every score set, every
    figure and every alignment score the run produces is named in ``interpretability.schema``."""
    model_dir, dataset_dir = untrained_setup
    scores = interpret(model_dir, dataset_dir, tmp_path, InterpretOptions(split="validation", progress=False))
    assert set(schema.SCORE_SETS) <= set(scores)
    for key, value in scores["figures"].items():
        if key != "sample_index":
            assert value in (schema.NO_DATA, schema.figure_file(key))
            assert value == schema.NO_DATA or (tmp_path / value).is_file()
    spans = [[(0, 2), (2, 5), (5, 8)]]
    computed = compute_attention_alignment([np.full((3, 8), 1 / 8)], spans)
    values = {key for key in computed if key != "by_length" and "num" not in key}
    assert values == set(schema.ALIGNMENT_SCORES)
    with pytest.raises(ValueError, match="unknown figure 'attention_rollout'"):
        schema.figure_file("attention_rollout")


@pytest.fixture(scope="module")
def three_translations(untrained_setup):
    """Three real translations, with gold spans known by construction: one frame at each gloss's attention peak."""
    from dataset_builder.loading import load_pose_splits
    from modeling_signattention.interpretability import translate_with_attention
    from modeling_signattention.loading import load_pretrained

    model_dir, dataset_dir = untrained_setup
    poses = load_pose_splits(dataset_dir, ["validation"])["validation"].poses[:3]
    translations = translate_with_attention(*load_pretrained(model_dir), poses)
    gold = {
        i: [(int(p), int(p) + 1) for p in t.cross_attention.argmax(axis=1)]
        for i, t in enumerate(translations)
    }
    return translations, gold


def test_exact_sentences_all_with_gold_spans_are_one_set(three_translations):
    from hub_scripts.interpret import json_safe, score_sets
    from modeling_signattention.interpretability.schema import SAME_SENTENCES_AS, shown_score_sets

    translations, gold = three_translations
    sets = json_safe(score_sets(translations, [0, 1, 2], [0, 1, 2], gold))
    assert sets["correct"]["attention_alignment"]["gold_peak_accuracy"] == 1.0  # peaks are the spans
    assert sets["correct_with_gold_spans"][SAME_SENTENCES_AS] == "correct"
    assert sets["correct_with_gold_spans"]["attention_alignment"] == sets["correct"]["attention_alignment"]
    assert shown_score_sets(sets) == ["correct", "all"]

    partly = json_safe(score_sets(translations, [0, 1, 2], [0, 1, 2], {**gold, 2: None}))
    assert "gold_peak_accuracy" not in partly["correct"]["attention_alignment"]
    assert partly["correct_with_gold_spans"]["num_sentences"] == 2
    assert shown_score_sets(partly) == ["correct_with_gold_spans", "correct", "all"]


def test_report_shows_one_column_per_set_of_sentences_and_fits_the_page(three_translations, tmp_path):
    """The gold scores sit in the exactly-translated column (same sentences), and the per-length table has one
    column per length, in a box that scrolls rather than widening the page."""
    import html
    import re

    from hub_scripts.interpret import json_safe, score_sets
    from hub_scripts.report import write_report
    from modeling_signattention.interpretability.schema import ALIGNMENT_SCORES, NO_DATA

    translations, gold = three_translations
    scores = {"num_sentences": 3, "num_correct": 3, "sentence_accuracy": 1.0, "num_empty_predictions": 0}
    scores.update(json_safe(score_sets(translations, [0, 1, 2], [0, 1, 2], gold)))
    (tmp_path / "interpretability.json").write_text(json.dumps(scores), encoding="utf-8")
    (tmp_path / "eval_results.json").write_text(
        json.dumps({"wer": 0.0, "num_sentences": 3}), encoding="utf-8"
    )
    report = write_report(tmp_path).read_text(encoding="utf-8")

    tables = re.findall(r"<table>(.*?)</table>", report)
    scores_table, by_length_table = tables[-2], tables[-1]
    header = re.findall(r"<th>(.*?)</th>", scores_table)
    assert header == ["score", "exactly translated", "all non-empty predictions"]
    gold_row = re.search(
        rf"<td>{re.escape(html.escape(ALIGNMENT_SCORES['gold_peak_accuracy'].label))}</td>(.*?)</tr>", report
    )
    assert gold_row.group(1).startswith("<td>100.00%</td>")  # not "no data" beside the same sentences
    lengths = sorted({len(t.glosses) for t in translations})
    assert re.findall(r"<th>(.*?)</th>", by_length_table) == ["glosses in the sentence", *map(str, lengths)]
    assert report.count('<div class="table">') == len(tables) and ".table { overflow-x: auto" in report
    assert NO_DATA not in by_length_table.split("</tr>")[0]


def test_mean_attention_grid_has_one_colour_scale_and_one_colour_bar():
    from modeling_signattention.interpretability.figures import mean_attention_grid_figure

    rng = np.random.default_rng(0)
    means = mean_attention_by_length(
        [rng.dirichlet(np.ones(30), size=n) for n in (1, 2, 3, 3, 5)], num_bins=20
    )
    figure = mean_attention_grid_figure(means)
    images = [image for axis in figure.axes for image in axis.images]
    assert len(images) == len(means) == 4
    top = max(float(mean.max()) for mean, _ in means.values())
    assert {image.get_clim() for image in images} == {(0.0, top)}  # panels comparable: one scale
    (colour_bar,) = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert colour_bar.get_ylabel() == "mean cross-attention weight"
    # A text model's tokens are words, and its panels say so.
    figure = mean_attention_grid_figure(means, tokens=schema.TOKEN_NAMES["text"])
    titles = [axis.get_title() for axis in figure.axes if axis.images]
    assert titles == ["1 word (n=1)", "2 words (n=1)", "3 words (n=2)", "5 words (n=1)"]
    assert figure.axes[0].get_ylabel() == "word"
