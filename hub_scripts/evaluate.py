"""Evaluate a saved SignAttention model on one split of a pose dataset: WER (and BLEU/chrF for text) -> JSON.

    python -m hub_scripts.evaluate --model-dir outputs/reproduce/si/model --dataset-dir outputs/reproduce/si/dataset \
        [--split test] [--num-beams 1] [--output-file MODEL_DIR/eval_results.json]

Reading the dataset is ``dataset_builder.loading``'s job; this module turns generated ids into scored sentences
(``decode_sentences``, ``score``, ``evaluate_split``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dataset_builder.gsl import SPLITS
from dataset_builder.loading import OUTPUT_MODES, PoseSplit, dataset_metadata, load_pose_splits
from modeling_signattention.interpretability.schema import EVAL_RESULTS_FILE
from modeling_signattention.loading import load_pretrained


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (``None``: leave the setting), then restore it.

    Why: this model's operations are small (d_model 16), and every one of them that PyTorch splits across threads
    waits for all of them: when another job holds a core, each such wait lasts a scheduler time slice. On the
    project's shared 2-core machine a second thread made the work far slower, not faster: integrated gradients on
    64 SI test clips took 56.8 CPU seconds with 2 threads and 4.8 with 1 (load 3-4), greedy decoding of 64 clips
    4.3 s wall against 0.4 s (load 4-5), a training epoch 87.6-443 s against 22-34 s (load 5-7; docs/benchmarks.md,
    "Why two threads barely beat one"). Two cores are better used by two processes.
    """
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def decode_sentences(tokenizer: Any, ids: Any) -> list[str]:
    """Generated ids (batch, length) -> whitespace-joined glosses/words: special tokens (``<s>``, ``</s>``, padding)
    dropped; negative ids (the Trainer's -100 padding between batches) read as padding."""
    ids = np.asarray(ids)
    ids = np.where(ids < 0, tokenizer.pad_token_id, ids)
    return tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def score(predictions: Sequence[str], references: Sequence[str], output_mode: str) -> dict[str, float | int]:
    """WER with its edit counts; in text mode also BLEU (``bleu``, 4-grams; ``bleu1``..``bleu3``) and chrF, with
    sacreBLEU's own tokenizer and 0-100 scale."""
    from modeling_signattention.metrics import compute_gloss_wer, compute_text_scores
    from modeling_signattention.metrics.recognition import BLEU_TOKENIZERS

    scores = compute_gloss_wer(predictions, references)
    if output_mode == "text":
        scores.update(compute_text_scores(predictions, references, BLEU_TOKENIZERS[output_mode]))
    return scores


@torch.no_grad()
def decode(
    model: Any,
    feature_extractor: Any,
    tokenizer: Any,
    poses: Sequence[np.ndarray],
    input_components: Sequence[str] | None = None,
    num_beams: int = 1,
    batch_size: int = 128,
    progress: bool = False,
) -> list[str]:
    """Translate poses to sentences with ``generate()`` (no attentions: what evaluation needs, and no more)."""
    from tqdm.auto import tqdm

    model.eval()
    sentences = []
    for start in tqdm(range(0, len(poses), batch_size), desc="decoding", unit="batch", disable=not progress):
        batch = feature_extractor(list(poses[start : start + batch_size]), input_components=input_components)
        sequences = model.generate(**batch.to(model.device), num_beams=num_beams)
        sentences += decode_sentences(tokenizer, sequences.cpu())
    return sentences


def evaluate_split(
    model: Any,
    feature_extractor: Any,
    tokenizer: Any,
    split: PoseSplit,
    output_mode: str,
    input_components: Sequence[str] | None = None,
    num_beams: int = 1,
    progress: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """Scores of ``model`` on ``split`` and its predictions (sentences with an empty target are skipped)."""
    references = split.targets(output_mode)
    keep = [i for i, reference in enumerate(references) if reference]
    if not keep:
        raise ValueError(f"No sentence of the split has a {output_mode} target to score against")
    predictions = decode(
        model,
        feature_extractor,
        tokenizer,
        [split.poses[i] for i in keep],
        input_components,
        num_beams,
        progress=progress,
    )
    scores = score(predictions, [references[i] for i in keep], output_mode)
    scores["num_skipped_empty_targets"] = len(references) - len(keep)
    # Clips longer than what the model reads were translated from their start only (the feature extractor
    # warns per clip); the count goes with the scores so a WER is never read without it.
    reads = feature_extractor.max_frames * feature_extractor.sample_rate
    scores["num_clips_cut_to_max_frames"] = sum(len(split.poses[i]) > reads for i in keep)
    return scores, predictions


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument(
        "--output-mode", choices=OUTPUT_MODES, help="default: the one the model was trained for"
    )
    parser.add_argument("--num-beams", type=int, default=1)
    parser.add_argument("--output-file", type=Path, help="default: MODEL_DIR/eval_results.json")
    args = parser.parse_args(argv)

    model, feature_extractor, tokenizer = load_pretrained(args.model_dir)
    output_mode = args.output_mode or getattr(model.config, "output_mode", "gloss")
    metadata = dataset_metadata(args.dataset_dir)
    split = load_pose_splits(args.dataset_dir, [args.split])[args.split]
    scores, _ = evaluate_split(
        model,
        feature_extractor,
        tokenizer,
        split,
        output_mode,
        metadata["input_components"],
        args.num_beams,
        progress=True,
    )
    results = {
        "data_source": metadata["data_source"],
        "config": metadata["config"],
        "split": args.split,
        "output_mode": output_mode,
        "num_beams": args.num_beams,
        **scores,
    }
    write_json(args.output_file or args.model_dir / EVAL_RESULTS_FILE, results)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return results


if __name__ == "__main__":
    main()
