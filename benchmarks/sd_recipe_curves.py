"""Validation WER against training clips seen, for runs of ``hub_scripts.train`` on the sentence-disjoint data: how
fast each recipe learns to read, per clip and per second of training (the runs' own clocks: compare runs that shared
the machine alike), and where it ended on test.

    python benchmarks/sd_recipe_curves.py RUN_DIR [RUN_DIR ...] --output curves.png

Each RUN_DIR is a ``hub_scripts.train`` output folder (``training_log.json``, ``model/eval_results.json``, and the
Trainer's arguments in ``model/training_args.bin``). The clips of the isolated-sign stage count too: a recipe
that learns the signs first pays for them before its first sentence.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from transformers.trainer import TRAINING_ARGS_NAME

from hub_scripts.study import save_figure_atomic
from modeling_signattention.interpretability.schema import EVAL_RESULTS_FILE, TRAINING_LOG_FILE


def run_curve(run_dir: Path, name: str) -> dict[str, Any]:
    """A run's recipe, its validation WER after each epoch against the training clips seen and the training seconds
    spent by then (a stage's seconds shared out by its steps), and its test WER (of the epoch with the best
    validation WER)."""
    log = json.loads((run_dir / TRAINING_LOG_FILE).read_text(encoding="utf-8"))
    arguments = torch.load(run_dir / "model" / TRAINING_ARGS_NAME, weights_only=False)
    batch = arguments.per_device_train_batch_size
    first_stage = [entry for entry in log.get("isolated_sign_log_history", []) if "train_runtime" in entry]
    # the first stage may run at another batch size: its clips are its epochs' clips, as the Trainer counts them
    first = (
        first_stage[0] if first_stage else {"train_runtime": 0.0, "train_samples_per_second": 0.0, "epoch": 0}
    )
    first_clips = round(first["train_runtime"] * first["train_samples_per_second"])
    main_stage = next(entry for entry in log["log_history"] if "train_runtime" in entry)
    points = [
        (
            first_clips + entry["step"] * batch,
            first["train_runtime"] + main_stage["train_runtime"] * entry["step"] / main_stage["step"],
            entry["eval_wer"],
        )
        for entry in log["log_history"]
        if "eval_wer" in entry
    ]
    test = json.loads((run_dir / "model" / EVAL_RESULTS_FILE).read_text(encoding="utf-8"))
    first_batch = f"{round(first_clips / first['step'])} then " if first_stage else ""
    label = (
        f"{name}: batch {first_batch}{batch}, lr {arguments.learning_rate:g}, "
        f"{round(first['epoch'])} + {round(arguments.num_train_epochs)} epochs"
    )
    return {"label": label, "first_stage_clips": first_clips, "points": points, "test_wer": test["wer"]}


def draw(curves: list[dict[str, Any]], path: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    figure = Figure(figsize=(12, 4.5), layout="constrained")
    by_clips, by_seconds = figure.subplots(1, 2, sharey=True)
    for k, curve in enumerate(curves):
        clips, seconds, wer = zip(*curve["points"], strict=True)
        for axis, x in ((by_clips, [c / 1e6 for c in clips]), (by_seconds, seconds)):
            axis.plot(x, wer, marker=".", color=f"C{k}", label=curve["label"])
            axis.plot(x[-1], curve["test_wer"], marker="*", markersize=11, color=f"C{k}")
            axis.grid(alpha=0.3)
    by_clips.set_xlabel("training clips seen, millions (isolated-sign stage included)")
    by_seconds.set_xlabel("training seconds, validation included (as each run measured them)")
    by_clips.set_ylabel("validation WER (greedy); star: test WER")
    by_clips.set_ylim(0, 1.2)
    by_clips.yaxis.set_major_formatter(PercentFormatter(1.0))
    by_clips.legend(fontsize="small")
    figure.suptitle(
        "Sentence-disjoint setting: learning to read, per training clip and per second", fontsize="medium"
    )
    save_figure_atomic(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument(
        "--names", nargs="+", help="one name per run for the legend (default: the folder names)"
    )
    parser.add_argument("--output", type=Path, default=Path("sd_recipe_curves.png"))
    args = parser.parse_args()
    names = args.names or [run.name for run in args.runs]
    if len(names) != len(args.runs):
        parser.error(f"--names gives {len(names)} names for {len(args.runs)} runs")
    curves = [run_curve(run, name) for run, name in zip(args.runs, names, strict=True)]
    for curve in curves:
        last_clips, last_seconds, last_wer = curve["points"][-1]
        print(
            f"{curve['label']}: {last_clips / 1e6:.2f} M clips (first stage {curve['first_stage_clips'] / 1e6:.2f} M),"
            f" {last_seconds:.0f} s, last validation WER {last_wer:.1%}, test WER {curve['test_wer']:.1%}"
        )
    draw(curves, args.output)
    print(f"figure: {args.output}")


if __name__ == "__main__":
    main()
