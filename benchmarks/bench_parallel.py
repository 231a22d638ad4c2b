"""Two CPU cores for training: two intra-op threads in one process, or two data-parallel processes?

    python benchmarks/bench_parallel.py --dataset-dir DIR [--epochs 1] [--repeats 2] [--configs t1 t2 ddp ...]

Runs ``hub_scripts.train`` as a user would, with the main job's recipe (``CPU_BUDGET_RECIPE``) and the same global
batch of 64 in every configuration, interleaved, and reports the Trainer's ``train_runtime`` (training and the
per-epoch validation, not loading or the test evaluation) with its ratio to one process on one thread:

* ``t1``: one process, ``--threads 1`` (the default);
* ``t2``: one process, ``--threads 2`` (PyTorch's own default on a 2-core machine);
* ``t2passive``: the same with ``OMP_WAIT_POLICY=passive`` (idle OpenMP threads sleep instead of spinning);
* ``ddp``: ``torchrun --nproc_per_node 2`` (gloo), one thread each, ``--batch-size 32`` per process.

Also printed: the mean training loss over the run of each (data-parallel processes sample frames with their own
draws, so the curves agree in distribution, not bit for bit) and the load average, since other jobs on the
machine change the answer (see docs/benchmarks.md, "Why two threads barely beat one").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub_scripts.reproduce import CPU_BUDGET_RECIPE
from modeling_signattention.interpretability.schema import EVAL_RESULTS_FILE, TRAINING_LOG_FILE

GLOBAL_BATCH = 64
# name: (processes, intra-op threads per process, extra environment)
CONFIGS: dict[str, tuple[int, int, dict[str, str]]] = {
    "t1": (1, 1, {}),
    "t2": (1, 2, {}),
    "t2passive": (1, 2, {"OMP_WAIT_POLICY": "passive"}),
    "ddp": (2, 1, {}),
}


def launcher(processes: int) -> list[str]:
    if processes == 1:
        return [sys.executable, "-m", "hub_scripts.train"]
    distributed = ["torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    return [sys.executable, "-m", *distributed, "-m", "hub_scripts.train"]


def recipe_flags() -> list[str]:
    return [
        f"--{name.replace('_', '-')}={value}" for name, value in CPU_BUDGET_RECIPE.items() if name != "epochs"
    ]


def run(config: str, dataset_dir: Path, epochs: int, max_train_samples: int | None, output_dir: Path) -> dict:
    processes, threads, environment = CONFIGS[config]
    command = [
        *launcher(processes),
        f"--threads={threads}",
        f"--dataset-dir={dataset_dir}",
        f"--output-dir={output_dir}",
        f"--epochs={epochs}",
        f"--batch-size={GLOBAL_BATCH // processes}",
        "--max-eval-samples=64",
        "--logging-steps=10",
        "--no-progress",
        "--overwrite",
        *recipe_flags(),
        *([f"--max-train-samples={max_train_samples}"] if max_train_samples else []),
    ]
    load = os.getloadavg()[0]
    completed = subprocess.run(
        command,
        env={**os.environ, "OMP_NUM_THREADS": str(threads), **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise RuntimeError(f"{config} failed:\n{completed.stderr[-3000:]}")
    results = json.loads((output_dir / "model" / EVAL_RESULTS_FILE).read_text())
    history = json.loads((output_dir / TRAINING_LOG_FILE).read_text())["log_history"]
    losses = [entry["loss"] for entry in history if "loss" in entry]
    return {
        "train_seconds": results["train_seconds"],
        "mean_loss": statistics.mean(losses),
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset-dir", type=Path, required=True, help="python -m dataset_builder.build output"
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-train-samples", type=int)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=["t1", "t2", "ddp"])
    parser.add_argument("--output", type=Path, help="write the runs as JSON here")
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {config: [] for config in args.configs}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):  # interleaved: a burst of load hits every configuration alike
            for config in args.configs:
                started = time.perf_counter()
                result = run(
                    config, args.dataset_dir, args.epochs, args.max_train_samples, Path(scratch) / config
                )
                runs[config].append(result)
                print(
                    f"repeat {repeat + 1} {config:10s} train_runtime {result['train_seconds']:7.1f} s, "
                    f"mean loss {result['mean_loss']:.4f}, load {result['load_before']:.2f} -> "
                    f"{result['load_after']:.2f} ({time.perf_counter() - started:.0f} s in all)",
                    flush=True,
                )
    baseline = statistics.median(result["train_seconds"] for result in runs[args.configs[0]])
    for config, results in runs.items():
        median = statistics.median(result["train_seconds"] for result in results)
        print(
            f"{config:10s} median train_runtime {median:7.1f} s: {baseline / median:.2f}x {args.configs[0]}"
        )
    if args.output:
        args.output.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
