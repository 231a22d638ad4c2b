"""Attribution of a whole test split with every method, against one greedy decoding pass of the same split.

    python benchmarks/bench_attribution.py --model-dir outputs/reproduce/si/model \
        --dataset-dir outputs/reproduce/si/dataset [--threads 2] [--figure docs/attribution_speed.png]

Goal (issue 9): every method on the whole SI test split (881 clips) in at most 3 minutes on 2 CPU cores. Two
baselines are measured in the same run:

* decoding the split with ``generate()`` (what the page needs anyway): each method's time is printed as a ratio to
  it; the decoded glosses of that pass are what the methods explain;
* for the gradient methods, the per-gloss layout they replaced (Captum on one row per (clip, gloss), so the model
  runs once per gloss and step, kept here only), against the library's one-pass-per-clip path, on the same
  ``--compare-clips`` clips, alternating ``--repeats`` times so that load on a shared machine hits both alike.

Wall time and process CPU time are both printed, with the load average: on a shared machine the CPU time says what
the work costs, the wall time what it took.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from dataset_builder.loading import dataset_metadata, load_pose_splits
from modeling_signattention.interpretability import translate_with_attention
from modeling_signattention.interpretability.attribution import (
    GRADIENT_METHODS,
    METHODS,
    attribute_clips,
    clip_batches,
    decoded_batch,
    gloss_log_probs,
    signed_gradient_attributions,
)
from modeling_signattention.loading import load_pretrained

GOAL_SECONDS = 180.0


def timed(function, *args, **kwargs) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def per_gloss_attributions(method: str, model, batch, sequences, internal_batch_size: int = 64) -> None:
    """The layout the gradient methods had before (the baseline): Captum on one row per (clip, gloss), target = the
    gloss position, so the model runs forward and backward once per gloss (and per integration step)."""
    from captum.attr import InputXGradient, IntegratedGradients

    decoded = decoded_batch(model, batch, sequences)
    clips = torch.tensor([row for row, glosses in enumerate(decoded.num_glosses) for _ in range(glosses)])
    positions = [k for glosses in decoded.num_glosses for k in range(glosses)]

    def forward(features, mask, decoder_input_ids, targets):
        return gloss_log_probs(model, features, mask, decoder_input_ids, targets)

    for start in range(0, len(clips), internal_batch_size):
        rows = clips[start : start + internal_batch_size]
        inputs = decoded.input_features[rows]
        target = positions[start : start + internal_batch_size]
        extra = (decoded.attention_mask[rows], decoded.decoder_input_ids[rows], decoded.targets[rows])
        if method == "integrated_gradients":
            IntegratedGradients(forward).attribute(
                inputs,
                baselines=0.0,
                target=target,
                additional_forward_args=extra,
                n_steps=8,
                method="gausslegendre",
                internal_batch_size=internal_batch_size,
            )
        else:
            InputXGradient(forward).attribute(
                inputs.clone().requires_grad_(), target=target, additional_forward_args=extra
            )


def compare_layouts(model, batch, sequences, repeats: int) -> dict:
    """Best CPU and wall seconds of the per-gloss baseline and of the library path, alternating, per method."""
    results = {}
    for method in GRADIENT_METHODS:
        times = {"per_gloss": [], "one_pass_per_clip": []}
        for _ in range(repeats):
            times["per_gloss"].append(timed(per_gloss_attributions, method, model, batch, sequences)[1:])
            times["one_pass_per_clip"].append(
                timed(signed_gradient_attributions, method, model, batch, sequences)[1:]
            )
        best = {side: (min(w for w, _ in t), min(c for _, c in t)) for side, t in times.items()}
        results[method] = {side: {"wall": w, "cpu": c} for side, (w, c) in best.items()}
        results[method]["cpu_ratio"] = best["per_gloss"][1] / best["one_pass_per_clip"][1]
        print(
            f"{method:>22}: per-gloss layout {best['per_gloss'][1]:6.1f} s CPU, one pass per clip "
            f"{best['one_pass_per_clip'][1]:6.1f} s CPU: {results[method]['cpu_ratio']:.2f}x "
            f"(best of {repeats}, load {os.getloadavg()[0]:.1f})"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=Path("outputs/reproduce/si/model"))
    parser.add_argument("--dataset-dir", type=Path, default=Path("outputs/reproduce/si/dataset"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-samples", type=int, help="only the first N clips")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument(
        "--compare-clips", type=int, default=64, help="clips for the per-gloss comparison (0: skip)"
    )
    parser.add_argument("--repeats", type=int, default=2)
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
    results = {"clips": len(poses), "glosses": glosses, "threads": args.threads, "load": os.getloadavg()}
    results["decode"] = {"wall": decode_wall, "cpu": decode_cpu}
    if args.compare_clips:
        subset = keep[: args.compare_clips]
        _, batch, sequences, _ = clip_batches(
            model,
            feature_extractor,
            [poses[i] for i in subset],
            [translations[i].token_ids for i in subset],
            input_components=components,
            batch_size=len(subset),
        )[0]
        results["layouts"] = compare_layouts(model, batch, sequences, args.repeats)
    total = total_cpu = 0.0
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
        total_cpu += cpu
        results[method] = {"wall": wall, "cpu": cpu}
        print(
            f"{method:>22}: {wall:7.1f} s wall ({wall / decode_wall:5.1f}x decoding), {cpu:7.1f} s CPU, "
            f"load {os.getloadavg()[0]:.1f}"
        )
    verdict = "meets" if total <= GOAL_SECONDS else "misses"
    print(
        f"{'all methods':>22}: {total:7.1f} s wall, {total_cpu:7.1f} s CPU: {verdict} the goal of "
        f"{GOAL_SECONDS:.0f} s"
    )
    results["total_wall"], results["total_cpu"] = total, total_cpu
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
