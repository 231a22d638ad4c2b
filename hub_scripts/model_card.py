"""Render the Hub model card (the model repository's ``README.md``) from a training run's real results.

The card is the repository's only documentation on the Hub, so every number in it comes from the files the run
wrote, never from defaults: ``eval_results.json`` (required: without it there is nothing honest to say about
quality), ``interpretability.json`` (optional), ``config.json`` / ``preprocessor_config.json`` of the model, and
the PNG figures of the report. The template is ``model_card.md`` at the repository root (Jinja, rendered by
``huggingface_hub.ModelCard.from_template``, which also writes the YAML front matter and the ``model-index``).

Where the run's files are looked for: ``eval_results.json`` in the model folder, else in its parent (the
reproduce layout: ``outputs/reproduce/{model/, eval_results.json, interpretability.json, *.png}``);
``interpretability.json`` and the figures (``*.png`` and ``figures/*.png``) next to ``eval_results.json``.

    python -m hub_scripts.model_card --model-dir outputs/reproduce/model --repo-id OWNER/NAME > README.md
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from modeling_signattention.configuration_signattention import HOLISTIC_COMPONENTS

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "model_card.md"

DATA_SOURCES: dict[str, tuple[str, str]] = {
    # data_source -> (short label, one-sentence description)
    "synthetic": (
        "synthetic poses",
        "synthetic MediaPipe Holistic poses rendered from the real GSL gloss annotations by seven virtual "
        "signers (`dataset_builder.synthetic`); no recording of a person signing was used.",
    ),
    "gsl": (
        "real GSL videos",
        "MediaPipe Holistic poses extracted from the real Greek Sign Language (GSL) dataset videos.",
    ),
    "poses": (
        "real GSL poses",
        "precomputed MediaPipe Holistic poses of the real Greek Sign Language (GSL) dataset videos.",
    ),
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
# Per-step, per-sample and per-length breakdowns are for figures, not for a card table.
_BREAKDOWN_KEYS = {"by_length", "by_step", "per_sample", "per_sentence", "examples"}
TAGS = ["sign-language-translation", "gsl", "pose", "interpretability", "custom_code"]


@dataclass
class RunResults:
    """What a training run left next to its model folder, as the card needs it."""

    eval_results: dict[str, Any]
    eval_results_path: Path
    interpretability: dict[str, Any] | None
    interpretability_path: Path | None
    figures: list[Path]


def find_run_results(model_dir: str | Path) -> RunResults:
    """Locate and validate ``eval_results.json`` and what lies next to it (see module docstring)."""
    model_dir = Path(model_dir)
    candidates = [model_dir / "eval_results.json", model_dir.parent / "eval_results.json"]
    eval_path = next((path for path in candidates if path.is_file()), None)
    if eval_path is None:
        raise FileNotFoundError(
            f"No eval_results.json in {candidates[0].parent} or {candidates[1].parent}: the model card reports "
            "the real test WER, so evaluate first (python -m hub_scripts.reproduce writes it)"
        )
    eval_results = _read_json(eval_path)
    _validate_eval_results(eval_results, eval_path)
    run_dir = eval_path.parent
    interpretability_path = run_dir / "interpretability.json"
    has_interpretability = interpretability_path.is_file()
    figures = sorted(run_dir.glob("*.png")) + sorted(run_dir.glob("figures/*.png"))
    return RunResults(
        eval_results=eval_results,
        eval_results_path=eval_path,
        interpretability=_read_json(interpretability_path) if has_interpretability else None,
        interpretability_path=interpretability_path if has_interpretability else None,
        figures=figures,
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
    if results["data_source"] not in DATA_SOURCES:
        raise ValueError(
            f"{path}: data_source {results['data_source']!r} is not one of {sorted(DATA_SOURCES)}"
        )
    wer = results["wer"]
    if isinstance(wer, bool) or not isinstance(wer, int | float) or not math.isfinite(wer) or wer < 0:
        raise ValueError(f"{path}: wer must be a non-negative fraction, got {wer!r}")


def figure_title(path: Path) -> str:
    """``cross_attention_by_length.png`` -> ``Cross attention by length``."""
    words = path.stem.replace("-", " ").replace("_", " ").split()
    return " ".join(words).capitalize()


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _flat_scores(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every scalar of a nested results dict as ``("alignment.diagonality", "0.83")``, breakdowns skipped."""
    for key, value in data.items():
        if key in _BREAKDOWN_KEYS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flat_scores(value, f"{name}.")
        elif isinstance(value, bool | int | float | str) or value is None:
            yield name, "n/a" if value is None else _format(value)


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
    preprocessor = _read_json(model_dir / "preprocessor_config.json")
    evaluation = results.eval_results
    source_label, source_description = DATA_SOURCES[evaluation["data_source"]]
    figure_paths = figure_paths or {path: path.name for path in results.figures}
    training = evaluation.get("training")
    template_kwargs = {
        "model_name": repo_id.split("/")[-1],
        "repo_id": repo_id,
        "data_source": evaluation["data_source"],
        "data_source_label": source_label,
        "data_source_description": source_description,
        "config": config,
        "preprocessor": preprocessor,
        "input_description": (
            f"MediaPipe Holistic {', '.join(config['landmark_components'])}: {_num_points(config)} points x "
            f"{config['num_coordinates']} coordinates per frame, at most {config['max_source_positions']} frames"
        ),
        "num_parameters": _num_parameters(model_dir),
        "eval": evaluation,
        "wer_percent": f"{100 * float(evaluation['wer']):.2f}",
        "wer_details": [(key, _format(evaluation[key])) for key in WER_DETAIL_KEYS if key in evaluation],
        "training": list(_flat_scores(training)) if isinstance(training, dict) else [],
        "interpretability": list(_flat_scores(results.interpretability)) if results.interpretability else [],
        "figures": [{"title": figure_title(path), "path": figure_paths[path]} for path in results.figures],
    }
    return ModelCard.from_template(
        card_data(evaluation, repo_id, dataset_id), template_path=str(TEMPLATE_PATH), **template_kwargs
    )


def _num_points(config: dict[str, Any]) -> int:
    return sum(HOLISTIC_COMPONENTS[name] for name in config["landmark_components"])


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
