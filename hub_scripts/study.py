"""Vary one model or training field over several seeds and measure what changes: the open questions of the paper
(hidden size, text vs glosses, other corpora) and the seed spread of every headline score, as one command.

    python -m hub_scripts.study --vary d_model 8 16 32 64 128 --seeds 3 --config si --output-dir outputs/study_d_model
    python -m hub_scripts.study --vary d_model 16 64 --seeds 2 --config sd --output-dir outputs/study_sd
    python -m hub_scripts.study --vary output_mode gloss text --seeds 3 --output-dir outputs/study_text
    python -m hub_scripts.study --vary encoder_layers 1 2 4 --seeds 3 --epochs 5 --output-dir outputs/study_layers
    python -m hub_scripts.study --vary sample_rate 1 3 --seeds 2 --config si --timing conversational --epochs 10 --output-dir outputs/study_sample_rate
    python -m hub_scripts.study --vary d_model 16 64 --seeds 3 --dataset-dir MY_DATASET --output-dir outputs/mine

``--vary FIELD VALUE...`` names a training option (``hub_scripts.train.TrainOptions``: ``learning_rate``,
``epochs``, ``output_mode``, ``sample_rate``...) or a model config field (``SignAttentionConfig``:
``encoder_layers``, ``num_heads``..., as ``hub_scripts.train.model_config_fields`` lists them); each value is read
as the field's type. Every variant is trained with ``--seeds N`` seeds, seed k being ``TrainOptions.seed`` + k (the
seed sets the initial weights, the order of the training batches and the sampled frames), with the main job's
recipe (``hub_scripts.reproduce``: ``CPU_BUDGET_RECIPE``, its epochs per setting; ``--quick`` its small subset and
short training; ``--epochs`` shortens any of them), then analysed as the main job does (``hub_scripts.interpret``).
``--vary sample_rate 1 3`` (1 frame in N read, ``TrainOptions.sample_rate``) keeps the default 220 model frames,
7.3 s of clip at 1 and 30 fps: under conversational timing 15 of the 8,821 SI training clips are longer (none of
validation or test), under the gsl timing 14 % of all clips (training prints how many it cuts).

The data: ``--config si`` (the paper setting) or ``sd`` (sentence-disjoint, with the main job's recombined sentences
and isolated signs), synthetic GSL built once into ``DIR/datasets/``; or ``--dataset-dir``, any dataset folder the
builder makes (``dataset_builder.build``, ``dataset_builder.manifest`` for your own corpus).

Output (``DIR``, ``--output-dir``)::

    study.json            "study" (what was asked), "scores" (name -> label), "runs" (one per variant and seed: its
                          scores, wall time in seconds, the training options it ran with, or its error) and
                          "summary" (per variant: mean, sd and n of each score over its seeds, sd with ddof 1)
    study.png             each score against the varied value, mean +- sd over seeds; the diagonal prior's gold
                          peak accuracy as a dashed reference line on the gold accuracy panels
    learning_curves.png   validation WER against training steps, every run (a curve still falling at its end: more
                          epochs would have helped)
    study.html            mean +- sd per variant, one row per score
    datasets/<config>/dataset/   the dataset, built once (reused by later studies in the same DIR)
    runs/<field>=<value>/seed<k>/   one run: model/, interpretability/, run.json (its entry of "runs"), log.txt

A study is resumable: a run whose ``run.json`` exists is not redone, a run folder without one (a killed run) is
deleted and trained again from scratch, and a run whose ``run.json`` holds other options than asked (another
``--epochs``) is refused, naming it. Every file is written to a temporary name and renamed, so a kill never leaves a
half-written one. A run that fails (``--vary d_model 12`` with 8 heads) is recorded as an error naming its variant,
the other runs go on, and the command exits with status 1 naming the failed variants; a rerun tries them again.
"""

from __future__ import annotations

import argparse
import html
import inspect
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
import traceback
import types
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import numpy as np

from dataset_builder.loading import OUTPUT_MODES, dataset_record, split_sizes
from dataset_builder.timing import DEFAULT_TIMING, TIMINGS
from hub_scripts.interpret import InterpretOptions, interpret
from hub_scripts.reproduce import (
    CPU_BUDGET_RECIPE,
    MAIN_JOB_METHODS,
    SETTINGS,
    RunOptions,
    epochs_for_clips,
    plan_runs,
    prepare_dataset,
    training_options,
)
from hub_scripts.train import (
    FIXED_CONFIG_FIELDS,
    ModelConfig,
    TrainOptions,
    model_config_fields,
    options_record,
    recipe_differences,
    train,
)
from modeling_signattention.interpretability.attribution import METHODS
from modeling_signattention.interpretability.leaderboard import SUBSETS
from modeling_signattention.interpretability.results import RunScores
from modeling_signattention.interpretability.schema import (
    ALIGNMENT_SCORES,
    ATTRIBUTION_SCORES,
    EVAL_RESULTS_FILE,
    INTERPRETABILITY_FILE,
    NO_DATA,
    TRAINING_LOG_FILE,
    VIDEO_SHARE,
)

DEFAULT_OUTPUT_DIR = Path("outputs/study")
STUDY_FILE, FIGURE_FILE, TABLE_FILE = "study.json", "study.png", "study.html"
CURVES_FILE = "learning_curves.png"
RUN_FILE = "run.json"  # in each run folder, written last: a run folder without it is unfinished
LOG_FILE, ERROR_FILE = "log.txt", "error.txt"  # in each run folder: what it printed; a failed run's traceback
# Standard deviation over seeds with ddof 1 (the sample standard deviation): the seeds are a sample of the
# initialisations a run could have had. One seed has no spread: its sd is None, never 0.
SD_DDOF = 1
# The sentences the alignment scores (diagonality, clusters, video share) are read on: every non-empty prediction.
# The exactly translated ones (the paper's choice) are fewer and fewer as a variant gets worse, down to none for text,
# so variants would be compared on different sentences; the gold scores below are on every matched gloss too.
ALIGNMENT_SCORE_SET = "all"
# TrainOptions fields the study sets itself, and why they cannot be varied.
SET_BY_THE_STUDY = {
    "dataset_dir": "the data is --config or --dataset-dir",
    "output_dir": "each run has its own folder under --output-dir",
    "init_from": "a study trains fresh models",
    "resume": "the study resumes by itself",
    "overwrite": "the study redoes unfinished runs by itself",
    "progress": "the study shows one bar over its runs",
    "seed": "--seeds varies it",
    "model_config": "name the config field itself (--vary encoder_layers 1 2)",
}
PRIOR = "diagonal_prior"
GOLD = "gold_peak_accuracy"
TRUTHS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class StudyError(ValueError):
    """What was asked cannot be studied (an unknown field, a value of the wrong type, runs made with other options):
    one line naming it, before any training."""


@dataclass(frozen=True)
class StudyScore:
    """One score of a run: how it is shown (``label``, as a share or not), how it is read from the run's
    ``eval_results.json`` and ``interpretability.json``, whether the figure draws it, and the score drawn as its
    reference line."""

    label: str
    read: Callable[[dict[str, Any], RunScores], float | None]
    percent: bool = False
    figure: bool = False
    reference: str | None = None


def _bleu(results: dict[str, Any]) -> float | None:
    """Corpus BLEU (sacreBLEU's default, 4-grams): ``bleu`` where the run writes it, ``bleu4`` in runs that write
    BLEU-1..4 (``metrics.compute_text_scores``)."""
    return results.get("bleu", results.get("bleu4"))


def _alignment(key: str) -> StudyScore:
    score = ALIGNMENT_SCORES[key]
    return StudyScore(
        score.label, lambda results, run: run.alignment(key, ALIGNMENT_SCORE_SET), score.percent, figure=True
    )


# Whose gold peak accuracy a run reports: raw attention, the best attribution method (picked on the validation
# split, hub_scripts.interpret) and the diagonal prior, the reference the others must beat.
GOLD_OF = {"attention": "raw attention", "best_method": "best method", PRIOR: "diagonal prior"}


def _gold(name: str, subset: str | None = None, figure: bool = False) -> StudyScore:
    """The gold peak accuracy of ``name`` (``GOLD_OF``) on all scored sentences or on a ``subset``; in the figure,
    with the diagonal prior as its reference line."""

    def read(results: dict[str, Any], run: RunScores) -> float | None:
        return run.score(run.pick.method if name == "best_method" else name, GOLD, subset)

    label = f"{GOLD_OF[name]}: {ATTRIBUTION_SCORES[GOLD].label}" + (
        f" ({subset} sentences)" if subset else ""
    )
    return StudyScore(
        label, read, percent=True, figure=figure, reference=f"{PRIOR}_{GOLD}" if figure else None
    )


# The scores of every run, in the order tables show them. Gold scores are on every predicted gloss that matches a
# reference gloss (interpretability.leaderboard); the diagonal prior never looks at the model and is what a map
# must beat. "seen"/"unseen": the test sentences that do / do not occur in training (memorization).
SCORES: dict[str, StudyScore] = {
    "wer": StudyScore("test WER", lambda results, run: results.get("wer"), True, figure=True),
    "bleu": StudyScore("test BLEU (0-100)", lambda results, run: _bleu(results), figure=True),
    "chrf": StudyScore("test chrF (0-100)", lambda results, run: results.get("chrf"), figure=True),
    "wer_seen": StudyScore("test WER, sentences seen in training", lambda r, run: run.wer_on("seen"), True),
    "wer_unseen": StudyScore("test WER, sentences never seen", lambda r, run: run.wer_on("unseen"), True),
    "sentence_accuracy": StudyScore(
        "exactly translated test sentences", lambda results, run: run.sentence_accuracy, True
    ),
    **{key: _alignment(key) for key in ("diagonality", "monotonicity", "cluster_score", "cluster_fraction")},
    "video_share": StudyScore(
        VIDEO_SHARE.label, lambda results, run: run.video_share(ALIGNMENT_SCORE_SET), figure=True
    ),
    **{f"{name}_{GOLD}": _gold(name, figure=name != PRIOR) for name in GOLD_OF},
    **{f"{name}_{GOLD}_{subset}": _gold(name, subset) for subset in SUBSETS for name in GOLD_OF},
}


# ---------------------------------------------------------------------------------------------------------------
# What is varied: a field, its values read as the field's type


def _annotation_types(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> (int, True): the one type a value is read as, and whether ``none`` is a value."""
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
        return (kinds[0] if len(kinds) == 1 else annotation), len(kinds) < len(get_args(annotation))
    return annotation, False


def variable_fields() -> dict[str, Any]:
    """Field name -> type of every field a study can vary: ``TrainOptions``' training fields, then the model config
    fields ``train`` lets through (``model_config_fields``)."""
    annotations = inspect.get_annotations(TrainOptions, eval_str=True)
    training = {f.name: annotations[f.name] for f in fields(TrainOptions) if f.name not in SET_BY_THE_STUDY}
    return training | model_config_fields()


def is_training_field(name: str) -> bool:
    return name in {f.name for f in fields(TrainOptions)}


def _choices(name: str) -> Sequence[str] | None:
    return next((f.metadata.get("choices") for f in fields(TrainOptions) if f.name == name), None)


def parse_value(name: str, text: str, annotation: Any) -> Any:
    """``text`` as field ``name``'s type (``int``, ``float``, ``bool``, ``str``, or ``none`` where allowed)."""
    kind, optional = _annotation_types(annotation)
    if optional and text.lower() == "none":
        return None
    if kind is bool:
        if text.lower() not in TRUTHS:
            raise StudyError(f"--vary {name}: {text!r} is not a switch (true/false, yes/no, 1/0)")
        return TRUTHS[text.lower()]
    if kind not in (int, float, str):
        raise StudyError(
            f"--vary {name}: the field holds {annotation}; a study varies numbers, words and switches only"
        )
    try:
        value = kind(text)
    except ValueError:
        raise StudyError(f"--vary {name}: {text!r} is not {kind.__name__}") from None
    choices = _choices(name)
    if choices is not None and value not in choices:
        raise StudyError(f"--vary {name}: {text!r} is not one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class Variant:
    """One value of the varied field."""

    field: str
    value: Any

    @property
    def name(self) -> str:
        """``d_model=16``: the variant in tables, messages and folder names."""
        return f"{self.field}={self.value}"


def parse_variants(name: str, texts: Sequence[str]) -> list[Variant]:
    """The variants of ``--vary name texts...``; an unknown field, a value of the wrong type or a repeated value is
    a ``StudyError`` naming it."""
    if name in SET_BY_THE_STUDY:
        raise StudyError(f"--vary {name}: a study sets {name} itself ({SET_BY_THE_STUDY[name]})")
    if name in FIXED_CONFIG_FIELDS:
        raise StudyError(f"--vary {name}: the data, the tokenizer or the architecture fixes it")
    known = variable_fields()
    if name not in known:
        raise StudyError(
            f"--vary {name}: no such training option or model config field; the fields: {', '.join(known)}"
        )
    if not texts:
        raise StudyError(f"--vary {name}: give at least one value")
    variants = [Variant(name, parse_value(name, text, known[name])) for text in texts]
    repeated = [variant.name for variant, count in Counter(variants).items() if count > 1]
    if repeated:
        raise StudyError(f"--vary {name}: {', '.join(repeated)} is given more than once")
    return variants


# ---------------------------------------------------------------------------------------------------------------
# The study's options, its data and each run's training options


@dataclass(frozen=True)
class StudyOptions:
    """What a study trains and where it writes; each default is here once (the command line's are these)."""

    field: str
    values: tuple[str, ...]  # as given on the command line; read as the field's type by parse_variants
    seeds: int = 3
    config: str = "si"  # a GSL setting of hub_scripts.reproduce (STUDY_CONFIGS); not used with dataset_dir
    # Synthetic signing's timing (dataset_builder.timing.TIMINGS); a dataset folder has its own.
    timing: str = DEFAULT_TIMING
    dataset_dir: Path | None = None  # any dataset the builder makes, instead of config
    output_mode: str = "gloss"
    quick: bool = False  # the main job's --quick: its small subset and short training
    epochs: int | None = None  # None: the main job's epochs for the data (--quick: its quick epochs)
    methods: tuple[str, ...] = MAIN_JOB_METHODS  # attribution methods scored (hub_scripts.interpret)
    output_dir: Path = DEFAULT_OUTPUT_DIR
    progress: bool = True
    jobs: int = 1  # runs at once, one process each (run_all); on 2 cores, 2 runs take the time of one


# The settings of the main job named after their GSL config (si, sd): a study varies what they write itself.
STUDY_CONFIGS = tuple(name for name, setting in SETTINGS.items() if name == setting.config)
# What a run takes from the main job's training of its setting; the varied field and the seed then change it.
RECIPE_FIELDS = tuple(
    dict.fromkeys(
        (
            *CPU_BUDGET_RECIPE,
            *(name for setting in SETTINGS.values() for name in setting.recipe),
            "epochs",
            "isolated_sign_epochs",
            "batch_size",
            "logging_steps",
        )
    )
)


def base_seed() -> int:
    """Seed 0 of a study is ``TrainOptions``' default seed: the main job's run."""
    return next(f.default for f in fields(TrainOptions) if f.name == "seed")


def prepare_data(options: StudyOptions) -> tuple[Path, dict[str, Any]]:
    """The dataset folder and the training recipe every run starts from (the varied field then changes it).

    A GSL config is planned, built and trained as ``hub_scripts.reproduce`` does for its setting (``plan_runs``,
    ``prepare_dataset``, ``training_options``: ``--quick``'s subset, the setting's extra clips, its epochs), into
    ``DIR/datasets/<config>/dataset``; a dataset folder is trained for as many clips as the paper setting's budget, as the
    main job trains a manifest corpus.
    """
    if options.dataset_dir is not None:
        dataset_dir = Path(options.dataset_dir)
        recipe = {
            **CPU_BUDGET_RECIPE,
            "epochs": epochs_for_clips(split_sizes(dataset_dir)["train"]),
            "isolated_sign_epochs": 0,
        }
    else:
        main_job = RunOptions(
            output_dir=options.output_dir / "datasets",
            configs=(options.config,),
            output_mode=options.output_mode,
            timing=options.timing,
            quick=options.quick,
        )
        (setting_run,) = plan_runs(main_job)
        dataset_dir = prepare_dataset(setting_run, main_job)
        trained = training_options(setting_run, main_job)
        recipe = {name: getattr(trained, name) for name in RECIPE_FIELDS}
    if options.epochs is not None:
        recipe["epochs"] = options.epochs
    return dataset_dir, {"output_mode": options.output_mode, **recipe}


@dataclass(frozen=True)
class Run:
    """One variant trained with one seed."""

    variant: Variant
    seed_index: int

    @property
    def name(self) -> str:
        return f"{self.variant.name} seed{self.seed_index}"

    def folder(self, output_dir: Path) -> Path:
        return output_dir / "runs" / self.variant.name / f"seed{self.seed_index}"

    def train_options(self, recipe: dict[str, Any], dataset_dir: Path, output_dir: Path) -> TrainOptions:
        """The recipe with the variant's value, this run's seed and folder. Patience is the epochs, as in the main
        job (validation WER plateaus early: keep the best epoch, never stop), unless patience is what varies."""
        values, model_config = dict(recipe), {}
        if is_training_field(self.variant.field):
            values[self.variant.field] = self.variant.value
        else:
            model_config[self.variant.field] = self.variant.value
        values.setdefault("patience", values["epochs"])
        return TrainOptions(
            dataset_dir=dataset_dir,
            output_dir=self.folder(output_dir),
            seed=base_seed() + self.seed_index,
            model_config=ModelConfig(model_config),
            overwrite=True,
            progress=False,
            **values,
        )


def describe_data(dataset: dict[str, Any], dataset_dir: Path | None) -> str:
    """The data in a few words, for titles: ``GSL si (synthetic)``, ``GSL sd (synthetic, conversational timing)``
    or ``my_corpus (manifest)``."""
    name = f"GSL {dataset['config']}" if dataset_dir is None else Path(dataset_dir).name
    timing = (dataset.get("timing") or {}).get("name", DEFAULT_TIMING)
    return f"{name} ({dataset['data_source']}{'' if timing == DEFAULT_TIMING else f', {timing} timing'})"


# ---------------------------------------------------------------------------------------------------------------
# Running: each run trains, is analysed, and records itself last


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``: a kill leaves the old file or the
    new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_record(run: Run, output_dir: Path) -> dict[str, Any] | None:
    """A finished run's record, or None when the run has none (never run, killed, failed)."""
    path = run.folder(output_dir) / RUN_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def run_differences(record: dict[str, Any], options: TrainOptions, dataset: dict[str, Any]) -> list[str]:
    """How a finished run's recorded options and data differ from those asked now (``recipe_differences``)."""
    return recipe_differences(
        record["options"] | {"dataset": record["dataset"]}, options_record(options) | {"dataset": dataset}
    )


def read_scores(run_dir: Path) -> tuple[dict[str, float | None], str | None]:
    """The run's scores (``SCORES``) and its best attribution method, from the files train and interpret wrote."""
    results = json.loads((run_dir / "model" / EVAL_RESULTS_FILE).read_text(encoding="utf-8"))
    scores_file = run_dir / "interpretability" / INTERPRETABILITY_FILE
    run = RunScores.from_json(json.loads(scores_file.read_text(encoding="utf-8")))
    return {name: score.read(results, run) for name, score in SCORES.items()}, run.pick.method


def execute(
    run: Run, options: TrainOptions, dataset: dict[str, Any], methods: Sequence[str]
) -> dict[str, Any]:
    """Train and analyse one run from scratch; return its record, written to its ``run.json`` when it finished.

    An unfinished folder (a killed run) is deleted first. A run that raises is recorded as failed, with the error's
    type and message (the traceback goes to the run's ``error.txt``); its folder keeps no ``run.json``, so a rerun
    tries it again. What training and analysis print (their own bars included) goes to the run's ``log.txt``, out
    of the way of the study's progress bar, which holds the terminal.
    """
    run_dir = Path(options.output_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    record = {
        "variant": run.variant.name,
        "field": run.variant.field,
        "value": run.variant.value,
        "seed_index": run.seed_index,
        "seed": options.seed,
        "options": options_record(options),
        "dataset": dataset,
    }
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        with (
            open(run_dir / LOG_FILE, "w", encoding="utf-8") as log,
            redirect_stdout(log),
            redirect_stderr(log),
        ):
            train(options)
            trained = time.perf_counter()
            interpret(
                run_dir / "model",
                options.dataset_dir,
                run_dir / "interpretability",
                InterpretOptions(methods=tuple(methods), progress=False),
            )
        scores, best_method = read_scores(run_dir)
    except Exception as error:  # any failure of one run is that run's result; the others go on
        (run_dir / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        return record | {"status": "failed", "error": f"{type(error).__name__}: {error}"}
    finished = time.perf_counter()
    # Only train's --resume reads the checkpoints; the best epoch is in model/.
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    record |= {
        "status": "done",
        "scores": scores,
        "best_method": best_method,
        "seconds": {
            "training": trained - started,
            "interpretability": finished - trained,
            "total": finished - started,
            # CPU time of this process, every thread: on a shared machine, what the run costs when the wall time
            # also holds other jobs' time
            "cpu": time.process_time() - cpu_started,
        },
    }
    write_json_atomic(run_dir / RUN_FILE, record)
    return record


# ---------------------------------------------------------------------------------------------------------------
# Summary: mean and sd over seeds


def mean_and_sd(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean and standard deviation (ddof ``SD_DDOF``) of the measured values (``None``: not measured, left out),
    and how many there were."""
    measured = [value for value in values if value is not None]
    return {
        "mean": float(np.mean(measured)) if measured else None,
        "sd": float(np.std(measured, ddof=SD_DDOF)) if len(measured) > SD_DDOF else None,
        "n": len(measured),
    }


def summarise(variants: Sequence[Variant], records: Sequence[dict[str, Any]], seeds: int) -> dict[str, Any]:
    """Per variant: runs planned (``seeds``), done and failed, each score's mean / sd / n over the done runs, the
    best methods picked (method -> runs) and the mean wall time of a run."""
    summary = {}
    for variant in variants:
        mine = [record for record in records if record["variant"] == variant.name]
        done = [record for record in mine if record["status"] == "done"]
        summary[variant.name] = {
            "field": variant.field,
            "value": variant.value,
            "planned": seeds,
            "done": len(done),
            "failed": len(mine) - len(done),
            "scores": {name: mean_and_sd([record["scores"].get(name) for record in done]) for name in SCORES},
            "best_methods": dict(Counter(record["best_method"] for record in done if record["best_method"])),
            "seconds_per_run": mean_and_sd([record["seconds"]["total"] for record in done])["mean"],
        }
    return summary


def failed_variants(records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Variant -> the distinct errors of its failed runs."""
    failed: dict[str, list[str]] = {}
    for record in records:
        if record["status"] == "failed" and record["error"] not in failed.get(record["variant"], []):
            failed.setdefault(record["variant"], []).append(record["error"])
    return failed


# ---------------------------------------------------------------------------------------------------------------
# Figure and table


def shown_scores(summary: dict[str, Any]) -> list[str]:
    """The scores measured in at least one variant (BLEU only in text runs, gold scores only with gold spans)."""
    return [name for name in SCORES if any(entry["scores"][name]["n"] for entry in summary.values())]


def draw_figure(study: dict[str, Any], path: Path) -> None:
    """Each figure score against the varied value: mean with sd error bars over seeds, the reference score (the
    diagonal prior) as a dashed line."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    summary = study["summary"]
    names = [name for name in shown_scores(summary) if SCORES[name].figure]
    if not names:
        return
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = Figure(figsize=(4.2 * columns, 3.0 * rows + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    positions = np.arange(len(summary))
    labels = [str(entry["value"]) for entry in summary.values()]

    def series(name: str) -> tuple[np.ndarray, np.ndarray]:
        entries = [entry["scores"][name] for entry in summary.values()]
        means = [np.nan if entry["mean"] is None else entry["mean"] for entry in entries]
        sds = [0.0 if entry["sd"] is None else entry["sd"] for entry in entries]
        return np.asarray(means), np.asarray(sds)

    for axis, name in zip(axes.flat, names, strict=False):
        score = SCORES[name]
        means, sds = series(name)
        axis.errorbar(positions, means, yerr=sds, marker="o", capsize=4, label="mean ± sd over seeds")
        if score.reference is not None:
            reference, _ = series(score.reference)
            axis.plot(  # a marker on each value: one value alone draws no line
                positions,
                reference,
                linestyle="--",
                marker="_",
                markersize=16,
                color="grey",
                label=SCORES[score.reference].label.split(":")[0],
            )
            axis.legend(fontsize="small")
        axis.set_title(score.label, fontsize="small", wrap=True)
        axis.set_xticks(positions, labels)
        axis.set_xlabel(study["study"]["field"])
        if score.percent:
            axis.yaxis.set_major_formatter(PercentFormatter(1.0))
        axis.grid(alpha=0.3)
    for axis in axes.flat[len(names) :]:
        axis.set_visible(False)
    seeds = study["study"]["seeds"]
    figure.suptitle(f"{study['study']['data']}: {seeds} seed{'s' if seeds > 1 else ''} per value")
    save_figure_atomic(figure, path)


def save_figure_atomic(figure: Any, path: Path) -> None:
    """Save to a temporary file beside ``path``, then rename it over ``path`` (``write_json_atomic``)."""
    from modeling_signattention.interpretability.figures import save_figure

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp.png")
    save_figure(figure, temporary)
    os.replace(temporary, path)


def draw_learning_curves(
    study: dict[str, Any], output_dir: Path, path: Path
) -> dict[str, list[tuple[int, float]]]:
    """Validation WER against optimizer steps, every finished run (its ``training_log.json``), one colour per
    variant: how fast each variant learns per step, and whether its epochs were enough (a curve still falling at
    its end was cut short). Steps count the main stage; a run that learnt isolated signs first made that stage's
    steps before them (said in the legend). Returns the curves drawn: run name -> (step, WER) points."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(7.5, 4.5), layout="constrained")
    axis = figure.subplots()
    colours = {variant: f"C{k}" for k, variant in enumerate(study["summary"])}
    curves = {}
    for record in study["runs"]:
        run = Run(Variant(record["field"], record["value"]), record["seed_index"])
        log_file = run.folder(output_dir) / TRAINING_LOG_FILE
        if record["status"] != "done" or not log_file.is_file():
            continue
        log = json.loads(log_file.read_text(encoding="utf-8"))
        points = [(entry["step"], entry["eval_wer"]) for entry in log["log_history"] if "eval_wer" in entry]
        first_stage = max((entry["step"] for entry in log.get("isolated_sign_log_history", [])), default=0)
        label = f"{record['variant']} seed {record['seed_index']}" + (
            f" (after {first_stage:,} isolated-sign steps)" if first_stage else ""
        )
        axis.plot(*zip(*points, strict=True), marker=".", color=colours[record["variant"]], label=label)
        curves[run.name] = points
    if not curves:
        return curves
    axis.set_xlabel("optimizer steps (batches)")
    axis.set_ylabel("validation WER (greedy)")
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    axis.set_title(f"{study['study']['data']}: validation WER during training", fontsize="medium")
    save_figure_atomic(figure, path)
    return curves


def _cell(entry: dict[str, Any], percent: bool, runs: int) -> str:
    """``mean ± sd``, with the number of runs it is over where some of the ``runs`` done measured nothing."""
    if entry["mean"] is None:
        return f'<td class="nodata">{NO_DATA}</td>'
    number = "{:.1f}".format if percent else "{:.3f}".format
    scale = 100 if percent else 1
    text = number(entry["mean"] * scale)
    if entry["sd"] is not None:
        text += f" ± {number(entry['sd'] * scale)}"
    text += " %" if percent else ""
    if entry["n"] < runs:
        text += f" (n = {entry['n']})"
    return f"<td>{text}</td>"


def write_table(study: dict[str, Any], path: Path) -> None:
    """An HTML page: one column per variant, one row per measured score, mean ± sd over its seeds."""
    from hub_scripts.report import STYLE

    summary, asked = study["summary"], study["study"]
    header = "".join(f"<th>{html.escape(name)}</th>" for name in ["score", *summary])
    rows = [
        "<tr><td>runs done / planned</td>"
        + "".join(f"<td>{entry['done']} / {entry['planned']}</td>" for entry in summary.values())
        + "</tr>"
    ]
    for name in shown_scores(summary):
        cells = "".join(
            _cell(entry["scores"][name], SCORES[name].percent, entry["done"]) for entry in summary.values()
        )
        rows.append(f"<tr><td>{html.escape(SCORES[name].label)}</td>{cells}</tr>")
    rows.append(
        "<tr><td>best method picked (runs)</td>"
        + "".join(
            f"<td>{html.escape(', '.join(f'{m} ({n})' for m, n in entry['best_methods'].items()))}</td>"
            for entry in summary.values()
        )
        + "</tr>"
    )
    failed = "".join(
        f"<li><b>{html.escape(variant)}</b>: {html.escape('; '.join(errors))}</li>"
        for variant, errors in study["failed_variants"].items()
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>SignAttention study: {html.escape(asked['field'])}"
        f"</title><style>{STYLE}</style></head><body><h1>Study: {html.escape(asked['field'])} on "
        f"{html.escape(asked['data'])}</h1><p>Mean ± standard deviation (ddof {SD_DDOF}) over {asked['seeds']} "
        f"seed(s) per value; alignment scores on {html.escape(ALIGNMENT_SCORE_SET)} predictions.</p>"
        f'<div class="table"><table><tr>{header}</tr>{"".join(rows)}</table></div>'
        + (f"<h2>Failed variants</h2><ul>{failed}</ul>" if failed else "")
        + f'<figure><img src="{FIGURE_FILE}" alt="each score against {html.escape(asked["field"])}"></figure>'
        + f'<figure><img src="{CURVES_FILE}" alt="validation WER against training steps, every run"></figure>'
        "</body></html>\n"
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------------------------------------------------------
# The study


def study(options: StudyOptions) -> dict[str, Any]:
    """Run every variant with every seed that has no finished run yet; write ``study.json`` after each run, and the
    figure and table at the end; return what ``study.json`` holds."""
    variants = parse_variants(options.field, options.values)
    if options.seeds < 1 or options.jobs < 1:
        raise StudyError(f"--seeds and --jobs must be at least 1, got {options.seeds} and {options.jobs}")
    if options.dataset_dir is not None and options.timing != DEFAULT_TIMING:
        raise StudyError(
            f"--timing {options.timing} builds a GSL config's synthetic clips: a dataset folder "
            f"({options.dataset_dir}) has its own timing (build it with dataset_builder.build --timing)"
        )
    if options.dataset_dir is None and options.config not in STUDY_CONFIGS:
        raise StudyError(f"--config must be one of {', '.join(STUDY_CONFIGS)}, got {options.config!r}")
    output_dir = Path(options.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    dataset_dir, recipe = prepare_data(options)
    dataset = dataset_record(dataset_dir)
    plan = [Run(variant, k) for variant in variants for k in range(options.seeds)]
    run_options = {run: run.train_options(recipe, dataset_dir, output_dir) for run in plan}
    records = {run: read_record(run, output_dir) for run in plan}
    differing: dict[str, list[str]] = {}  # how they differ -> runs
    for run, record in records.items():
        if record is not None and (differences := run_differences(record, run_options[run], dataset)):
            differing.setdefault(", ".join(differences), []).append(run.name)
    if differing:
        listed = "; ".join(f"{', '.join(runs)} with {how}" for how, runs in differing.items())
        raise StudyError(
            f"{output_dir} holds finished runs made otherwise than asked ({listed}): give another --output-dir, "
            "or delete those run folders to redo them"
        )
    asked = {
        "field": options.field,
        "values": [variant.value for variant in variants],
        "seeds": options.seeds,
        "base_seed": base_seed(),
        "data": describe_data(dataset, options.dataset_dir),
        "dataset_dir": str(dataset_dir),
        "output_mode": "varied" if options.field == "output_mode" else options.output_mode,
        "quick": options.quick,
        "epochs": recipe["epochs"],
        "methods": list(options.methods),
        "sd_ddof": SD_DDOF,
        "alignment_score_set": ALIGNMENT_SCORE_SET,
    }

    def write_study() -> dict[str, Any]:
        finished = [record for record in records.values() if record is not None]
        payload = {
            "study": asked,
            "scores": {
                name: {"label": score.label, "percent": score.percent} for name, score in SCORES.items()
            },
            "runs": finished,
            "summary": summarise(variants, finished, options.seeds),
            "failed_variants": failed_variants(finished),
        }
        write_json_atomic(output_dir / STUDY_FILE, payload)
        return payload

    from tqdm.auto import tqdm

    pending = [run for run in plan if records[run] is None]
    jobs = max(1, min(options.jobs, len(pending)))
    print(
        f"[study] {len(plan)} runs ({len(variants)} values x {options.seeds} seeds), {len(pending)} to do"
        + (f", {jobs} at a time" if jobs > 1 else "")
    )
    bar = tqdm(total=len(pending), desc="study", unit="run", disable=not options.progress)
    for run, record in run_all(pending, run_options, dataset, options.methods, jobs):
        records[run] = record
        write_study()
        bar.update()
        bar.write(f"[study] {run.name}: {headline(record)}")
    bar.close()
    payload = write_study()
    draw_figure(payload, output_dir / FIGURE_FILE)
    draw_learning_curves(payload, output_dir, output_dir / CURVES_FILE)
    write_table(payload, output_dir / TABLE_FILE)
    return payload


def run_all(
    pending: Sequence[Run],
    run_options: dict[Run, TrainOptions],
    dataset: dict[str, Any],
    methods: Sequence[str],
    jobs: int,
) -> Iterator[tuple[Run, dict[str, Any]]]:
    """Execute the pending runs, each run and its record as it finishes: in this process one after the other, or
    ``jobs`` at a time in as many processes of one thread each.

    Why processes: the paper model's operations are small, so a second thread barely speeds a training up, while a
    second run on the second core trains beside the first (docs/benchmarks.md, "Why two threads barely beat one").
    Each run is deterministic, so a run's record is the same either way (tests/test_study.py).
    """
    if jobs == 1:
        for run in pending:
            yield run, execute(run, run_options[run], dataset, methods)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=die_with_parent) as pool:
        futures = {pool.submit(execute, run, run_options[run], dataset, methods): run for run in pending}
        for future in as_completed(futures):
            yield futures[future], future.result()


def die_with_parent() -> None:
    """A worker process ends when the study's process does (Linux: ``PR_SET_PDEATHSIG``), so a killed study leaves
    no run training on: resuming it redoes the unfinished runs from scratch, as with one process."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def headline(record: dict[str, Any]) -> str:
    """One line for a finished run: its error, or its main scores and wall time."""
    if record["status"] == "failed":
        return f"FAILED: {record['error']}"
    scores = record["scores"]
    shown = ", ".join(
        f"{name} {scores[name]:.3f}"
        for name in ("wer", "bleu", "diagonality", f"best_method_{GOLD}")
        if scores.get(name) is not None
    )
    return f"{shown} ({record['seconds']['total']:.0f} s)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--vary",
        nargs="+",
        required=True,
        metavar=("FIELD", "VALUE"),
        help="a training option or model config field, then its values",
    )
    parser.add_argument("--seeds", type=int, default=StudyOptions.seeds, help="seeds per value")
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--config", choices=STUDY_CONFIGS, help=f"default: {StudyOptions.config}")
    data.add_argument(
        "--dataset-dir", type=Path, help="a dataset folder the builder made, instead of --config"
    )
    parser.add_argument("--output-mode", choices=OUTPUT_MODES)
    parser.add_argument(
        "--timing",
        choices=tuple(TIMINGS),
        default=StudyOptions.timing,
        help="synthetic signing's timing, with --config (docs/timing.md; default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="the main job's small subset and short training")
    parser.add_argument("--epochs", type=int, help="default: the main job's for the data")
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=list(StudyOptions.methods),
        help="attribution methods",
    )
    parser.add_argument("--output-dir", type=Path, default=StudyOptions.output_dir)
    parser.add_argument(
        "--jobs",
        type=int,
        default=StudyOptions.jobs,
        help="runs at once, one process (and one thread) each: up to one per CPU core, memory allowing "
        "(a sentence-disjoint run holds about 7 GB)",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    field, *values = args.vary
    if field == "output_mode" and args.output_mode is not None:
        parser.error("--output-mode sets what --vary output_mode varies: give one of them")
    options = StudyOptions(
        field=field,
        values=tuple(values),
        seeds=args.seeds,
        config=args.config or StudyOptions.config,
        dataset_dir=args.dataset_dir,
        output_mode=args.output_mode or StudyOptions.output_mode,
        timing=args.timing,
        quick=args.quick,
        epochs=args.epochs,
        methods=tuple(args.methods),
        output_dir=args.output_dir,
        progress=not args.no_progress,
        jobs=args.jobs,
    )
    try:
        result = study(options)
    except StudyError as error:
        parser.error(str(error))
    print(f"[study] {options.output_dir / STUDY_FILE}, {FIGURE_FILE}, {CURVES_FILE}, {TABLE_FILE}")
    failed = result["failed_variants"]
    if failed:
        listed = "; ".join(f"{variant}: {' / '.join(errors)}" for variant, errors in failed.items())
        print(
            f"[study] FAILED variants ({len(failed)} of {len(result['summary'])}): {listed}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
