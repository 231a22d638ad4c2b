"""Train the SignAttention pose-to-gloss (or pose-to-text) transformer with ``Seq2SeqTrainer``.

    python -m hub_scripts.train --dataset-dir DIR --output-dir RUN_DIR [--output-mode gloss|text]
        [--init-from MODEL_DIR] [--resume] [--epochs N] [--d-model 16] [--learning-rate 3e-3]
        [--model-config '{"encoder_layers": 2}'] ...

The defaults are the paper's setup (arXiv 2410.14506): AdamW at a constant 1e-3, batch 64, dropout 0.2,
d_model 16, one encoder and one decoder layer, at most 220 sampled frames and 20 target tokens, a random frame out
of every 3 while training (``--sample-rate``), early stopping on validation WER. ``hub_scripts.reproduce``
overrides a few of them to fit its 15-minute CPU budget (see ``CPU_BUDGET_RECIPE`` there). Validation WER is
computed with ``generate()`` after each epoch; the best epoch is kept (``load_best_model_at_end``) and training
stops when it has not improved for ``--patience`` epochs.

``RUN_DIR`` ends up with:
* ``model/``: the Hub-ready folder (safetensors, config + code, tokenizer, preprocessor_config.json,
  generation_config.json, ``eval_results.json`` on the test split);
* ``checkpoints/``: Trainer checkpoints (``--resume`` continues from the last one that loads; a checkpoint with
  a file that does not load is renamed ``broken-checkpoint-N`` and the one before is used). A run folder that
  already holds checkpoints is refused unless ``--resume`` (continue) or ``--overwrite`` (delete them, start
  afresh): a forgotten flag must not cost the epochs they hold;
* ``tensorboard/``: TensorBoard logs; ``training_log.json``: the Trainer's log history (loss, WER per epoch).

Several processes (data-parallel, each on its own shard of the length buckets; ``--batch-size`` is per process):

    torchrun --nproc_per_node 2 -m hub_scripts.train ...                          # CPU (gloo) or GPUs (nccl)
    accelerate launch --multi_gpu --num_processes 2 -m hub_scripts.train ...      # the same, through accelerate

On a machine without CUDA the script asks for CPU processes itself, so both commands run there unchanged. Each
process runs one intra-op thread unless ``--threads`` says otherwise: a second thread barely helps on an idle
machine and makes training several times slower on a shared one, while two processes with ``--batch-size 32``
(the same global batch as one process with 64) trained 1.19x faster than one on the shared 2-core machine
(docs/benchmarks.md, "Why two threads barely beat one").
``accelerate launch --cpu --num_processes 2`` starts ONE process (accelerate runs several CPU processes only
through ``mpirun``); the script says so. Validation counts every sentence once, and only the main process writes.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import shutil
import time
import warnings
from collections.abc import Collection, Iterable, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import HfArgumentParser, Seq2SeqTrainer

from dataset_builder.gsl import SPLITS
from dataset_builder.loading import (
    OUTPUT_MODES,
    DatasetFolderError,
    PoseSplit,
    check_splits,
    dataset_metadata,
    iter_split_poses,
    load_pose_splits,
    load_targets,
)
from hub_scripts.evaluate import decode_sentences, evaluate_split, score, torch_threads, write_json
from modeling_signattention.feature_extraction_signattention import SignAttentionFeatureExtractor
from modeling_signattention.holistic_video import GSL_FPS
from modeling_signattention.interpretability.schema import EVAL_RESULTS_FILE, TRAINING_LOG_FILE

# 1 frame in N: the feature extractor's own default (the paper's), written there only.
DEFAULT_SAMPLE_RATE: int = (
    inspect.signature(SignAttentionFeatureExtractor.__init__).parameters["sample_rate"].default
)

# How training may hold its preprocessed clips (``--clip-dtype``; the first is the default); the batches it makes of
# them are float32.
CLIP_DTYPES = ("float32", "float16")


class ModelConfig(dict):
    """``SignAttentionConfig`` fields of a fresh model beyond ``d_model`` and ``dropout`` (``{"encoder_layers": 2}``):
    a dict, or its JSON on the command line (``--model-config '{"encoder_layers": 2}'``, which ``HfArgumentParser``
    hands to this type as a string)."""

    def __init__(self, value: str | dict[str, Any] | None = None):
        super().__init__(json.loads(value) if isinstance(value, str) else value or {})


# Config fields a run does not choose: the pose layout comes from the dataset, the vocabulary and special tokens from
# the tokenizer, and the model is an encoder-decoder.
FIXED_CONFIG_FIELDS = (
    "layout",
    "vocab_size",
    "pad_token_id",
    "unk_token_id",
    "bos_token_id",
    "eos_token_id",
    "decoder_start_token_id",
    "is_encoder_decoder",
)


@dataclass
class TrainOptions:
    """Every knob of a training run; the CLI flags are these field names with dashes (``HfArgumentParser``)."""

    dataset_dir: Path = field(metadata={"help": "a dataset built by dataset_builder.build"})
    output_dir: Path = field(metadata={"help": "run folder: model/, checkpoints/, tensorboard/"})
    output_mode: str = field(default="gloss", metadata={"choices": OUTPUT_MODES})
    init_from: Path | None = field(
        default=None, metadata={"help": "fine-tune this saved model (new words grow its vocabulary)"}
    )
    resume: bool = field(
        default=False, metadata={"help": "continue from the last checkpoint of --output-dir"}
    )
    overwrite: bool = field(
        default=False,
        metadata={"help": "delete the checkpoints already in --output-dir and start afresh (else refused)"},
    )
    epochs: int = 100
    isolated_sign_epochs: int = field(
        default=0,
        metadata={
            "help": "first train this many epochs on the training clips of ONE gloss (isolated signs, e.g. the "
            "builder's --isolated-signs), then the normal run on every clip"
        },
    )
    isolated_sign_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "batch size of the isolated-sign stage (None: --batch-size): one-gloss clips are short, and "
            "larger batches of them cost less per clip (sd, one thread: about 16.5 s an epoch at 16, 14 at 64)"
        },
    )
    sentences_after_isolated_signs: bool = field(
        default=False,
        metadata={
            "help": "after the isolated-sign stage, train on the clips of two or more glosses only (the one-gloss "
            "clips, learnt in stage 1, are left out of the main stage)"
        },
    )
    learning_rate: float = 1e-3
    lr_scheduler: str = "constant"
    warmup_ratio: float = 0.0
    weight_decay: float = 0.01
    batch_size: int = 64
    eval_batch_size: int = 128
    d_model: int = 16
    dropout: float = 0.2
    clip_dtype: str = field(
        default=CLIP_DTYPES[0],
        metadata={
            "choices": CLIP_DTYPES,
            "help": "how training holds the preprocessed clips: float16 halves the memory (a sentence-disjoint run's "
            "56,189 clips: 6.0 -> 3.0 GB); batches are float32 either way",
        },
    )
    sample_rate: int = field(
        default=DEFAULT_SAMPLE_RATE,
        metadata={
            "help": f"the model reads 1 frame in N (a random one per window of N when training, the first when "
            f"evaluating); {DEFAULT_SAMPLE_RATE} is the paper's. A model frame then stands for N clip frames, and no "
            f"attribution map can place a sign more finely: at {DEFAULT_SAMPLE_RATE} that is "
            f"{DEFAULT_SAMPLE_RATE / GSL_FPS * 1000:.0f} ms at {GSL_FPS:.0f} fps, longer than many conversational signs; 1 resolves "
            f"single frames, at about {DEFAULT_SAMPLE_RATE}x the frames per clip (and the time). "
            "A fresh model reads at most max_source_positions (220) sampled frames, 7.3 s at 1 and 30 fps: "
            "longer clips are cut to their start (training says how many), so at 1 raise it, e.g. "
            "--model-config '{\"max_source_positions\": 600}'. Saved with the model's feature extractor; refused "
            "with --init-from, whose saved one applies"
        },
    )
    model_config: ModelConfig = field(
        default_factory=ModelConfig,
        metadata={
            "help": "other SignAttentionConfig fields of a fresh model, as JSON: '{\"encoder_layers\": 2}' "
            "(model_config_fields() lists them)"
        },
    )
    patience: int = 10
    num_beams: int = 1
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    seed: int = 42
    logging_steps: int = 20
    progress: bool = field(default=True, metadata={"help": "tqdm bars (--no-progress: none)"})
    threads: int = field(
        default=1,
        metadata={
            "help": "intra-op threads of this process (PyTorch's default is one per core): the model's operations "
            "are small, so a second thread gains little and loses much on a shared machine; to use two cores, run "
            "two processes (torchrun, above)"
        },
    )


class PoseSeq2SeqDataset(torch.utils.data.Dataset):
    """Clips run once through the feature extractor's ``preprocess`` (landmark selection, gap filling, shoulder
    normalisation), with their label ids; ``augment`` tells the collator to sample frames at random (training).

    Only the frame sampling changes from epoch to epoch, so the rest is done here once instead of in every batch:
    measured on the shared 2-core machine, the collator then costs ~0.5 ms per clip instead of ~4 ms.

    Clips longer than the model reads (``max_frames`` sampled frames, 1 in ``sample_rate``) are counted in
    ``num_cut`` (training prints the count) instead of warning once per clip.
    """

    def __init__(
        self,
        poses: Iterable[np.ndarray],  # one (frames, points, 3) array per label; a stream will do
        labels: Sequence[list[int]],
        augment: bool,
        feature_extractor: Any,
        input_components: Sequence[str] | None = None,
        progress: bool = False,
        dtype: str = CLIP_DTYPES[0],
    ):
        from tqdm.auto import tqdm

        clips = tqdm(poses, desc="preprocessing clips", unit="clip", total=len(labels), disable=not progress)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=r".* frames, but the model reads at most ", category=UserWarning
            )
            self.clips = [
                feature_extractor.preprocess(pose, input_components).astype(dtype, copy=False)
                for pose in clips
            ]
        if len(self.clips) != len(labels):
            raise ValueError(f"{len(self.clips)} clips for {len(labels)} labels")
        self.labels, self.augment = labels, augment
        self.lengths = [len(clip) for clip in self.clips]
        self.frames_read = feature_extractor.max_frames * feature_extractor.sample_rate
        self.num_cut = sum(length > self.frames_read for length in self.lengths)

    def __len__(self) -> int:
        return len(self.clips)

    def select(self, indices: Sequence[int]) -> PoseSeq2SeqDataset:
        """The clips at ``indices``, sharing their preprocessed arrays (nothing is preprocessed again)."""
        subset = copy.copy(self)
        subset.clips = [self.clips[i] for i in indices]
        subset.labels = [self.labels[i] for i in indices]
        subset.lengths = [self.lengths[i] for i in indices]
        return subset

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {"clip": self.clips[index], "labels": self.labels[index], "augment": self.augment}


class LengthBucketSampler(torch.utils.data.Sampler[int]):
    """Each epoch: sort clips by length (ties broken at random), cut into buckets, shuffle the buckets.

    Why not ``LengthGroupedSampler`` (sorting only inside random groups of 50 batches): measured on the synthetic
    SI corpus with the paper model (plain loop, same recipe), its batches left validation WER above 90 % after
    3,000 steps, while length buckets reached 50 % after 1,000 steps and 3.4 % after 3,000. A bucket holds clips
    of one length, which here are mostly performances of the same few sentences by different signers: the
    model sees what changes with the signer and what does not side by side. Buckets also carry almost no padding.

    The sampler yields one flat stream of indices that the DataLoader cuts into batches, so a bucket is one
    optimizer step: ``batch_size`` is the global batch (per-process batch x processes x accumulation). Under
    several processes, accelerate deals consecutive batches out in turn (``BatchSamplerShard``) and every process
    draws the same order from the same seed, so the processes share each bucket and never see the same clip.
    The shorter, last bucket is yielded last: in the middle of the stream it would shift every later batch
    across two buckets.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0):
        self.lengths, self.batch_size = np.asarray(lengths, dtype=np.float64), batch_size
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        order = np.argsort(self.lengths + self.rng.random(len(self.lengths)))
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        full = len(order) // self.batch_size  # a shorter bucket, if any, is batches[full]
        for batch in [*self.rng.permutation(full), *range(full, len(batches))]:
            yield from batches[batch].tolist()


class PoseSeq2SeqTrainer(Seq2SeqTrainer):
    """``Seq2SeqTrainer`` whose training batches are length buckets (see ``LengthBucketSampler``) and whose
    distributed evaluation counts every sentence once."""

    _parameter_count: int | None = None  # floating_point_ops

    def _get_train_sampler(self, train_dataset=None) -> torch.utils.data.Sampler:
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps * self.args.world_size
        return LengthBucketSampler(dataset.lengths, batch, seed=self.args.seed)

    def floating_point_ops(self, inputs: dict[str, Any]) -> int:
        """The Trainer's estimate (6 x input numbers x parameters), with the parameters counted once per Trainer
        instead of once per step: counting walks every module, 0.7 ms of a 24 ms step at batch 16."""
        if self._parameter_count is None:
            self._parameter_count = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs[self.model.main_input_name].numel() * self._parameter_count

    def evaluation_loop(self, *args, **kwargs):
        """Gather predictions with ``gather_for_metrics``, which drops the samples accelerate repeats to give every
        process full batches. ``Seq2SeqTrainer.evaluate`` switches to the plain ``gather`` ("we don't want to drop
        samples"): on 2 processes a 40-clip validation split then scored 256 sentences (2 x the eval batch)."""
        self.gather_function = self.accelerator.gather_for_metrics
        return super().evaluation_loop(*args, **kwargs)


class PoseCollator:
    """Preprocessed clips (``PoseSeq2SeqDataset``) -> ``input_features`` + ``attention_mask`` through the model's
    feature extractor, labels -> -100 padded.

    Training batches take one random frame per window of ``sample_rate`` frames (the paper's augmentation),
    evaluation batches the first one, so validation scores are deterministic. The random frames come from the
    collator's own generator, seeded, so a run can be repeated.
    """

    def __init__(self, feature_extractor: Any, seed: int = 0):
        self.feature_extractor = feature_extractor
        self.rng = np.random.default_rng(seed)

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        augment = items[0]["augment"]
        batch = self.feature_extractor.sample_and_pad(
            [item["clip"] for item in items],
            training=augment,
            seed=int(self.rng.integers(2**32)) if augment else None,
        )
        longest = max(len(item["labels"]) for item in items)
        labels = torch.full((len(items), longest), -100, dtype=torch.long)
        for row, item in enumerate(items):
            labels[row, : len(item["labels"])] = torch.tensor(item["labels"])
        return {
            "input_features": batch["input_features"],
            "attention_mask": batch["attention_mask"],
            "labels": labels,
        }


# Fields of TrainOptions that say where a run ran and how it showed it, not what it trained.
WHERE_IT_RAN = ("dataset_dir", "output_dir", "overwrite", "resume", "progress")


def options_record(options: TrainOptions) -> dict[str, Any]:
    """A run's training options as JSON (paths as text): what a study records of each run."""
    record = asdict(options) | {"model_config": dict(options.model_config)}
    return {key: str(value) if isinstance(value, Path) else value for key, value in record.items()}


def recipe_differences(
    recorded: dict[str, Any], asked: dict[str, Any], ignore: Collection[str] = ()
) -> list[str]:
    """How a recorded run (``options_record``, with any other keys such as its data) differs from what is asked,
    where it ran (``WHERE_IT_RAN``) and ``ignore`` aside, one phrase per key. A training option the record lacks
    was added after the run, which therefore ran at that option's default."""
    defaults = {f.name: f.default for f in fields(TrainOptions) if f.default is not MISSING}
    differences = []
    for key, value in asked.items():
        then = recorded.get(key, defaults.get(key))
        if key not in WHERE_IT_RAN and key not in ignore and then != value:
            differences.append(f"{key} {then!r} (asked: {value!r})")
    return differences


def build_tokenizer(targets: Sequence[str], init_from: Path | None) -> Any:
    """A word-level tokenizer over the training targets; fine-tuning keeps the old ids and appends new words."""
    from transformers import AutoTokenizer

    from modeling_signattention import build_gloss_tokenizer

    base = AutoTokenizer.from_pretrained(init_from) if init_from is not None else None
    return build_gloss_tokenizer(targets, base_tokenizer=base)


def model_config_fields() -> dict[str, Any]:
    """The ``SignAttentionConfig`` fields ``TrainOptions.model_config`` may set, with their types: the config's own
    fields, less those a run does not choose (``FIXED_CONFIG_FIELDS``) and those with their own option (``d_model``,
    ``dropout``)."""
    from modeling_signattention import SignAttentionConfig

    own = {field.name for field in fields(TrainOptions)}
    annotations = inspect.get_annotations(SignAttentionConfig, eval_str=True)
    return {
        name: kind
        for name, kind in annotations.items()
        if name not in FIXED_CONFIG_FIELDS and name not in own
    }


def check_model_config(options: TrainOptions) -> None:
    """Refuse ``model_config`` keys that are not config fields train lets through (``SignAttentionConfig`` would
    keep an unknown key as a stray attribute, and the run would silently train the default model), and a
    ``model_config`` next to ``--init-from`` (whose model brings its own architecture)."""
    if not options.model_config:
        return
    if options.init_from is not None:
        raise ValueError(
            f"--model-config {dict(options.model_config)} sets up a fresh model; --init-from {options.init_from} "
            "brings its own architecture"
        )
    allowed = model_config_fields()
    unknown = sorted(set(options.model_config) - set(allowed))
    if unknown:
        raise ValueError(
            f"--model-config: {', '.join(unknown)} cannot be set there (d_model and dropout have their own "
            f"options; {', '.join(FIXED_CONFIG_FIELDS)} are fixed by the data, the tokenizer or the "
            f"architecture); the fields it takes: {', '.join(allowed)}"
        )


def check_sample_rate(options: TrainOptions) -> None:
    """Refuse a ``sample_rate`` below 1, and one other than the default next to ``--init-from`` (whose saved
    feature extractor brings its own: the model was trained on the frames it reads), before any data is read."""
    if options.sample_rate < 1:
        raise ValueError(
            f"--sample-rate must be at least 1 (the model reads 1 frame in N), got {options.sample_rate}"
        )
    if options.init_from is not None and options.sample_rate != DEFAULT_SAMPLE_RATE:
        raise ValueError(
            f"--sample-rate {options.sample_rate} sets up a fresh model's feature extractor; --init-from "
            f"{options.init_from} brings its own (its preprocessor_config.json's sample_rate, the frames that model "
            "was trained on)"
        )


def report_cut_clips(
    train_set: PoseSeq2SeqDataset, eval_set: PoseSeq2SeqDataset, feature_extractor: Any
) -> None:
    """One line when training or validation clips are longer than the model reads: they are cut to their start
    (at ``sample_rate`` 1 the default 220 sampled frames are 7.3 s at 30 fps)."""
    if not train_set.num_cut and not eval_set.num_cut:
        return
    print(
        f"[train] {train_set.num_cut} of {len(train_set)} training and {eval_set.num_cut} of {len(eval_set)} "
        f"validation clips are longer than the model reads ({feature_extractor.max_frames} sampled frames, 1 in "
        f"{feature_extractor.sample_rate}): only their first {train_set.frames_read} frames are used; a fresh "
        "model reads more with --model-config '{\"max_source_positions\": N}'"
    )


def build_model(options: TrainOptions, tokenizer: Any, layout: str) -> tuple[Any, Any]:
    """A fresh paper-preset model reading the dataset's pose ``layout`` (with ``options.model_config`` on top), or
    the ``--init-from`` one with its embeddings grown to the new vocabulary (its own architecture and feature
    extractor then apply: ``--d-model`` and ``--dropout`` are not used, ``--sample-rate`` is refused by
    ``check_sample_rate``; its layout must be the dataset's). A fresh model's feature extractor reads 1 frame in
    ``options.sample_rate`` and at most ``max_source_positions`` of them."""
    from transformers import AutoFeatureExtractor

    from modeling_signattention import SignAttentionConfig, SignAttentionForConditionalGeneration

    if options.init_from is not None:
        model = SignAttentionForConditionalGeneration.from_pretrained(options.init_from)
        if model.config.layout != layout:
            raise ValueError(
                f"--init-from {options.init_from} reads pose layout {model.config.layout!r}, the dataset "
                f"{options.dataset_dir} holds layout {layout!r}"
            )
        old_vocab = model.config.vocab_size
        if len(tokenizer) > old_vocab:
            # Resizes the decoder embedding and the lm_head (get_output_embeddings); old rows are copied as is.
            model.resize_token_embeddings(len(tokenizer))
            print(f"[train] vocabulary grown from {old_vocab} to {len(tokenizer)} tokens for fine-tuning")
        return model, AutoFeatureExtractor.from_pretrained(options.init_from)
    settings = {
        "layout": layout,
        "d_model": options.d_model,
        "dropout": options.dropout,
        "attention_dropout": options.dropout,
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "unk_token_id": tokenizer.unk_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "decoder_start_token_id": tokenizer.bos_token_id,
    }
    config = SignAttentionConfig(**settings | options.model_config)
    feature_extractor = SignAttentionFeatureExtractor(
        config.landmark_components,
        config.num_coordinates,
        sample_rate=options.sample_rate,
        max_frames=config.max_source_positions,
        layout=config.layout,
    )
    return SignAttentionForConditionalGeneration(config), feature_extractor


def encode_targets(tokenizer: Any, targets: Sequence[str], max_length: int) -> list[list[int]]:
    """Label ids ending with ``</s>``, at most ``max_length`` (the decoder's positions, start token included)."""
    too_long = sum(len(target.split()) > max_length - 1 for target in targets)
    if too_long:
        print(f"[train] {too_long} targets longer than {max_length - 1} tokens are cut to that length")
    return tokenizer(list(targets), truncation=True, max_length=max_length)["input_ids"]


def make_compute_metrics(tokenizer: Any, output_mode: str, references: Sequence[str]):
    """``compute_metrics`` for ``predict_with_generate``: the same WER as ``hub_scripts.evaluate``.

    The references are the evaluation targets as written, not the label ids decoded back: a gloss missing from
    the training vocabulary is ``<unk>`` in the labels, and decoding with ``skip_special_tokens`` would drop it
    from the reference (the evaluation split's order is kept by the Trainer, so row i is target i).
    """

    def compute_metrics(prediction) -> dict[str, float]:
        return score(decode_sentences(tokenizer, prediction.predictions), list(references), output_mode)

    return compute_metrics


def rows_with_target(targets: Sequence[str], limit: int | None) -> tuple[list[int], list[str]]:
    """The first ``limit`` rows that have a target (text mode skips clips without a Greek translation), and their
    targets."""
    keep = [i for i, target in enumerate(targets) if target][:limit]
    return keep, [targets[i] for i in keep]


class RunFolderError(Exception):
    """The run folder does not allow what was asked (nothing to resume, an earlier run's checkpoints in the
    way): one line on the command line, not a traceback."""


def torch_load_safely(path: Path) -> Any:
    """``torch.load`` as the Trainer reads its checkpoint files: tensors and numpy's random state only."""
    from transformers.trainer_pt_utils import safe_globals

    with safe_globals():
        return torch.load(path, map_location="cpu", weights_only=True)


def load_error(error: Exception) -> str:
    """What went wrong, in a line. torch's own message for a file that is no checkpoint advises loading it with
    ``weights_only=False``, i.e. running whatever it holds: only the reason is kept."""
    message = str(error)
    if "WeightsUnpickler error:" in message:
        message = message.split("WeightsUnpickler error:", 1)[1]
    reason = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


def checkpoint_problem(checkpoint: Path) -> str | None:
    """Why ``checkpoint`` cannot be resumed from (naming the file), or None: every file the Trainer reads back
    loads. A run killed while saving leaves, e.g., a truncated ``model.safetensors``; the random-number state
    files (``rng_state*.pth``) are optional to the Trainer, but one that is there must load."""
    from safetensors.torch import load_file

    readers = {
        "model.safetensors": load_file,
        "trainer_state.json": lambda path: json.loads(Path(path).read_text(encoding="utf-8")),
        "optimizer.pt": torch_load_safely,
        "scheduler.pt": torch_load_safely,
    }
    for name, read in readers.items():
        path = checkpoint / name
        if not path.is_file():
            return f"{path} is missing"
        try:
            read(path)
        except Exception as error:  # each library raises its own type (SafetensorError, UnpicklingError, ...)
            return f"{path} does not load ({load_error(error)})"
    for path in sorted(checkpoint.glob("rng_state*.pth")):
        try:
            torch_load_safely(path)
        except Exception as error:
            return f"{path} does not load ({load_error(error)})"
    return None


def resumable_checkpoint(checkpoint_dir: Path, is_main: bool) -> str:
    """The newest checkpoint in ``checkpoint_dir`` that loads. Newer broken ones are renamed ``broken-checkpoint-N``
    by the main process (kept for inspection, out of the Trainer's way: it would rotate them or overwrite them)."""
    from transformers.trainer_utils import get_last_checkpoint

    while (last := get_last_checkpoint(str(checkpoint_dir))) is not None:
        problem = checkpoint_problem(Path(last))
        if problem is None:
            return last
        if not is_main:  # the main process went first and moved every broken checkpoint aside
            raise RunFolderError(f"--resume: {problem}")
        broken = Path(last).with_name(f"broken-{Path(last).name}")
        Path(last).rename(broken)
        print(f"[train] --resume: {problem}; moved it aside to {broken} and trying the previous checkpoint")
    raise RunFolderError(
        f"--resume: no checkpoint in {checkpoint_dir} loads, so there is nothing to continue from"
    )


def prepare_checkpoint_folder(options: TrainOptions, checkpoint_dir: Path, is_main: bool) -> str | None:
    """The checkpoint to resume from (``--resume``), or None for a fresh run, which needs an empty folder: an
    earlier run's checkpoints are refused unless ``--overwrite`` deletes them (a fresh run must not mix its
    checkpoints with an older run's: best-model tracking, rotation)."""
    from transformers.trainer_utils import get_last_checkpoint

    if options.resume and options.overwrite:
        raise RunFolderError("--resume continues the checkpoints that --overwrite deletes: pass one of them")
    last_checkpoint = get_last_checkpoint(str(checkpoint_dir)) if checkpoint_dir.is_dir() else None
    if options.resume:
        if last_checkpoint is None:
            raise RunFolderError(f"--resume: no checkpoint in {checkpoint_dir} to continue from")
        return resumable_checkpoint(checkpoint_dir, is_main)
    if last_checkpoint is None:
        return None
    if not options.overwrite:
        raise RunFolderError(
            f"{checkpoint_dir} holds an earlier run's checkpoints (the last: {Path(last_checkpoint).name}): "
            "pass --resume to continue that run, or --overwrite to delete them and start afresh"
        )
    if is_main:
        print(f"[train] --overwrite: removing the old checkpoints in {checkpoint_dir}")
        shutil.rmtree(checkpoint_dir)
    return None


def warn_single_cpu_process() -> None:
    """``accelerate launch --cpu --num_processes N`` starts one process (several CPU processes need mpirun), with
    MASTER_ADDR set for the N it does not start: say so rather than train alone in silence."""
    launched_for_cpu = (
        os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true" and "MASTER_ADDR" in os.environ
    )
    if launched_for_cpu and "WORLD_SIZE" not in os.environ:
        print(
            "[train] warning: `accelerate launch --cpu` started this one process only; for several CPU processes"
            " run `torchrun --nproc_per_node N -m hub_scripts.train ...` or"
            " `accelerate launch --multi_gpu --num_processes N -m hub_scripts.train ...`"
        )


def training_arguments(options: TrainOptions, checkpoint_dir: Path, isolated_signs: bool = False) -> Any:
    """The ``Seq2SeqTrainingArguments`` of a run: the paper's recipe from ``options``, evaluation and checkpoints
    every epoch, the best epoch (lowest validation WER) kept. The ``isolated_signs`` stage runs
    ``options.isolated_sign_epochs`` epochs without evaluation or checkpoints (the main stage follows at once)."""
    from transformers import Seq2SeqTrainingArguments

    main_stage = not isolated_signs
    return Seq2SeqTrainingArguments(
        output_dir=str(checkpoint_dir),
        num_train_epochs=options.epochs if main_stage else options.isolated_sign_epochs,
        per_device_train_batch_size=options.batch_size
        if main_stage
        else options.isolated_sign_batch_size or options.batch_size,
        per_device_eval_batch_size=options.eval_batch_size,
        learning_rate=options.learning_rate,
        lr_scheduler_type=options.lr_scheduler,
        warmup_steps=options.warmup_ratio,
        weight_decay=options.weight_decay,
        eval_strategy="epoch" if main_stage else "no",
        save_strategy="epoch" if main_stage else "no",
        save_total_limit=2,  # the best and the last: enough for load_best_model_at_end and --resume
        load_best_model_at_end=main_stage,
        metric_for_best_model="wer",
        greater_is_better=False,
        predict_with_generate=True,
        generation_num_beams=options.num_beams,
        logging_steps=options.logging_steps,
        logging_first_step=True,
        report_to=["tensorboard"],
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),  # pinned memory only speeds copies to a GPU
        remove_unused_columns=False,  # the collator needs the "clip" and "augment" fields
        seed=options.seed,
        # One fused kernel for the whole AdamW update: torch's CPU default loops over the paper model's 53 parameter
        # tensors, 1.57 ms against 0.30 ms per step (benchmarks/bench_optimizer.py), of a step of ~24 ms at batch 16.
        optim="adamw_torch_fused",
        disable_tqdm=not options.progress,
        # Without CUDA, launched processes each train alone on all the data (no process group) unless told they
        # are CPU processes. Every parameter takes part in every step, so DDP need not search for unused ones.
        use_cpu=int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available(),
        ddp_find_unused_parameters=False,
    )


def make_trainer(
    options: TrainOptions,
    args: Any,
    model: Any,
    tokenizer: Any,
    feature_extractor: Any,
    train_set: PoseSeq2SeqDataset,
    eval_set: PoseSeq2SeqDataset,
    eval_targets: Sequence[str],
    metadata: dict[str, Any],
) -> PoseSeq2SeqTrainer:
    """The Trainer: length-bucketed batches, validation WER with ``generate()``, early stopping, TensorBoard."""
    from transformers import EarlyStoppingCallback

    output_dir = Path(options.output_dir)
    trainer = PoseSeq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=PoseCollator(feature_extractor, seed=options.seed),
        processing_class=tokenizer,
        compute_metrics=make_compute_metrics(tokenizer, options.output_mode, eval_targets),
        callbacks=[EarlyStoppingCallback(early_stopping_patience=options.patience)],
    )
    log_to_tensorboard_folder(trainer, output_dir / "tensorboard")
    return trainer


def log_to_tensorboard_folder(trainer: Seq2SeqTrainer, folder: Path) -> None:
    """TensorBoard logs in ``folder`` (next to model/, not inside checkpoints/) unless TENSORBOARD_LOGGING_DIR says
    otherwise."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(folder)


def signs_one_gloss(target: str) -> bool:
    """Whether a training clip is an isolated sign: what stage 1 trains on, and what
    ``--sentences-after-isolated-signs`` leaves out of the main stage."""
    return len(target.split()) == 1


def train_on_isolated_signs(
    options: TrainOptions,
    checkpoint_dir: Path,
    model: Any,
    tokenizer: Any,
    feature_extractor: Any,
    train_set: PoseSeq2SeqDataset,
    train_targets: Sequence[str],
) -> list[dict[str, Any]]:
    """Stage 1 of ``--isolated-sign-epochs``: train ``model`` in place on the training clips of one gloss only, and
    return that stage's log history.

    Why: on sentences the paper model must learn at once what each sign looks like and where it is in the clip.
    Learning the signs first, from short clips, then reading sentences, measured on the sentence-disjoint SD split
    (README, "Sentence-disjoint setting"), reached a lower WER in less time than sentences alone.
    """
    single = [i for i, target in enumerate(train_targets) if signs_one_gloss(target)]
    if not single:
        raise ValueError(
            "--isolated-sign-epochs needs training clips that sign one gloss, and this dataset has none "
            "(build it with python -m dataset_builder.build --isolated-signs N)"
        )
    then = "the clips of two or more glosses" if options.sentences_after_isolated_signs else "every clip"
    print(
        f"[train] stage 1: {options.isolated_sign_epochs} epochs on the {len(single)} training clips of one gloss"
        f" (isolated signs), then {then}"
    )
    trainer = PoseSeq2SeqTrainer(
        model=model,
        args=training_arguments(options, checkpoint_dir / "isolated_signs", isolated_signs=True),
        train_dataset=train_set.select(single),
        data_collator=PoseCollator(feature_extractor, seed=options.seed),
        processing_class=tokenizer,
    )
    log_to_tensorboard_folder(trainer, Path(options.output_dir) / "tensorboard" / "isolated_signs")
    trainer.train()
    return trainer.state.log_history


def score_on_test(
    trainer: PoseSeq2SeqTrainer,
    options: TrainOptions,
    feature_extractor: Any,
    tokenizer: Any,
    test_split: PoseSplit,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """``eval_results.json`` of the best epoch: test scores, where they come from, and how training went."""
    print(f"[train] evaluating the best epoch on the test split ({metadata['config']})")
    scores, _ = evaluate_split(
        trainer.model,
        feature_extractor,
        tokenizer,
        test_split,
        options.output_mode,
        metadata["input_components"],
        options.num_beams,
        progress=options.progress,
    )
    return {
        "data_source": metadata["data_source"],
        **({"corpus": metadata["corpus"]} if "corpus" in metadata else {}),
        "config": metadata["config"],
        "split": "test",
        "output_mode": options.output_mode,
        "num_beams": options.num_beams,
        **scores,
        "best_validation_wer": trainer.state.best_metric,
        "epochs_trained": trainer.state.epoch,
    }


def train(options: TrainOptions) -> dict[str, Any]:
    """Run training, save the Hub-ready model and its test scores; return ``eval_results`` (+ timings).

    Under several processes every one trains; the main one alone evaluates on the test split, writes the run's
    files and returns the results (the others return an empty dict). All of it runs with ``options.threads``
    intra-op threads (:func:`torch_threads`); the caller's setting is restored afterwards."""
    with torch_threads(options.threads):
        return train_with_current_threads(options)


def train_with_current_threads(options: TrainOptions) -> dict[str, Any]:
    """``train`` without touching the thread count."""
    from transformers import set_seed

    from modeling_signattention import save_pipeline

    if options.output_mode not in OUTPUT_MODES:
        raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, got {options.output_mode!r}")
    check_model_config(options)
    check_sample_rate(options)
    warn_single_cpu_process()
    set_seed(options.seed)
    output_dir = Path(options.output_dir)
    model_dir, checkpoint_dir = output_dir / "model", output_dir / "checkpoints"
    args = training_arguments(options, checkpoint_dir)
    is_main = args.process_index == 0
    with args.main_process_first(
        desc="checkpoint folder"
    ):  # the main process removes/renames, then the others
        last_checkpoint = prepare_checkpoint_folder(options, checkpoint_dir, is_main)

    started = time.perf_counter()
    metadata = dataset_metadata(options.dataset_dir)
    check_splits(Path(options.dataset_dir), SPLITS)
    rows, targets = {}, {}
    for name, limit in (("train", options.max_train_samples), ("validation", options.max_eval_samples)):
        every_target = load_targets(options.dataset_dir, name, options.output_mode)
        rows[name], targets[name] = rows_with_target(every_target, limit)
        if not rows[name]:
            raise DatasetFolderError(
                f"The {name} split of {options.dataset_dir} has no clip with a {options.output_mode} target "
                f"(of {len(every_target)} clips, none has a non-empty {options.output_mode!r}): nothing to train on"
            )

    tokenizer = build_tokenizer(targets["train"], options.init_from)
    model, feature_extractor = build_model(options, tokenizer, metadata["layout"])
    model.config.output_mode = options.output_mode  # read back by hub_scripts.evaluate
    max_length = model.config.max_target_positions
    # Each clip is preprocessed as it is read and only that is kept (iter_split_poses): the raw poses of a split
    # are never all in memory.
    train_set, eval_set = (
        PoseSeq2SeqDataset(
            iter_split_poses(options.dataset_dir, name, rows[name]),
            encode_targets(tokenizer, targets[name], max_length),
            augment,
            feature_extractor,
            metadata["input_components"],
            progress=options.progress and is_main,
            dtype=options.clip_dtype,
        )
        for name, augment in (("train", True), ("validation", False))
    )
    if is_main:
        print(
            f"[train] {len(train_set)} train / {len(eval_set)} validation clips read and preprocessed "
            f"({time.perf_counter() - started:.1f}s)"
        )
        report_cut_clips(train_set, eval_set, feature_extractor)

    isolated_sign_log = []
    if options.isolated_sign_epochs and not options.resume:
        isolated_sign_log = train_on_isolated_signs(
            options, checkpoint_dir, model, tokenizer, feature_extractor, train_set, targets["train"]
        )
    main_stage_set = train_set
    if options.isolated_sign_epochs and options.sentences_after_isolated_signs:
        main_stage_set = train_set.select(
            [i for i, target in enumerate(targets["train"]) if not signs_one_gloss(target)]
        )
    trainer = make_trainer(
        options,
        args,
        model,
        tokenizer,
        feature_extractor,
        main_stage_set,
        eval_set,
        targets["validation"],
        metadata,
    )
    train_metrics = trainer.train(resume_from_checkpoint=last_checkpoint).metrics
    trainer.save_model(str(model_dir))  # the best epoch: model, config + code, tokenizer, generation config
    if not trainer.is_world_process_zero():
        return {}

    test_split = load_pose_splits(options.dataset_dir, ["test"])["test"]
    results = score_on_test(trainer, options, feature_extractor, tokenizer, test_split, metadata)
    results["train_seconds"] = train_metrics["train_runtime"]
    results["train_samples_per_second"] = train_metrics["train_samples_per_second"]
    # tokenizer and feature extractor next to the best model, and the pipeline the Hub way
    save_pipeline(trainer.model, tokenizer, feature_extractor, model_dir)
    write_json(
        output_dir / TRAINING_LOG_FILE,
        {"log_history": trainer.state.log_history}
        | ({"isolated_sign_log_history": isolated_sign_log} if isolated_sign_log else {}),
    )
    write_json(model_dir / EVAL_RESULTS_FILE, results)
    print(
        f"[train] test WER {results['wer']:.2%} ({results['num_sentences']} sentences); model in {model_dir}"
    )
    return results


def parse_args(argv: Sequence[str] | None = None) -> TrainOptions:
    parser = HfArgumentParser(TrainOptions, description=__doc__.split("\n\n")[0])
    (options,) = parser.parse_args_into_dataclasses(args=argv)
    if not options.dataset_dir.is_dir():
        parser.error(f"no dataset at {options.dataset_dir} (build one with python -m dataset_builder.build)")
    return options


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    try:
        results = train(parse_args(argv))
    except (RunFolderError, DatasetFolderError) as error:
        raise SystemExit(f"error: {error}") from None
    if results:  # the main process
        print(json.dumps(results, ensure_ascii=False, indent=2))
    if torch.distributed.is_initialized():
        # The other processes wait for the main one's test evaluation, then all leave together: a process that
        # exits while the process group lives aborts (SIGABRT), and torchrun then kills the main process mid-write.
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return results


if __name__ == "__main__":
    main()
