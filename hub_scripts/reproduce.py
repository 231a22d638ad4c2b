"""Reproduce the SignAttention paper end to end: data -> training -> WER -> interpretability -> HTML report.

    python -m hub_scripts.reproduce                      # synthetic GSL (SI), the paper model, outputs/reproduce
    python -m hub_scripts.reproduce --quick              # a small subset, about a minute: a smoke test
    python -m hub_scripts.reproduce --poses-dir POSES    # real poses (dataset_builder.extract), same pipeline
    python -m hub_scripts.reproduce --gsl-root GSL       # real GSL videos/frames (MediaPipe runs once, cached)

Stages, each printed as it starts (with tqdm bars inside):
1. dataset: ``dataset_builder.build.build_dataset`` into ``OUTPUT/dataset`` (reused when it was built from the
   same source and config);
2. training: ``hub_scripts.train`` (paper setup) -> ``OUTPUT/model`` (Hub-ready), checkpoints, TensorBoard;
3. evaluation: WER on the test split -> ``OUTPUT/eval_results.json`` (also inside ``model/``);
4. interpretability: ``hub_scripts.interpret`` -> ``OUTPUT/interpretability.json`` and figures;
5. report: ``OUTPUT/report.html``.

The run ends with a check of its numbers: training loss must fall and WER must be below 100 % (else it fails
with exit code 1); the paper-scale targets (SI test WER <= 5 %, gold alignment accuracy >= 80 %) are reported.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataset_builder.gsl import CONFIGS
from dataset_builder.loading import OUTPUT_MODES, dataset_metadata
from hub_scripts.evaluate import write_json
from hub_scripts.interpret import interpret
from hub_scripts.report import write_report
from hub_scripts.train import TrainOptions, train

DEFAULT_OUTPUT_DIR = Path("outputs/reproduce")
# --quick: a smoke run of about a minute. The builder keeps the first N clips of each split; with N = 60 the training
# clips are the 15 police1 sentences, 4 repetitions by signer1, and 75 % of the test clips (signer3) sign one of
# them, so even a briefly trained model recognises something. Batches of 8 make enough optimizer steps from so few
# clips; the full run keeps the paper's 64.
QUICK = {"limit": 60, "epochs": 10, "batch_size": 8, "logging_steps": 8}
# The paper's model, trained to fit 15 minutes on 2 CPU cores. Measured on the synthetic SI corpus (plain loop,
# same model, 1,000 steps): dropout 0.2 learns ~2x slower than 0; peak lr 1e-2 diverges, 3e-3 with warmup and
# decay reaches val WER 3.4 % after 3,000 steps where the paper's constant 1e-3 is still above 90 %.
CPU_BUDGET_RECIPE = {
    "epochs": 30,
    "learning_rate": 3e-3,
    "lr_scheduler": "cosine",
    "warmup_ratio": 0.05,
    "dropout": 0.0,
}
TARGET_WER = 0.05
TARGET_GOLD_ALIGNMENT = 0.80


def stage(number: int, message: str) -> None:
    print(f"[reproduce {number}/5] {message}", flush=True)


def prepare_dataset(
    dataset_dir: Path,
    config: str,
    source: str,
    gsl_root: Path | None,
    poses_dir: Path | None,
    limit: int | None,
) -> Path:
    """Build the dataset, or reuse ``dataset_dir`` when it holds the same config from the same source."""
    from dataset_builder.build import build_dataset

    if dataset_dir.is_dir():
        try:
            existing = dataset_metadata(dataset_dir)
        except FileNotFoundError:
            existing = {}
        if existing.get("config") == config and existing.get("data_source") == source:
            print(f"  reusing {dataset_dir} ({config}, {source})")
            return dataset_dir
        print(f"  {dataset_dir} holds {existing or 'something else'}: rebuilding")
    return build_dataset(
        config, source, dataset_dir, gsl_root=gsl_root, poses_dir=poses_dir, limit=limit, overwrite=True
    )


def sanity_failures(log_history: list[dict[str, Any]], results: dict[str, Any]) -> list[str]:
    """What makes a run's numbers not credible: a loss that did not fall, or nothing recognised at all."""
    losses = [entry["loss"] for entry in log_history if "loss" in entry]
    failures = []
    if len(losses) < 2 or not losses[-1] < losses[0]:
        failures.append(f"training loss did not fall (logged: {losses[:1]} ... {losses[-1:]})")
    if not results["wer"] < 1.0:
        failures.append(f"test WER is {results['wer']:.1%}, not below 100 %")
    return failures


def reproduce(
    output_dir: Path = DEFAULT_OUTPUT_DIR,
    config: str = "si",
    gsl_root: Path | None = None,
    poses_dir: Path | None = None,
    output_mode: str = "gloss",
    d_model: int = 16,
    epochs: int | None = None,
    quick: bool = False,
) -> dict[str, Any]:
    """Run every stage; return the headline numbers (also in ``OUTPUT/eval_results.json``)."""
    if gsl_root is not None and poses_dir is not None:
        raise ValueError("Give --gsl-root or --poses-dir, not both")
    source = "gsl" if gsl_root is not None else "poses" if poses_dir is not None else "synthetic"
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    stage(1, f"dataset: GSL {config} from {source}{' (quick subset)' if quick else ''}")
    limit = QUICK["limit"] if quick else None
    dataset_dir = output_dir / (f"dataset_first{limit}" if quick else "dataset")
    prepare_dataset(dataset_dir, config, source, gsl_root, poses_dir, limit)
    timings["dataset"] = time.perf_counter() - started

    stage(2, f"training the paper model (d_model {d_model}, output {output_mode})")
    options = TrainOptions(
        dataset_dir=dataset_dir,
        output_dir=output_dir,
        output_mode=output_mode,
        d_model=d_model,
        **CPU_BUDGET_RECIPE,
    )
    if quick:
        options.epochs, options.batch_size = QUICK["epochs"], QUICK["batch_size"]
        options.logging_steps = QUICK["logging_steps"]
    if epochs is not None:
        options.epochs = epochs
    options.patience = options.epochs  # WER plateaus early in training: keep the best epoch, but do not stop
    mark = time.perf_counter()
    results = train(options)
    timings["training + test evaluation"] = time.perf_counter() - mark

    stage(3, f"evaluation: test WER {results['wer']:.2%} over {results['num_sentences']} sentences")
    shutil.copy(output_dir / "model" / "eval_results.json", output_dir / "eval_results.json")

    stage(4, "interpretability: cross-attention, gold alignment, video vs previous tokens")
    mark = time.perf_counter()
    scores = interpret(output_dir / "model", dataset_dir, output_dir / "interpretability")
    shutil.copy(
        output_dir / "interpretability" / "interpretability.json", output_dir / "interpretability.json"
    )
    timings["interpretability"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started

    stage(5, "report")
    write_json(output_dir / "timings.json", timings)
    report = write_report(output_dir)
    print(f"  {report}")

    headline = {
        "wer": results["wer"],
        "gold_alignment_accuracy": scores["gold_alignment_accuracy"],
        "sentence_accuracy": scores["sentence_accuracy"],
        "wall_seconds": timings["total"],
    }
    print(f"[reproduce] done in {timings['total'] / 60:.1f} min: {headline}")
    failures = sanity_failures(_log_history(output_dir), results)
    if failures:
        raise SanityCheckError("; ".join(failures))
    if not quick:
        report_targets(results["wer"], scores["gold_alignment_accuracy"])
    return headline


def _log_history(output_dir: Path) -> list[dict[str, Any]]:
    return json.loads((output_dir / "training_log.json").read_text(encoding="utf-8"))["log_history"]


def report_targets(wer: float, gold_alignment: Any) -> None:
    print(
        f"[reproduce] target test WER <= {TARGET_WER:.0%}: {'met' if wer <= TARGET_WER else 'MISSED'} ({wer:.2%})"
    )
    if isinstance(gold_alignment, float):
        met = "met" if gold_alignment >= TARGET_GOLD_ALIGNMENT else "MISSED"
        print(
            f"[reproduce] target gold alignment >= {TARGET_GOLD_ALIGNMENT:.0%}: {met} ({gold_alignment:.1%})"
        )
    else:
        print(
            f"[reproduce] gold alignment accuracy: {gold_alignment} (needs exact translations with gold spans)"
        )


class SanityCheckError(RuntimeError):
    """The run finished but its numbers are not credible (see ``sanity_failures``)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument(
        "--config", choices=CONFIGS, default="si", help="GSL config: si (signer independent) or sd"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--gsl-root", type=Path, help="real GSL: a folder of frame folders / videos per clip")
    source.add_argument("--poses-dir", type=Path, help="real poses: <clip path>.npy / .pose files")
    parser.add_argument("--output-mode", choices=OUTPUT_MODES, default="gloss")
    parser.add_argument("--d-model", type=int, default=16)
    parser.add_argument("--epochs", type=int, help="default: 30 (CPU_BUDGET_RECIPE), or 10 with --quick")
    parser.add_argument(
        "--quick", action="store_true", help="a small subset, about a minute: checks the pipeline"
    )
    args = parser.parse_args(argv)
    try:
        reproduce(**vars(args))
    except SanityCheckError as error:
        print(f"[reproduce] FAILED sanity check: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
