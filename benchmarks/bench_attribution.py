"""Attribution of a whole test split with every method, against one greedy decoding pass of the same split.

    python benchmarks/bench_attribution.py --model-dir outputs/reproduce/si/model \
        --dataset-dir outputs/reproduce/si/dataset [--threads 2] [--figure docs/attribution_speed.png]

Goal (issue 9): every method on the whole SI test split (881 clips) in at most 3 minutes on 2 CPU cores. The
baseline, measured in the same run, is decoding the split with ``generate()`` (what the page needs anyway): each
method's time is printed as a ratio to it. The decoded glosses of that pass are what the methods explain. Wall time
and process CPU time are both printed: on a shared machine the CPU time says what the work costs, the wall time
what it took.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from dataset_builder.loading import dataset_metadata, load_pose_splits
from modeling_signattention.interpretability import translate_with_attention
from modeling_signattention.interpretability.attribution import METHODS, attribute_clips
from modeling_signattention.loading import load_pretrained

GOAL_SECONDS = 180.0


def timed(function, *args, **kwargs) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path("outputs/reproduce/si/model"))
    parser.add_argument("--dataset-dir", type=Path, default=Path("outputs/reproduce/si/dataset"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-samples", type=int, help="only the first N clips")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--figure", type=Path, help="write a bar chart of the times here (PNG)")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model, feature_extractor, tokenizer = load_pretrained(args.model_dir)
    components = dataset_metadata(args.dataset_dir)["input_components"]
    data = load_pose_splits(args.dataset_dir, [args.split])[args.split]
    poses = data.poses[: args.max_samples] if args.max_samples else data.poses
    ids = data.ids[: len(poses)]

    translations, decode_wall, decode_cpu = timed(
        translate_with_attention,
        model,
        feature_extractor,
        tokenizer,
        poses,
        1,
        args.batch_size,
        components,
    )
    keep = [i for i, t in enumerate(translations) if t.glosses]
    glosses = sum(len(translations[i].glosses) for i in keep)
    print(
        f"{len(poses)} clips ({len(keep)} non-empty predictions, {glosses} glosses), {args.threads} threads; "
        f"baseline, greedy decoding with attentions: {decode_wall:.1f} s wall, {decode_cpu:.1f} s CPU"
    )
    results = {"clips": len(poses), "glosses": glosses, "threads": args.threads}
    results["decode"] = {"wall": decode_wall, "cpu": decode_cpu}
    total = 0.0
    for method in args.methods:
        _, wall, cpu = timed(
            attribute_clips,
            method,
            model,
            feature_extractor,
            [poses[i] for i in keep],
            [translations[i].token_ids for i in keep],
            clip_ids=[ids[i] for i in keep],
            input_components=components,
            batch_size=args.batch_size,
        )
        total += wall
        results[method] = {"wall": wall, "cpu": cpu}
        print(f"{method:>22}: {wall:7.1f} s wall ({wall / decode_wall:5.1f}x decoding), {cpu:7.1f} s CPU")
    verdict = "meets" if total <= GOAL_SECONDS else "misses"
    print(f"{'all methods':>22}: {total:7.1f} s wall: {verdict} the goal of {GOAL_SECONDS:.0f} s")
    results["total_wall"] = total
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.figure:
        draw(results, args.methods, args.figure)


def draw(results: dict, methods: list[str], path: Path) -> None:
    from matplotlib.figure import Figure

    names = ["decode (baseline)", *methods]
    walls = [results["decode"]["wall"], *(results[m]["wall"] for m in methods)]
    cpus = [results["decode"]["cpu"], *(results[m]["cpu"] for m in methods)]
    figure = Figure(figsize=(7.5, 3.6), layout="constrained")
    axis = figure.add_subplot()
    positions = range(len(names))
    axis.barh([p - 0.2 for p in positions], walls, height=0.4, label="wall")
    axis.barh([p + 0.2 for p in positions], cpus, height=0.4, label="process CPU")
    axis.set_yticks(list(positions), names)
    axis.invert_yaxis()
    axis.set_xlabel("seconds")
    axis.set_title(
        f"Attribution of {results['clips']} clips ({results['glosses']} glosses), {results['threads']} threads: "
        f"{results['total_wall']:.0f} s in all",
        fontsize=9,
    )
    axis.legend()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
