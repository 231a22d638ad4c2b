"""Training speed of SignAttention, measured in one run against baselines.

    python benchmarks/bench_train.py [--batches 8] [--repeats 3] [--epoch-clips 640] [--epoch-repeats 2] [--profile]

Paper configuration (d_model 16, 8 heads, FFN 2048, 1+1 layers, 75 keypoints x 3, dropout 0.2), batch 64, and
realistic clips: synthetic GSL sentences (``dataset_builder.synthetic``) with the real SI training sentences, run
through the feature extractor (1 frame in 3), so frame counts and padding are those of the reproduction.

1. model step: forward + backward + AdamW step of ``SignAttentionForConditionalGeneration`` vs the official
   architecture built on ``torch.nn.Transformer`` (``hub_scripts/official_reference.py``), on the same batches,
   interleaved so that load on a shared machine hits both alike. Goal: ratio >= 3x. Both wall-clock and CPU time
   (``time.process_time``) are shown: on a machine shared with other jobs the CPU time is the steadier figure,
   exact with ``OMP_NUM_THREADS=1`` (with more threads it also counts threads spinning while they wait).
   ``--profile`` adds a ``torch.profiler`` table of one step of each model (operators by self CPU time).
2. collation: one batch from raw poses (the feature extractor's full ``__call__``, as every batch of every epoch
   used to do) vs from clips preprocessed once (``PoseSeq2SeqDataset`` + ``PoseCollator``).
3. epoch: one ``hub_scripts.train`` Trainer epoch (``PoseSeq2SeqTrainer`` + ``PoseCollator``) vs a plain PyTorch
   loop (DataLoader with the same collator and sampler, AdamW), over the same clips. Goal: ratio >= 0.8x.
   Also shown: the plain loop with random batches, i.e. what length-grouped batches save.
4. ``--loss-steps 200``: the same steps through both models from the same weights; with dropout off the losses
   agree to float rounding, with dropout 0.2 (different random masks) within noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch

from dataset_builder.gsl import load_split
from dataset_builder.synthetic import SyntheticGSL
from hub_scripts.convert_official_checkpoint import convert_state_dict, infer_config
from hub_scripts.official_reference import KeypointsTransformer
from hub_scripts.train import (
    LengthBucketSampler,
    PoseCollator,
    PoseSeq2SeqDataset,
    PoseSeq2SeqTrainer,
)
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    build_gloss_tokenizer,
)

BATCH = 64


def synthetic_clips(count: int) -> tuple[list[np.ndarray], list[str]]:
    """The first ``count`` SI training sentences, rendered by the synthetic signer."""
    clips = load_split("si", "train")[:count]
    renderer = SyntheticGSL(seed=0)
    return [renderer.clip(clip.id, clip.glosses).pose for clip in clips], [clip.gloss for clip in clips]


def seq2seq_dataset(count: int) -> tuple[PoseSeq2SeqDataset, int]:
    poses, glosses = synthetic_clips(count)
    tokenizer = build_gloss_tokenizer(glosses)
    dataset = PoseSeq2SeqDataset(
        poses,
        tokenizer(glosses)["input_ids"],
        augment=True,
        feature_extractor=SignAttentionFeatureExtractor(),
    )
    return dataset, len(tokenizer)


def step_fn(
    model: torch.nn.Module, loss_fn: Callable[[dict], torch.Tensor], batches: list[dict]
) -> Callable[[], None]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def run() -> None:
        for batch in batches:
            loss_fn(batch).backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    return run


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def model_pair(
    vocab_size: int,
) -> tuple[dict[str, torch.nn.Module], dict[str, Callable[[dict], torch.Tensor]]]:
    """Both models in training mode, starting from the same weights (the reference's, through the checkpoint
    converter), and their losses on a collated batch."""
    torch.manual_seed(0)
    reference = KeypointsTransformer(vocab_size=vocab_size).train()
    state = reference.state_dict()
    config = infer_config(state)
    ours = SignAttentionForConditionalGeneration(config).train()
    ours.load_state_dict(convert_state_dict(state, config))

    def reference_loss(batch: dict) -> torch.Tensor:
        labels = batch["labels"]
        decoder_input = torch.cat([torch.full_like(labels[:, :1], 2), labels[:, :-1]], dim=1).clamp(min=0)
        logits = reference(batch["input_features"], decoder_input, batch["attention_mask"] == 0)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)

    models = {"SignAttention": ours, "nn.Transformer": reference}
    return models, {"SignAttention": lambda batch: ours(**batch).loss, "nn.Transformer": reference_loss}


def bench_loss_curves(num_steps: int, num_batches: int) -> None:
    """The same training steps (initial weights, batches, AdamW 1e-3) through both models: with dropout off the
    losses must agree to float rounding; with the paper's dropout (different random masks) within noise."""
    dataset, vocab_size = seq2seq_dataset(num_batches * BATCH)
    collator = PoseCollator(SignAttentionFeatureExtractor(), seed=0)
    batches = [
        collator([dataset[i] for i in range(start, start + BATCH)]) for start in range(0, len(dataset), BATCH)
    ]
    print(
        f"[4] loss curves: {num_steps} steps over {len(batches)} batches of {BATCH}, same start and batches"
    )
    for dropout in (False, True):
        models, losses = model_pair(vocab_size)
        optimizers = {name: torch.optim.AdamW(model.parameters(), lr=1e-3) for name, model in models.items()}
        curves: dict[str, list[float]] = {name: [] for name in models}
        for step in range(num_steps):
            for name, model in models.items():
                model.train(dropout)  # eval mode switches dropout off; gradients flow either way
                loss = losses[name](batches[step % len(batches)])
                loss.backward()
                optimizers[name].step()
                optimizers[name].zero_grad(set_to_none=True)
                curves[name].append(loss.item())
        ours, reference = np.array(curves["SignAttention"]), np.array(curves["nn.Transformer"])
        tail = max(1, num_steps // 4)
        print(
            f"    dropout {'0.2' if dropout else 'off'}: loss at step 1 {ours[0]:.4f} vs {reference[0]:.4f}, "
            f"mean of the last {tail} steps {ours[-tail:].mean():.4f} vs {reference[-tail:].mean():.4f} "
            f"(step-to-step spread {reference[-tail:].std():.4f}); largest relative gap over all steps "
            f"{np.max(np.abs(ours - reference) / reference):.2e}"
        )


def bench_model_step(num_batches: int, repeats: int, profile: bool) -> None:
    dataset, vocab_size = seq2seq_dataset(num_batches * BATCH)
    collator = PoseCollator(SignAttentionFeatureExtractor(), seed=0)
    batches = [
        collator([dataset[i] for i in range(start, start + BATCH)]) for start in range(0, len(dataset), BATCH)
    ]
    frames = [batch["input_features"].shape[1] for batch in batches]
    masks = [batch["attention_mask"] for batch in batches]
    real = sum(int(mask.sum()) for mask in masks) / sum(mask.numel() for mask in masks)
    print(
        f"[1] model step: {len(batches)} batches of {BATCH}, padded frames {min(frames)}-{max(frames)}, "
        f"{real:.0%} of them real"
    )

    models, losses = model_pair(vocab_size)
    runs = {name: step_fn(models[name], losses[name], batches) for name in losses}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(repeats):  # interleaved: a burst of load on the shared machine hits both
        for name, run in runs.items():
            seconds, cpu_seconds = timed(run)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    samples = len(batches) * BATCH
    print("    wall clock:")
    report_speeds(wall, samples, "SignAttention", "nn.Transformer", goal=3.0)
    print("    CPU time (samples per CPU second):")
    report_speeds(cpu, samples, "SignAttention", "nn.Transformer", goal=3.0)
    if profile:
        for name in runs:
            profile_one_step(name, step_fn(models[name], losses[name], batches[:1]))


def profile_one_step(name: str, step: Callable[[], None]) -> None:
    """torch.profiler over one training step (forward, backward, AdamW): the operators taking the most CPU time."""
    from torch.profiler import ProfilerActivity, profile

    step()  # warm-up (the optimizer state is created on the first step)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        step()
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    # The profiler times with the wall clock: on a shared machine its milliseconds include waiting, its shares hold.
    print(
        f"    profile of one {name} step ({total / 1e3:.0f} ms in the profiler): top operators by self time:"
    )
    for event in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:12]:
        share = event.self_cpu_time_total / total
        print(
            f"      {event.key[:44]:44s} {event.self_cpu_time_total / 1e3:8.1f} ms {share:6.1%}  x{event.count}"
        )


def report_speeds(times: dict[str, list[float]], samples: int, ours: str, baseline: str, goal: float) -> None:
    """Samples/s of the best and of the median run of each, and both ratios: on a shared machine the best run is
    the least disturbed one, and the gap to the median says how far the figure can be trusted."""
    for name, values in times.items():
        best, median = samples / min(values), samples / statistics.median(values)
        print(f"    {name:21s} {best:7.1f} samples/s best, {median:7.1f} median")
    best = min(times[baseline]) / min(times[ours])
    median = statistics.median(times[baseline]) / statistics.median(times[ours])
    print(f"    ratio {ours} / {baseline}: {best:.2f}x best, {median:.2f}x median (goal >= {goal}x)")


def bench_collation(repeats: int) -> None:
    poses, glosses = synthetic_clips(BATCH)
    feature_extractor = SignAttentionFeatureExtractor()
    labels = build_gloss_tokenizer(glosses)(glosses)["input_ids"]
    dataset = PoseSeq2SeqDataset(poses, labels, augment=True, feature_extractor=feature_extractor)
    collator = PoseCollator(feature_extractor, seed=0)
    items = [dataset[i] for i in range(len(dataset))]
    runs = {
        "preprocessed once": lambda: collator(items),
        "raw poses": lambda: feature_extractor(poses, training=True, seed=0),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(timed(run)[1])
    print(f"[2] collation of one batch of {BATCH} clips (CPU time)")
    report_speeds(times, BATCH, "preprocessed once", "raw poses", goal=1.0)


def bench_epoch(num_clips: int, repeats: int) -> None:
    from torch.utils.data import DataLoader
    from transformers import Seq2SeqTrainingArguments

    dataset, vocab_size = seq2seq_dataset(num_clips)
    feature_extractor = SignAttentionFeatureExtractor()
    print(f"[3] one epoch over {len(dataset)} clips, batch {BATCH}")

    def fresh_model() -> SignAttentionForConditionalGeneration:
        torch.manual_seed(0)
        return SignAttentionForConditionalGeneration(SignAttentionConfig(vocab_size=vocab_size))

    def plain_loop(grouped: bool) -> float:
        model = fresh_model().train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        sampler = LengthBucketSampler(dataset.lengths, BATCH) if grouped else None
        loader = DataLoader(
            dataset,
            batch_size=BATCH,
            sampler=sampler,
            shuffle=not grouped,
            collate_fn=PoseCollator(feature_extractor),
        )
        started = time.perf_counter()
        for batch in loader:
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - started

    def trainer_epoch() -> float:
        with tempfile.TemporaryDirectory() as output_dir:
            args = Seq2SeqTrainingArguments(
                output_dir=output_dir,
                num_train_epochs=1,
                per_device_train_batch_size=BATCH,
                learning_rate=1e-3,
                save_strategy="no",
                eval_strategy="no",
                logging_strategy="no",
                report_to=[],
                disable_tqdm=True,
                dataloader_num_workers=0,
                remove_unused_columns=False,
            )
            trainer = PoseSeq2SeqTrainer(
                model=fresh_model(),
                args=args,
                train_dataset=dataset,
                data_collator=PoseCollator(feature_extractor),
            )
            started = time.perf_counter()
            trainer.train()
            return time.perf_counter() - started

    plain_loop(grouped=True)  # warm-up
    runs = {
        "Trainer (grouped)": trainer_epoch,
        "plain loop (grouped)": lambda: plain_loop(grouped=True),
        "plain loop (random)": lambda: plain_loop(grouped=False),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):  # interleaved, as in [1]
        for name, run in runs.items():
            times[name].append(run())
    report_speeds(times, len(dataset), "Trainer (grouped)", "plain loop (grouped)", goal=0.8)
    grouping = statistics.median(times["plain loop (random)"]) / statistics.median(
        times["plain loop (grouped)"]
    )
    print(f"    length-grouped vs random batches (plain loop, median): {grouping:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=8, help="batches per timed model-step run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epoch-clips", type=int, default=640)
    parser.add_argument("--epoch-repeats", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also profile one step of each model")
    parser.add_argument(
        "--loss-steps", type=int, default=0, help="compare loss curves over N steps (e.g. 200)"
    )
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}"
    )
    bench_model_step(args.batches, args.repeats, args.profile)
    bench_collation(args.repeats)
    if args.epoch_repeats:
        bench_epoch(args.epoch_clips, args.epoch_repeats)
    if args.loss_steps:
        bench_loss_curves(args.loss_steps, args.batches)
    print(
        f"load average at the end {os.getloadavg()[0]:.1f} (a shared machine: compare ratios, not absolute speeds)"
    )


if __name__ == "__main__":
    main()
