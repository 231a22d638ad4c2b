"""Evaluate a saved SignAttention model on one split of a pose dataset: WER (and BLEU/chrF for text) -> JSON.

    python -m hub_scripts.evaluate --model-dir outputs/reproduce/model --dataset-dir outputs/reproduce/dataset \
        [--split test] [--num-beams 1] [--output-file MODEL_DIR/eval_results.json]

This module is also the one place that knows how to read a dataset built by ``dataset_builder`` into memory
(``load_pose_splits``) and how to turn generated ids into scored sentences (``ids_to_sentence``, ``score``):
``train``, ``interpret`` and ``reproduce`` import them from here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

OUTPUT_MODES = ("gloss", "text")
SPLITS = ("train", "validation", "test")


@dataclass
class PoseSplit:
    """One split held in memory: pose arrays (frames, points, 3) with NaN = not detected, and their labels.

    Poses are numpy views of the Arrow buffers, read once: reading ``Array3D`` rows one by one (``ds[i]["pose"]``)
    costs about 22 ms per clip, over 3 minutes per epoch of the SI training split; all three splits load here in
    about 4 s (measured on the 2-core CI machine, shared).
    """

    ids: list[str]
    poses: list[np.ndarray]
    glosses: list[str]
    texts: list[str]
    gloss_spans: list[np.ndarray]  # (n_glosses, 2) [start, end) clip frames; (0, 2) when unknown (real data)
    signers: list[str]

    def __len__(self) -> int:
        return len(self.ids)

    def targets(self, output_mode: str) -> list[str]:
        """What the model learns to produce: the gloss sequence, or the Greek text lowercased, word by word."""
        if output_mode == "gloss":
            return list(self.glosses)
        if output_mode == "text":
            return [" ".join(text.lower().split()) for text in self.texts]
        raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")

    def select(self, indices: Sequence[int]) -> PoseSplit:
        return PoseSplit(*([values[i] for i in indices] for values in vars(self).values()))


def _arrow_poses(column: Any) -> list[np.ndarray]:
    """An Arrow ``Array3D(None, K, 3)`` column -> one (frames, K, 3) float32 array per row, without copies."""
    import pyarrow as pa

    array = column.combine_chunks()
    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    offsets = array.offsets.to_numpy()
    points = array.flatten()  # one entry per frame; flatten() honours slicing, unlike .values
    num_points = len(points[0]) if len(points) else 0
    values = points.flatten().flatten().to_numpy(zero_copy_only=False)
    frames = values.reshape(-1, num_points, 3) if num_points else values.reshape(0, 0, 3)
    return np.split(frames, offsets[1:-1] - offsets[0])


def load_pose_splits(dataset_dir: str | Path, splits: Sequence[str] = SPLITS) -> dict[str, PoseSplit]:
    """Read the requested splits of a built dataset (``datasets.load_dataset(dataset_dir)``) into memory."""
    import datasets

    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise FileNotFoundError(
            f"No dataset at {dataset_dir}: build one with `python -m dataset_builder.build`"
        )
    dataset = datasets.load_dataset(str(dataset_dir))
    missing = [split for split in splits if split not in dataset]
    if missing:
        raise ValueError(f"The dataset at {dataset_dir} has no split {missing}; it has {list(dataset)}")
    loaded = {}
    for split in splits:
        table = dataset[split].data
        loaded[split] = PoseSplit(
            ids=table.column("id").to_pylist(),
            poses=_arrow_poses(table.column("pose")),
            glosses=table.column("gloss").to_pylist(),
            texts=table.column("text").to_pylist(),
            gloss_spans=[
                np.asarray(spans, dtype=np.int64).reshape(-1, 2)
                for spans in table.column("gloss_spans").to_pylist()
            ],
            signers=table.column("signer").to_pylist(),
        )
    return loaded


def dataset_metadata(dataset_dir: str | Path) -> dict[str, Any]:
    """The pose layout (``input_components``, from landmarks.json) and the provenance of a built dataset.

    Provenance comes from what ``dataset_builder.build`` writes: the card's config name, its ``synthetic`` tag,
    its ``recombination`` (recombined training clips, ``--recombine``) and ``report.json`` (real sources only); "unknown" when the folder was made some other way.
    """
    from huggingface_hub import DatasetCard

    from dataset_builder.build import read_landmarks

    dataset_dir = Path(dataset_dir)
    metadata = {
        "input_components": list(read_landmarks(dataset_dir)["components"]),
        "data_source": "unknown",
        "config": "unknown",
        "recombination": None,  # or {"clips": N, "method": ...}: recombined training clips (--recombine)
    }
    card_path, report_path = dataset_dir / "README.md", dataset_dir / "report.json"
    if card_path.is_file():
        card = DatasetCard.load(card_path).data
        configs = card.get("configs") or []
        if configs:
            metadata["config"] = configs[0]["config_name"]
        if "synthetic" in (card.get("tags") or []):
            metadata["data_source"] = "synthetic"
        metadata["recombination"] = card.get("recombination")
    if report_path.is_file():
        metadata["data_source"] = json.loads(report_path.read_text(encoding="utf-8"))["source"]
    return metadata


def ids_to_sentence(ids: Sequence[int], tokenizer: Any) -> str:
    """Generated or label ids -> whitespace-joined tokens: stop at ``</s>``, drop padding/-100/start tokens."""
    tokens = []
    for token_id in ids:
        token_id = int(token_id)
        if token_id == tokenizer.eos_token_id:
            break
        if token_id >= 0 and token_id not in (tokenizer.pad_token_id, tokenizer.bos_token_id):
            tokens.append(tokenizer.convert_ids_to_tokens(token_id))
    return " ".join(tokens)


def score(predictions: Sequence[str], references: Sequence[str], output_mode: str) -> dict[str, float | int]:
    """WER with its edit counts; in text mode also BLEU-1..4 and chrF (sacreBLEU's 0-100 scale)."""
    from modeling_signattention.metrics import compute_gloss_wer, compute_text_scores

    scores = compute_gloss_wer(predictions, references)
    if output_mode == "text":
        scores.update(compute_text_scores(predictions, references))
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
        sentences += [ids_to_sentence(row[1:], tokenizer) for row in sequences.tolist()]
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
    return scores, predictions


def load_model_dir(model_dir: str | Path) -> tuple[Any, Any, Any]:
    """Model, feature extractor and tokenizer of a saved (Hub-ready) folder, with no custom-code prompt."""
    from transformers import AutoFeatureExtractor, AutoModelForSeq2SeqLM, AutoTokenizer

    import modeling_signattention  # noqa: F401  (registers the Auto classes)

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(
            f"No saved model in {model_dir} (config.json missing): train one with hub_scripts.train"
        )
    return (
        AutoModelForSeq2SeqLM.from_pretrained(model_dir),
        AutoFeatureExtractor.from_pretrained(model_dir),
        AutoTokenizer.from_pretrained(model_dir),
    )


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

    model, feature_extractor, tokenizer = load_model_dir(args.model_dir)
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
    write_json(args.output_file or args.model_dir / "eval_results.json", results)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    return results


if __name__ == "__main__":
    main()
