"""Training speed of SignAttention, measured in one run against two baselines.

    python benchmarks/bench_train.py [--batches 8] [--repeats 3] [--epoch-clips 640] [--epoch-repeats 2]

Paper configuration (d_model 16, 8 heads, FFN 2048, 1+1 layers, 75 keypoints x 3, dropout 0.2), batch 64, and
realistic clips: synthetic GSL sentences (``dataset_builder.synthetic``) with the real SI training sentences, run
through the feature extractor (1 frame in 3), so frame counts and padding are those of the reproduction.

1. model step: forward + backward + AdamW step of ``SignAttentionForConditionalGeneration`` vs the official
   architecture built on ``torch.nn.Transformer`` (``benchmarks/official_reference.py``), on the same batches,
   interleaved so that load on a shared machine hits both alike. Goal: ratio >= 1.0x.
2. epoch: one ``hub_scripts.train`` Trainer epoch (``PoseSeq2SeqTrainer`` + ``PoseCollator``) vs a plain PyTorch
   loop (DataLoader with the same collator and sampler, AdamW), over the same clips. Goal: ratio >= 0.8x.
   Also shown: the plain loop with random batches, i.e. what length-grouped batches save.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # official_reference.py, next to this file
from official_reference import KeypointsTransformer  # noqa: E402

from dataset_builder.gsl import load_split  # noqa: E402
from dataset_builder.synthetic import SyntheticGSL  # noqa: E402
from hub_scripts.train import (  # noqa: E402
    LengthBucketSampler,
    PoseCollator,
    PoseSeq2SeqDataset,
    PoseSeq2SeqTrainer,
)
from modeling_signattention import (  # noqa: E402
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
    return PoseSeq2SeqDataset(poses, tokenizer(glosses)["input_ids"], augment=True), len(tokenizer)


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


def bench_model_step(num_batches: int, repeats: int) -> None:
    dataset, vocab_size = seq2seq_dataset(num_batches * BATCH)
    collator = PoseCollator(SignAttentionFeatureExtractor(), None, seed=0)
    batches = [
        collator([dataset[i] for i in range(start, start + BATCH)]) for start in range(0, len(dataset), BATCH)
    ]
    frames = [batch["input_features"].shape[1] for batch in batches]
    print(f"[1] model step: {len(batches)} batches of {BATCH}, padded frames {min(frames)}-{max(frames)}")

    torch.manual_seed(0)
    ours = SignAttentionForConditionalGeneration(SignAttentionConfig(vocab_size=vocab_size)).train()
    reference = KeypointsTransformer(vocab_size=vocab_size).train()

    def reference_loss(batch: dict) -> torch.Tensor:
        labels = batch["labels"]
        decoder_input = torch.cat([torch.full_like(labels[:, :1], 2), labels[:, :-1]], dim=1).clamp(min=0)
        logits = reference(batch["input_features"], decoder_input, batch["attention_mask"] == 0)
        return torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)

    runs = {
        "SignAttention": step_fn(ours, lambda batch: ours(**batch).loss, batches),
        "nn.Transformer": step_fn(reference, reference_loss, batches),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(repeats):  # interleaved: a burst of load on the shared machine hits both
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    report_speeds(times, len(batches) * BATCH, "SignAttention", "nn.Transformer", goal=1.0)


def report_speeds(times: dict[str, list[float]], samples: int, ours: str, baseline: str, goal: float) -> None:
    """Samples/s of the best and of the median run of each, and both ratios: on a shared machine the best run is
    the least disturbed one, and the gap to the median says how far the figure can be trusted."""
    for name, values in times.items():
        best, median = samples / min(values), samples / statistics.median(values)
        print(f"    {name:21s} {best:7.1f} samples/s best, {median:7.1f} median")
    best = min(times[baseline]) / min(times[ours])
    median = statistics.median(times[baseline]) / statistics.median(times[ours])
    print(f"    ratio {ours} / {baseline}: {best:.2f}x best, {median:.2f}x median (goal >= {goal}x)")


def bench_epoch(num_clips: int, repeats: int) -> None:
    from torch.utils.data import DataLoader
    from transformers import Seq2SeqTrainingArguments

    dataset, vocab_size = seq2seq_dataset(num_clips)
    feature_extractor = SignAttentionFeatureExtractor()
    print(f"[2] one epoch over {len(dataset)} clips, batch {BATCH}")

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
            collate_fn=PoseCollator(feature_extractor, None),
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
                data_collator=PoseCollator(feature_extractor, None),
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
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}"
    )
    bench_model_step(args.batches, args.repeats)
    bench_epoch(args.epoch_clips, args.epoch_repeats)
    print(
        f"load average at the end {os.getloadavg()[0]:.1f} (a shared machine: compare ratios, not absolute speeds)"
    )


if __name__ == "__main__":
    main()
