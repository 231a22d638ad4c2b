"""Render the Hub model card (the model repository's ``README.md``) from a training run's real results.

The card is the repository's only documentation on the Hub, so every number in it comes from the files the run
wrote, never from defaults: ``eval_results.json`` (required: without it there is nothing honest to say about
quality), ``interpretability.json`` (optional), ``config.json`` / ``preprocessor_config.json`` of the model, and
the PNG figures of the report. The template is ``model_card.md`` at the repository root (Jinja, rendered by
``huggingface_hub.ModelCard.from_template``, which also writes the YAML front matter and the ``model-index``).

Where the run's files are looked for: the run folder is the model folder's parent when that holds
``eval_results.json`` (the reproduce layout: ``outputs/reproduce/si/{model/, eval_results.json,
interpretability.json, training_curves.png, interpretability/*.png}``), else the model folder itself. The figures
are the PNGs of the run folder and of its ``interpretability/`` and ``figures/`` subfolders.

    python -m hub_scripts.model_card --model-dir outputs/reproduce/si/model --repo-id OWNER/NAME > README.md
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from dataset_builder.timing import describe_timing
from modeling_signattention.interpretability.results import RunScores
from modeling_signattention.interpretability.schema import (
    ALIGNMENT_SCORES,
    DATA_SOURCES,
    EVAL_RESULTS_FILE,
    FIGURE_CAPTIONS,
    INTERPRETABILITY_FILE,
    NO_DATA,
    SCORE_SETS,
    VIDEO_SHARE,
    shown_score_sets,
)
from modeling_signattention.layouts import DEFAULT_LAYOUT, get_layout

# The repository's top-level model_card.md, through a link inside the package: an installed (non-editable) package
# ships the file itself (setup.cfg package_data) and renders cards without the repository.
TEMPLATE_PATH = Path(__file__).with_name("model_card.md")

# output_mode (hub_scripts.evaluate) -> how the card names what the model writes.
OUTPUT_MODES: dict[str, dict[str, str]] = {
    "gloss": {
        "token_name": "gloss",
        "tokens_name": "glosses",
        "tokens_description": "GSL glosses (not Greek sentences)",
    },
    "text": {
        "token_name": "text",
        "tokens_name": "words",
        "tokens_description": "Greek words (a translation, not glosses)",
    },
}
REQUIRED_EVAL_KEYS = (
    "data_source",
    "config",
    "split",
    "output_mode",
    "wer",
    "num_sentences",
    "num_reference_words",
)
WER_DETAIL_KEYS = ("substitutions", "deletions", "insertions", "hits")
# What hub_scripts.train adds to eval_results.json about the run, with the card's wording.
TRAINING_KEYS = {
    "epochs_trained": "epochs trained",
    "best_validation_wer": "best validation WER",
    "train_seconds": "training time (s)",
    "train_samples_per_second": "training samples per second",
}
FIGURE_FOLDERS = (".", "interpretability", "figures")
TAGS = ["sign-language-translation", "gsl", "pose", "interpretability", "custom_code"]


@dataclass
class RunResults:
    """What a training run left next to its model folder, as the card needs it."""

    eval_results: dict[str, Any]
    eval_results_path: Path
    interpretability: dict[str, Any] | None
    interpretability_path: Path | None
    figures: list[Path]
    report: Path | None  # report.html of hub_scripts.report, self-contained


def find_run_results(model_dir: str | Path) -> RunResults:
    """Locate and validate ``eval_results.json`` and what lies next to it (see module docstring)."""
    model_dir = Path(model_dir)
    run_dir = model_dir.parent if (model_dir.parent / EVAL_RESULTS_FILE).is_file() else model_dir
    eval_path = run_dir / EVAL_RESULTS_FILE
    if not eval_path.is_file():
        raise FileNotFoundError(
            f"No eval_results.json in {model_dir} or {model_dir.parent}: the model card reports the real test WER, "
            "so evaluate first (python -m hub_scripts.reproduce writes it)"
        )
    eval_results = _read_json(eval_path)
    _validate_eval_results(eval_results, eval_path)
    interpretability_path = run_dir / INTERPRETABILITY_FILE
    has_interpretability = interpretability_path.is_file()
    return RunResults(
        eval_results=eval_results,
        eval_results_path=eval_path,
        interpretability=_read_json(interpretability_path) if has_interpretability else None,
        interpretability_path=interpretability_path if has_interpretability else None,
        figures=find_figures(run_dir),
        report=run_dir / "report.html" if (run_dir / "report.html").is_file() else None,
    )


def find_figures(run_dir: Path) -> list[Path]:
    """The run's PNGs: the known figures in reading order, then any other, by name."""
    figures = [path for folder in FIGURE_FOLDERS for path in sorted((run_dir / folder).glob("*.png"))]
    order = list(FIGURE_CAPTIONS)
    return sorted(
        figures, key=lambda path: (order.index(path.name) if path.name in order else len(order), path.name)
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def _validate_eval_results(results: dict[str, Any], path: Path) -> None:
    missing = [key for key in REQUIRED_EVAL_KEYS if key not in results]
    if missing:
        raise ValueError(f"{path} lacks {missing}, needed for the model card")
    if results["output_mode"] not in OUTPUT_MODES:
        raise ValueError(
            f"{path}: output_mode {results['output_mode']!r} is not one of {sorted(OUTPUT_MODES)}"
        )
    if results["data_source"] not in DATA_SOURCES:
        raise ValueError(
            f"{path}: data_source {results['data_source']!r} is not one of {sorted(DATA_SOURCES)}"
        )
    wer = results["wer"]
    if isinstance(wer, bool) or not isinstance(wer, int | float) or not math.isfinite(wer) or wer < 0:
        raise ValueError(f"{path}: wer must be a non-negative fraction, got {wer!r}")


def figure_title(path: Path) -> str:
    """The known caption, else the file name as words: ``attention_by_signer.png`` -> ``Attention by signer``."""
    if path.name in FIGURE_CAPTIONS:
        return FIGURE_CAPTIONS[path.name]
    return " ".join(path.stem.replace("-", " ").replace("_", " ").split()).capitalize()


def _format(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}"
    return NO_DATA if value is None else str(value)


def training_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, label in TRAINING_KEYS.items():
        if key in results:
            value = results[key]
            rows.append((label, f"{100 * value:.2f} %" if key.endswith("wer") else _format(value)))
    return rows


def interpretability_table(scores: dict[str, Any]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Header and rows of the score table: one column per set of test sentences that has any, one row per score.

    Cells without data say ``NO_DATA`` (as ``interpretability.json`` does), never 0.
    """
    sets = shown_score_sets(scores)
    header = [SCORE_SETS[name] for name in sets]
    rows = [("sentences", [_format(scores[name].get("num_sentences", 0)) for name in sets])]
    for key, score in ALIGNMENT_SCORES.items():
        values = [scores[name].get("attention_alignment", {}).get(key) for name in sets]
        if any(value not in (None, NO_DATA) for value in values):
            rows.append((score.label, [_format(value) for value in values]))
    video_share = [scores[name].get("contribution", {}).get("norm_ratio") for name in sets]
    rows.append((VIDEO_SHARE.label, [_format(v) for v in video_share]))
    return header, rows


def trust_summary(scores: dict[str, Any]) -> dict[str, str | None] | None:
    """The attribution leaderboard's answer in one paragraph's numbers: the best method, where it was picked, its
    gold peak accuracy next to both baselines, and the share of test clips a model could have memorised; ``None``
    when the run measured no method against gold spans (real data: nothing to claim)."""
    run = RunScores.from_json(scores)
    accuracy = run.best_accuracy
    if not isinstance(accuracy, float):
        return None
    return {
        "method": run.pick.method,
        "chosen_on": run.pick.picked_on,
        "accuracy": f"{accuracy:.1%}",
        "timing": describe_timing(scores.get("timing"), scores.get("data_source")),
        "prior": _percent(run.prior_accuracy),
        "uniform": _percent(run.score("uniform", "gold_peak_accuracy")),
        "num_glosses": _format(run.num_gold_glosses),
        "seen_share": _percent(run.seen_sentence_share),
        "timestamp_method": run.pick.timestamp_method,
    }


def _percent(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, float) else NO_DATA


def card_data(results: dict[str, Any], repo_id: str, dataset_id: str) -> ModelCardData:
    """Front matter: the Hub's metadata fields, with the WER in ``model-index`` stating its data source."""
    source_label = DATA_SOURCES[results["data_source"]][0]
    config, split = results["config"], results["split"]
    return ModelCardData(
        model_name=repo_id.split("/")[-1],
        library_name="transformers",
        pipeline_tag="translation",
        tags=list(TAGS),
        language=["gss", "el"],
        license="mit",
        datasets=[dataset_id],
        metrics=["wer"],
        eval_results=[
            EvalResult(
                task_type="translation",
                task_name="Sign language translation (poses to glosses)",
                dataset_type=dataset_id,
                dataset_name=f"GSL {config.upper()} ({source_label})",
                dataset_config=config,
                dataset_split=split,
                metric_type="wer",
                metric_name=f"WER ({results['output_mode']}, {source_label})",
                metric_value=round(float(results["wer"]), 4),
            )
        ],
    )


def render_model_card(
    model_dir: str | Path,
    repo_id: str,
    dataset_id: str = "gsl",
    figure_paths: dict[Path, str] | None = None,
    results: RunResults | None = None,
) -> ModelCard:
    """The model card of ``model_dir`` for the Hub repository ``repo_id``.

    ``dataset_id`` is the ``datasets`` entry (the dataset repo on the Hub when one was pushed).
    ``figure_paths`` maps each figure to the path it has in the repository (default: its file name).
    """
    model_dir = Path(model_dir)
    results = results if results is not None else find_run_results(model_dir)
    config = _read_json(model_dir / "config.json")
    layout = get_layout(config.get("layout", DEFAULT_LAYOUT))  # configs saved before layouts: Holistic
    preprocessor = _read_json(model_dir / "preprocessor_config.json")
    evaluation = results.eval_results
    source_label, source_description = DATA_SOURCES[evaluation["data_source"]]
    if evaluation.get("corpus"):  # your own corpus (dataset_builder.manifest), by its manifest's name
        source_description = f"the corpus of `{evaluation['corpus']}`: {source_description}"
    figure_paths = figure_paths or {path: path.name for path in results.figures}
    interpretability = results.interpretability
    header, rows = interpretability_table(interpretability) if interpretability else ([], [])
    template_kwargs = {
        "model_name": repo_id.split("/")[-1],
        "repo_id": repo_id,
        "data_source": evaluation["data_source"],
        **OUTPUT_MODES[evaluation["output_mode"]],
        "data_source_label": source_label,
        "data_source_description": source_description,
        "config": config,
        "preprocessor": preprocessor,
        "input_description": (
            f"{layout.name} pose layout, {', '.join(config['landmark_components'])}: "
            f"{layout.num_points(config['landmark_components'])} points x "
            f"{config['num_coordinates']} coordinates per frame, at most {config['max_source_positions']} frames"
        ),
        "num_parameters": _num_parameters(model_dir),
        "eval": evaluation,
        "wer_percent": f"{100 * float(evaluation['wer']):.2f}",
        "wer_details": [(key, _format(evaluation[key])) for key in WER_DETAIL_KEYS if key in evaluation],
        "training": training_rows(evaluation),
        "interpretability": interpretability,
        "interpretability_header": header,
        "interpretability_rows": rows,
        "trust": trust_summary(interpretability) if interpretability else None,
        "figures": [{"title": figure_title(path), "path": figure_paths[path]} for path in results.figures],
        "has_report": results.report is not None,
    }
    return ModelCard.from_template(
        card_data(evaluation, repo_id, dataset_id), template_path=str(TEMPLATE_PATH), **template_kwargs
    )


def _num_parameters(model_dir: Path) -> str:
    """Counted from the safetensors header, so rendering never loads (or needs) the model code."""
    from safetensors import safe_open

    total = 0
    with safe_open(str(model_dir / "model.safetensors"), framework="np") as weights:
        for name in weights.keys():
            total += math.prod(weights.get_slice(name).get_shape())
    return f"{total:,}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME of the model repository")
    parser.add_argument(
        "--dataset-id", default="gsl", help="the card's datasets entry (a Hub dataset repo id)"
    )
    args = parser.parse_args(argv)
    print(render_model_card(args.model_dir, args.repo_id, args.dataset_id).content)


if __name__ == "__main__":
    main()
