"""One training step of the paper model against this machine's physical limits, stage by stage.

    python benchmarks/bench_step.py [--frames 119] [--threads 1 2] [--dtypes fp32 bf16] [--repeats 5]
        [--dropout 0.0] [--batch-sizes 16 32 64 128] [--output step.json]

1. The roofline of ``roofline.py`` at each thread count, and for 2 single-threaded processes at once.
2. One training step as ``hub_scripts.train`` runs it: the model ``build_model`` makes (paper preset, dropout of
   the main job unless ``--dropout``), a length bucket of 64 synthetic SI training clips of about ``--frames``
   sampled frames through ``PoseCollator``, the Trainer's own optimizer (``create_optimizer``) and gradient
   clipping, bf16 as the Trainer's ``--bf16`` (CPU autocast). Split into stages: forward by hooks on the stage
   modules, backward by hooks on the autograd nodes each stage's forward created, then the optimizer. Per stage:
   operators ("small": none of their tensors reaches torch's grain size, so they run on one thread whatever the
   thread count), FLOPs (matmuls and attention, 2 per multiply-add), bytes (every operator's tensor inputs and
   outputs: the traffic if nothing stayed in cache between operators), all counted once by a dispatch mode; time
   (median over ``--repeats`` steps, configurations interleaved step by step); achieved GFLOP/s and GB/s; "%bound":
   the time at the roofline (FLOPs at matmul peak or bytes at in-cache bandwidth, whichever is longer) over the
   time taken; "floor": operators x the cost of one small operator call.
3. The plain fp32 step at several batch sizes (the same clips), at each thread count: the part of a step that
   does not shrink with the batch, and whether bigger operators let threads help.

Time is the wall clock: with 2 threads that is what a step costs. On a machine shared with other jobs a second
OpenMP thread waits for a core at every parallel region, so read the 2-thread columns with the load average the
run prints (docs/benchmarks.md, "One training step against the roofline").
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

sys.path.insert(0, str(Path(__file__).resolve().parent))  # roofline.py, next to this file
import roofline  # noqa: E402
from roofline import DTYPES, Roofline  # noqa: E402

from dataset_builder.gsl import GSLClip, load_split
from dataset_builder.synthetic import SyntheticGSL
from hub_scripts.reproduce import CPU_BUDGET_RECIPE
from hub_scripts.train import (
    PoseCollator,
    PoseSeq2SeqDataset,
    PoseSeq2SeqTrainer,
    TrainOptions,
    build_model,
    build_tokenizer,
    training_arguments,
)
from modeling_signattention.layouts import DEFAULT_LAYOUT

aten = torch.ops.aten

# Forward stages: the modules whose calls they are (dotted names in SignAttentionForConditionalGeneration).
STAGE_MODULES = {
    "embedder": "model.encoder.embedder",
    "encoder attention": "model.encoder.layers.{}.self_attn",
    "encoder FFN": "model.encoder.layers.{}.feed_forward",
    "decoder self-attention": "model.decoder.layers.{}.self_attn",
    "decoder cross-attention": "model.decoder.layers.{}.encoder_attn",
    "decoder FFN": "model.decoder.layers.{}.feed_forward",
    "LM head + loss": "lm_head",  # runs on to the end of forward: the loss
}
REST = "rest (norms, residuals, masks)"
OPTIMIZER = "optimizer (clip + AdamW)"
PHASE_SUFFIX = {"forward": "fwd", "backward": "bwd"}


def module_stages(model: torch.nn.Module) -> Iterator[tuple[str, torch.nn.Module]]:
    """(stage, module) for every module that is a stage."""
    modules = dict(model.named_modules())
    for stage, pattern in STAGE_MODULES.items():
        for layer in range(max(model.config.encoder_layers, model.config.decoder_layers)):
            name = pattern.format(layer)
            if name in modules:
                yield stage, modules.pop(name)


class StepStages:
    """Which stage of a training step is running, and the seconds each (stage, phase) took.

    Forward: pre/post hooks on the stage modules. Backward: a stage's backward is the autograd nodes its forward
    created, told apart by their sequence numbers (which grow with every node made on this thread), timed by
    pre/post hooks on those nodes; the engine's own work between nodes counts as the rest.
    """

    def __init__(self, model: torch.nn.Module):
        self.phase, self.stage = "forward", REST
        self.starts: list[int] = []  # sequence number at which each stage below began, increasing
        self.stages: list[str] = []
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.entered = self.node_started = 0.0
        for stage, module in module_stages(model):
            module.register_forward_pre_hook(lambda *_, stage=stage: self.enter(stage))
            if stage != "LM head + loss":
                module.register_forward_hook(lambda *_: self.leave())

    def mark(self, stage: str) -> None:
        self.stage = stage
        self.starts.append(torch._C._autograd._get_sequence_nr())
        self.stages.append(stage)

    def enter(self, stage: str) -> None:
        self.mark(stage)
        self.entered = time.perf_counter()

    def leave(self) -> None:
        if self.stage != REST:
            self.seconds[self.stage, "forward"] += time.perf_counter() - self.entered
            self.mark(REST)

    def stage_of_node(self, node: torch.autograd.graph.Node | None) -> str:
        if node is None:
            return REST
        index = bisect.bisect_right(self.starts, node._sequence_nr()) - 1
        return self.stages[index] if index >= 0 else REST

    def begin_step(self) -> None:
        self.seconds.clear()
        self.starts, self.stages = [], []
        self.phase = "forward"
        self.mark(REST)

    def time_backward(self, loss: torch.Tensor) -> None:
        """Hooks on every node of ``loss``'s graph (made anew each step, so they go with it)."""

        def started(*_) -> None:
            self.node_started = time.perf_counter()

        def finished(node: torch.autograd.graph.Node) -> None:
            self.seconds[self.stage_of_node(node), "backward"] += time.perf_counter() - self.node_started

        seen, pending = set(), [loss.grad_fn]
        while pending:
            node = pending.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            node.register_prehook(started)
            node.register_hook(lambda *_, node=node: finished(node))
            pending.extend(next_node for next_node, _ in node.next_functions)


# at::internal::GRAIN_SIZE: an elementwise operator on fewer elements runs on one thread whatever the thread count.
GRAIN_SIZE = 32768


@dataclass
class Counts:
    flops: int = 0
    bytes: int = 0
    ops: int = 0
    small_ops: int = 0  # no tensor of GRAIN_SIZE elements or more


# Operators that move no data: views, and allocations that write nothing.
NO_TRAFFIC = {
    aten._unsafe_view,
    aten.empty,
    aten.empty_like,
    aten.empty_strided,
    aten.new_empty,
    aten.new_empty_strided,
    aten.lift_fresh,
}
MATMULS = {aten.mm: 0, aten.bmm: 0, aten.addmm: 1, aten.addmm_: 1, aten.baddbmm: 1, aten.baddbmm_: 1}
SDPA_FORWARD, SDPA_BACKWARD = (
    aten._scaled_dot_product_flash_attention_for_cpu,
    aten._scaled_dot_product_flash_attention_for_cpu_backward,
)


def operator_flops(func: torch._ops.OpOverload, args: tuple, out: object) -> int:
    """Matmul and attention FLOPs (2 per multiply-add); elementwise work is counted in bytes only."""
    packet = func.overloadpacket
    if packet in MATMULS:  # (..., m, k) @ (..., k, n): 2 m k n per matrix
        return 2 * args[MATMULS[packet]].numel() * out.shape[-1]
    if packet in (SDPA_FORWARD, SDPA_BACKWARD):
        query, key = (args[0], args[1]) if packet is SDPA_FORWARD else (args[1], args[2])
        products = (
            2 if packet is SDPA_FORWARD else 5
        )  # QK^T, PV; backward also recomputes QK^T, then dV dP dQ dK
        return products * 2 * query.numel() * key.shape[-2]
    return 0


def tensor_bytes(tensor: torch.Tensor) -> int:
    """Bytes of the distinct elements (a broadcast bias is read once)."""
    distinct = math.prod(size for size, stride in zip(tensor.shape, tensor.stride(), strict=True) if stride)
    return distinct * tensor.element_size()


class OperatorCounter(TorchDispatchMode):
    """FLOPs, bytes and operator count of every aten operator, by (stage, phase) of ``StepStages``.

    Bytes are the positional tensor arguments (read) plus the outputs (written): an in-place operator reads and
    writes its tensor, ``out=`` buffers are counted as written only.
    """

    def __init__(self, stages: StepStages):
        super().__init__()
        self.step_stages = stages
        self.counts: dict[tuple[str, str], Counts] = defaultdict(Counts)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        stages = self.step_stages
        if stages.phase == "backward":
            key = stages.stage_of_node(torch._C._current_autograd_node()), "backward"
        else:
            key = stages.stage, stages.phase
        counts = self.counts[key]
        tensors = [leaf for leaf in tree_leaves((args, out)) if isinstance(leaf, torch.Tensor)]
        counts.ops += 1
        counts.small_ops += max((tensor.numel() for tensor in tensors), default=0) < GRAIN_SIZE
        counts.flops += operator_flops(func, args, out)
        if not (func.is_view or func.overloadpacket in NO_TRAFFIC):
            counts.bytes += sum(tensor_bytes(tensor) for tensor in tensors)
        return out


@dataclass
class StepSetup:
    """A training step's model, optimizer, batch and clipping, built as ``hub_scripts.train`` builds them."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    collator: PoseCollator
    items: list[dict]  # the bucket's clips, as the dataset hands them to the collator
    max_grad_norm: float
    batch: dict[str, torch.Tensor] = field(init=False)
    stages: StepStages = field(init=False)

    def __post_init__(self) -> None:
        self.batch = self.collator(self.items)
        self.stages = StepStages(self.model)

    def run(self, autocast: bool, timed: bool, batch: dict[str, torch.Tensor] | None = None) -> float:
        """One step (forward, backward, clipping, AdamW) on ``batch`` (default: the bucket); returns its loss.
        ``timed``: hooks on the backward nodes."""
        stages = self.stages
        stages.begin_step()
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = self.model(**(self.batch if batch is None else batch)).loss
        stages.leave()  # closes the LM head + loss stage
        forward_done = time.perf_counter()
        stages.seconds["forward total", "forward"] = forward_done - started
        if timed:
            stages.time_backward(loss)
        stages.phase = "backward"
        backward_started = time.perf_counter()
        loss.backward()
        stages.phase, stages.stage = "optimizer", OPTIMIZER
        optimizer_started = time.perf_counter()
        stages.seconds["backward total", "backward"] = optimizer_started - backward_started
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        stages.seconds[OPTIMIZER, "optimizer"] = time.perf_counter() - optimizer_started
        return loss.item()


def bucket_of_clips(clips: list[GSLClip], frames: int, batch_size: int) -> tuple[list[np.ndarray], list[str]]:
    """``batch_size`` SI training clips whose sampled length is nearest ``frames``: one length bucket of the
    trainer's ``LengthBucketSampler`` (clips of one length, almost no padding). Only likely candidates are rendered
    (a clip lasts about 10 sampled frames per gloss, plus 10)."""
    estimate = np.array([10 * len(clip.glosses) + 10 for clip in clips])
    candidates = np.argsort(np.abs(estimate - frames), kind="stable")[: 4 * batch_size]
    renderer = SyntheticGSL(seed=0)
    poses = [renderer.clip(clips[i].id, clips[i].glosses).pose for i in candidates]
    sample_rate = 3  # the feature extractor's 1 frame in 3 (checked against it in build_step)
    nearest = np.argsort([abs(len(pose) / sample_rate - frames) for pose in poses], kind="stable")[
        :batch_size
    ]
    return [poses[i] for i in nearest], [clips[candidates[i]].gloss for i in nearest]


def build_step(frames: int, dropout: float, output_dir: str) -> StepSetup:
    options = TrainOptions(dataset_dir=Path(output_dir), output_dir=Path(output_dir), dropout=dropout)
    clips = load_split("si", "train")
    tokenizer = build_tokenizer([clip.gloss for clip in clips], None)
    model, feature_extractor = build_model(options, tokenizer, DEFAULT_LAYOUT)
    if feature_extractor.sample_rate != 3:
        raise RuntimeError("bucket_of_clips assumes 1 frame in 3; update it")
    poses, glosses = bucket_of_clips(clips, frames, options.batch_size)
    labels = tokenizer(glosses, truncation=True, max_length=model.config.max_target_positions)["input_ids"]
    dataset = PoseSeq2SeqDataset(poses, labels, augment=True, feature_extractor=feature_extractor)
    collator = PoseCollator(feature_extractor, seed=options.seed)
    items = [dataset[i] for i in range(len(dataset))]
    args = training_arguments(options, Path(output_dir) / "checkpoints")
    trainer = PoseSeq2SeqTrainer(
        model=model.train(), args=args, train_dataset=dataset, eval_dataset=dataset, data_collator=collator
    )
    return StepSetup(model, trainer.create_optimizer(), collator, items, args.max_grad_norm)


def count_step(setup: StepSetup, autocast: bool) -> dict[tuple[str, str], Counts]:
    setup.run(autocast, timed=False)  # the optimizer makes its state at its first step
    counter = OperatorCounter(setup.stages)
    with counter:
        setup.run(autocast, timed=False)
    return dict(counter.counts)


def time_steps(setup: StepSetup, configs: list[tuple[str, int]], repeats: int) -> dict:
    """Per configuration (dtype, threads): median seconds of each (stage, phase) over ``repeats`` instrumented
    steps, the median uninstrumented step, and the collation of the batch; configurations interleaved step by step
    so that load on a shared machine hits them alike."""
    samples: dict[tuple[str, int], dict] = {config: defaultdict(list) for config in configs}
    for repeat in range(repeats + 1):  # the first round warms up
        for dtype, threads in configs:
            torch.set_num_threads(threads)
            autocast = dtype == "bf16"
            setup.run(autocast, timed=True)
            seconds = dict(setup.stages.seconds)
            started = time.perf_counter()
            setup.run(autocast, timed=False)
            plain = time.perf_counter() - started
            started = time.perf_counter()
            setup.collator(setup.items)
            collate = time.perf_counter() - started
            if repeat:
                for key, value in seconds.items():
                    samples[dtype, threads][key].append(value)
                samples[dtype, threads]["step", "plain"].append(plain)
                samples[dtype, threads]["collate", "plain"].append(collate)
    return {
        config: {key: statistics.median(values) for key, values in times.items()}
        for config, times in samples.items()
    }


def batch_sweep(setup: StepSetup, sizes: list[int], threads: list[int], repeats: int) -> dict:
    """Median seconds of a plain fp32 step at each batch size and thread count (interleaved). The batches are the
    bucket's clips (repeated past 64), so only the size changes: what does not shrink with the batch is fixed
    per-step cost (operator calls, Python), and a bigger batch gives threads bigger operators to share."""
    batches = {
        size: setup.collator((setup.items * math.ceil(size / len(setup.items)))[:size]) for size in sizes
    }
    samples: dict[tuple[int, int], list[float]] = defaultdict(list)
    for repeat in range(repeats + 1):  # the first round warms up
        for size, batch in batches.items():
            for count in threads:
                torch.set_num_threads(count)
                started = time.perf_counter()
                setup.run(autocast=False, timed=False, batch=batch)
                if repeat:
                    samples[size, count].append(time.perf_counter() - started)
    return {key: statistics.median(values) for key, values in samples.items()}


def print_batch_sweep(sweep: dict, sizes: list[int], threads: list[int]) -> None:
    print("fp32 step by batch size (same clips; median of plain steps):")
    header = f"  {'batch':>5}" + "".join(f" | {n}t: {'ms':>7} {'ms/clip':>7}" for n in threads)
    print(header + (f" | {threads[-1]}t/{threads[0]}t" if len(threads) > 1 else ""))
    for size in sizes:
        line = f"  {size:5d}"
        for n in threads:
            line += f" | {'':3s} {sweep[size, n] * 1e3:7.1f} {sweep[size, n] * 1e3 / size:7.2f}"
        if len(threads) > 1:
            line += f" | {sweep[size, threads[0]] / sweep[size, threads[-1]]:6.2f}x"
        print(line)


def stage_rows(counts: dict[tuple[str, str], Counts], times: dict) -> list[tuple[str, Counts, float]]:
    """(row name, counts, seconds) per stage and phase, the rests, and the totals."""
    rows = []
    for phase in PHASE_SUFFIX:
        named = [stage for stage in STAGE_MODULES if (stage, phase) in counts or (stage, phase) in times]
        for stage in named:
            rows.append(
                (
                    f"{stage} {PHASE_SUFFIX[phase]}",
                    counts.get((stage, phase), Counts()),
                    times.get((stage, phase), 0.0),
                )
            )
        total = times[f"{phase} total", phase]
        rest = total - sum(times.get((stage, phase), 0.0) for stage in named)
        rows.append((f"{REST} {PHASE_SUFFIX[phase]}", counts.get((REST, phase), Counts()), rest))
    rows.append((OPTIMIZER, counts.get((OPTIMIZER, "optimizer"), Counts()), times[OPTIMIZER, "optimizer"]))
    total = Counts(*(sum(getattr(row[1], name) for row in rows) for name in Counts.__dataclass_fields__))
    step = (
        times["forward total", "forward"]
        + times["backward total", "backward"]
        + times[OPTIMIZER, "optimizer"]
    )
    rows.append(("step (instrumented)", total, step))
    rows.append(("step (no hooks)", total, times["step", "plain"]))
    return rows


def bound_seconds(counts: Counts, limits: Roofline, dtype: str) -> float:
    """The time at the roofline: FLOPs at matmul peak or bytes at in-cache bandwidth, whichever is longer."""
    return max(counts.flops / (limits.matmul_gflops[dtype] * 1e9), counts.bytes / (limits.cache_gbs * 1e9))


def print_stage_table(dtype: str, counts: dict, times: dict, rooflines: dict[int, Roofline]) -> list[dict]:
    """The table for one dtype, thread counts side by side; returns its rows for the JSON output."""
    threads = sorted(rooflines)
    per_thread = {n: stage_rows(counts, times[dtype, n]) for n in threads}
    header = f"  {'stage':34s} {'ops':>5} {'small':>5} {'MFLOP':>7} {'MB':>7}"
    for n in threads:
        header += f" | {n}t: {'ms':>6} {'GFLOP/s':>7} {'GB/s':>6} {'%bound':>6} {'floor':>6}"
    if len(threads) > 1:
        header += f" | {threads[-1]}t/{threads[0]}t"
    print(f"{dtype}:")
    print(header)
    rows = []
    for index, (name, count, _) in enumerate(per_thread[threads[0]]):
        line = f"  {name:34s} {count.ops:5d} {count.small_ops:5d} {count.flops / 1e6:7.0f} {count.bytes / 1e6:7.1f}"
        row = {"stage": name, **asdict(count), "by_threads": {}}
        for n in threads:
            seconds = max(per_thread[n][index][2], 1e-9)
            bound = bound_seconds(count, rooflines[n], dtype)
            floor = count.ops * rooflines[n].op_us * 1e-6
            line += (
                f" | {'':3s} {seconds * 1e3:6.2f} {count.flops / seconds / 1e9:7.2f} {count.bytes / seconds / 1e9:6.1f}"
                f" {bound / seconds:6.1%} {floor * 1e3:6.2f}"
            )
            row["by_threads"][n] = {"ms": seconds * 1e3, "bound_ms": bound * 1e3, "op_floor_ms": floor * 1e3}
        if len(threads) > 1:
            line += (
                f" | {per_thread[threads[0]][index][2] / max(per_thread[threads[-1]][index][2], 1e-9):6.2f}x"
            )
        print(line)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=119, help="sampled frames per clip of the bucket")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--dtypes", nargs="+", choices=list(DTYPES), default=list(DTYPES))
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per configuration")
    parser.add_argument(
        "--dropout", type=float, default=CPU_BUDGET_RECIPE["dropout"], help="default: the main job's"
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="*",
        default=[16, 32, 64, 128],
        help="fp32 step by batch size (none: skip)",
    )
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f} at the start")

    rooflines = {threads: roofline.measure(threads) for threads in args.threads}
    processes = roofline.measure_processes(2)
    roofline.print_table([*rooflines.values(), processes])

    with tempfile.TemporaryDirectory() as output_dir:
        setup = build_step(args.frames, args.dropout, output_dir)
    features, mask = setup.batch["input_features"], setup.batch["attention_mask"]
    print(
        f"step: batch {features.shape[0]} x {features.shape[1]} frames ({mask.float().mean():.0%} real), "
        f"{setup.batch['labels'].shape[1]} target tokens, dropout {args.dropout}; "
        f"stages timed over {args.repeats} steps per configuration (median), configurations interleaved"
    )
    torch.set_num_threads(1)
    counts = {dtype: count_step(setup, dtype == "bf16") for dtype in args.dtypes}
    configs = [(dtype, threads) for dtype in args.dtypes for threads in args.threads]
    times = time_steps(setup, configs, args.repeats)
    tables = {dtype: print_stage_table(dtype, counts[dtype], times, rooflines) for dtype in args.dtypes}
    for dtype, threads in configs:
        config_times = times[dtype, threads]
        print(
            f"  {dtype} {threads}t: collating the batch {config_times['collate', 'plain'] * 1e3:.1f} ms "
            f"({config_times['collate', 'plain'] / config_times['step', 'plain']:.1%} of a step)"
        )
    sweep = batch_sweep(setup, args.batch_sizes, args.threads, max(1, args.repeats // 2))
    if args.batch_sizes:
        print_batch_sweep(sweep, args.batch_sizes, args.threads)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} at the end (a shared machine: compare ratios measured in one run)")
    if args.output:
        args.output.write_text(
            json.dumps(
                {
                    "torch": torch.__version__,
                    "batch_shape": list(features.shape),
                    "dropout": args.dropout,
                    "load_average_end": load,
                    "roofline": [asdict(roof) for roof in (*rooflines.values(), processes)],
                    "stages": tables,
                    "batch_sweep_ms": {
                        f"{size} x {n}t": seconds * 1e3 for (size, n), seconds in sweep.items()
                    },
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
