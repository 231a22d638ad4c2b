"""Build the GSL pose dataset as a Hub-ready folder: Parquet shards, a dataset card and ``landmarks.json``.

Command line::

    python -m dataset_builder.build --config si --source synthetic --output-dir data/gsl_si
    python -m dataset_builder.build --config sd --source gsl --gsl-root /data/GSL --output-dir data/gsl_sd
    python -m dataset_builder.build --config si --source poses --poses-dir poses/ --landmarks full ...

The folder loads offline with ``datasets.load_dataset(DIR)`` (splits train / validation / test, ``pose`` an
``Array3D``) and can be pushed to the Hub as is::

    DIR/README.md                          dataset card: YAML configs + features, layout, source, attribution
    DIR/landmarks.json                     which Holistic components ``pose`` holds, in order
    DIR/data/train-00000-of-00003.parquet  ... one or more shards per split
    DIR/missing_clips.txt, DIR/report.json real sources only: clips not found / without a person

The build writes into a hidden sibling folder and renames it at the end, so an interrupted build never leaves
a folder that looks complete. Python callers (training, reproduction scripts) use ``build_dataset``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from datasets.exceptions import DatasetGenerationError
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from dataset_builder.gsl import CONFIGS, SPLITS
from dataset_builder.gsl_poses import SOURCES, GSLPoses, landmark_layout
from dataset_builder.landmarks import LANDMARK_SETS
from dataset_builder.loading import LANDMARKS_FILE

REPORT_FILES = ("missing_clips.txt", "report.json")


def _stage(message: str) -> None:
    print(f"[build] {message}", file=sys.stderr, flush=True)


def build_dataset(
    config: str = "si",
    source: str = "synthetic",
    output_dir: str | Path = "gsl_poses",
    *,
    gsl_root: str | Path | None = None,
    poses_dir: str | Path | None = None,
    pose_cache: str | Path | None = None,
    landmark_set: str = "body_hands",
    limit: int | None = None,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    max_shard_size: str | int = "500MB",
    overwrite: bool = False,
) -> Path:
    """Build config ``config`` (si / sd) from ``source`` into ``output_dir`` and return its path.

    ``cache_dir`` is the datasets cache (default: the HF cache); the ``gsl`` source keeps its extracted poses
    there (``gsl_pose_cache``) unless ``pose_cache`` says otherwise, so rebuilding never re-runs MediaPipe.
    An existing ``output_dir`` is an error unless ``overwrite``; it is only replaced once the new one is done.
    """
    output_dir = Path(output_dir).absolute()
    if output_dir.exists() and not overwrite:
        raise FileExistsError(f"{output_dir} already exists; pass overwrite=True (--overwrite) to replace it")
    started = time.time()
    builder = GSLPoses(
        config_name=config,
        source=source,
        gsl_root=None if gsl_root is None else str(gsl_root),
        poses_dir=None if poses_dir is None else str(poses_dir),
        pose_cache=None if pose_cache is None else str(pose_cache),
        landmark_set=landmark_set,
        limit=limit,
        seed=seed,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    staging = output_dir.with_name(f".{output_dir.name}.incomplete-{uuid.uuid4().hex[:8]}")
    try:
        _stage(f"1/3 generating GSL {config} from {source} ({landmark_set}) into {staging}")
        prepared = staging / "work" / "prepared"  # datasets leaves lock files next to it: all go with work/
        builder.download_and_prepare(
            output_dir=str(prepared), file_format="parquet", max_shard_size=max_shard_size
        )

        _stage("2/3 arranging Parquet shards, landmarks.json and the dataset card")
        _move_shards(prepared, staging / "data", builder.dataset_name)
        for name in REPORT_FILES:
            if (prepared / name).exists():
                shutil.move(prepared / name, staging / name)
        shutil.rmtree(staging / "work")
        layout = landmark_layout(landmark_set)
        (staging / LANDMARKS_FILE).write_text(json.dumps(layout, indent=2) + "\n", encoding="utf-8")
        _dataset_card(builder, layout).save(staging / "README.md")

        _stage(f"3/3 publishing {output_dir}")
        _replace_folder(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    splits = ", ".join(f"{name} {info.num_examples}" for name, info in builder.info.splits.items())
    _stage(f"done in {time.time() - started:.1f}s: {splits} clips")
    return output_dir


def _move_shards(prepared: Path, data_dir: Path, dataset_name: str) -> None:
    """datasets names shards ``<name>-<split>[-SSSSS-of-NNNNN].parquet``; the Hub convention (and our card's
    ``data_files``) is ``data/<split>-SSSSS-of-NNNNN.parquet``."""
    data_dir.mkdir(parents=True)
    for split in SPLITS:
        shards = sorted(prepared.glob(f"{dataset_name}-{split}*.parquet"))
        if not shards:
            raise RuntimeError(f"datasets wrote no Parquet file for split {split!r} in {prepared}")
        for index, shard in enumerate(shards):
            shutil.move(shard, data_dir / f"{split}-{index:05d}-of-{len(shards):05d}.parquet")


def _replace_folder(staging: Path, output_dir: Path) -> None:
    """Rename ``staging`` to ``output_dir``; an old ``output_dir`` is moved aside first, deleted after."""
    old = None
    if output_dir.exists():
        old = output_dir.with_name(f".{output_dir.name}.old-{uuid.uuid4().hex[:8]}")
        output_dir.rename(old)
    staging.rename(output_dir)
    if old is not None:
        shutil.rmtree(old)


def _dataset_card(builder: GSLPoses, layout: dict) -> DatasetCard:
    """README.md: YAML (configs -> data files, features, landmark layout) and a human description."""
    config = builder.config
    synthetic = config.source == "synthetic"
    card_data = DatasetCardData(
        license="mit" if synthetic else "other",
        language=["el", "gss"],
        pretty_name=f"GSL continuous pose sequences ({config.name}, {config.source})",
        tags=["sign-language", "pose-estimation", "mediapipe", "greek-sign-language"]
        + (["synthetic"] if synthetic else []),
        task_categories=["translation"],
    )
    info = builder.info.copy()
    info.description, info.license, info.homepage = "", "", ""  # said in the card body instead
    DatasetInfosDict({config.name: info}).to_dataset_card_data(card_data)
    data_files = [{"split": split, "path": f"data/{split}-*"} for split in SPLITS]
    MetadataConfigs({config.name: {"data_files": data_files, "default": True}}).to_dataset_card_data(
        card_data
    )
    card_data["landmarks"] = layout
    split_rows = "\n".join(
        f"| {name} | {split.num_examples:,} |" for name, split in builder.info.splits.items()
    )
    component_rows = "\n".join(f"| {name} | {size} |" for name, size in layout["component_sizes"].items())
    if synthetic:
        source = (
            "**Synthetic.** Poses are rendered by `dataset_builder.synthetic` (seed "
            f"{config.seed}): every clip of the real GSL annotations, with its real gloss sequence and signer, "
            "signed by virtual signers from a procedurally generated lexicon (one motion and hand shape per gloss), "
            "with co-articulation, sensor noise and MediaPipe-like hand dropouts. `gloss_spans` holds the true "
            "[start, end) frame of every gloss. Face points (`full` only) are a rigid ellipsoidal cloud following "
            "the head, not the face mesh. Use it to test pipelines and interpretability methods, not to claim "
            "sign language results."
        )
    else:
        root = config.gsl_root if config.source == "gsl" else config.poses_dir
        source = (
            f"**Real.** MediaPipe Holistic landmarks of the GSL videos ({config.source} source: `{root}`). "
            "`gloss_spans` is empty (GSL has no gloss timing). Clips that were not found are listed in "
            "`missing_clips.txt`; clips where no person was detected are kept (all NaN) and listed in `report.json`. "
            "The poses derive from the GSL videos: follow the GSL dataset's terms of use."
        )
    if config.limit is not None:
        source += f"\n\n**Partial build:** only the first {config.limit} clips of each split (`--limit`)."
    body = f"""
# GSL continuous sign language as pose sequences ({config.name})

Greek Sign Language sentences (GSL continuous corpus: police, health-centre and KEP scenarios, 7 signers) as
MediaPipe Holistic landmark sequences with their gloss sequence and Greek translation. Config `{config.name}`:
{"signer independent, signer3 only in validation / test" if config.name == "si" else "signer dependent, all signers in every split"}.

{source}

## Splits

| split | clips |
|---|---|
{split_rows}

## Features

- `id`: the clip path of the GSL split files, e.g. `police1/police1_signer1_rep1_sentences/sentences0000`
- `scenario`, `signer` (`signer1`..`signer7`), `repetition` (int): parsed from `id`
- `gloss`: space-separated glosses (310-gloss vocabulary); `text`: the Greek translation
- `pose`: `(num_frames, {layout["num_points"]}, 3)` float32, MediaPipe normalized x, y (fractions of the frame) and z;
  **NaN = not detected** (e.g. a hand MediaPipe lost)
- `fps`, `num_frames`; `gloss_spans`: `[start, end)` frame of each gloss (synthetic only, else empty)

## Landmark layout

`pose` holds the Holistic components below, concatenated in this order (`landmark_set: {layout["landmark_set"]}`,
also in `landmarks.json` and this card's YAML `landmarks`), each in MediaPipe's own point order.

| component | points |
|---|---|
{component_rows}

## Usage

```python
from datasets import load_dataset

dataset = load_dataset("path/to/this/folder")  # train / validation / test
clip = dataset["train"].with_format("numpy")[0]
clip["pose"].shape  # (num_frames, {layout["num_points"]}, 3)
```

## Attribution

- GSL annotations (split files, glosses, Greek text): [iliasprc/slrzoo](https://github.com/iliasprc/slrzoo), MIT.
- GSL dataset: Adaloglou et al., "A Comprehensive Study on Deep Learning-based Methods for Sign Language
  Recognition", IEEE Transactions on Multimedia, 2021 (https://vcl.iti.gr/dataset/gsl/).
- Built with the SignAttention package (arXiv:2410.14506).
"""
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.build", description="Build the GSL pose dataset (Parquet + card)."
    )
    parser.add_argument("--config", choices=CONFIGS, default="si", help="split scheme (default: si)")
    parser.add_argument("--source", choices=SOURCES, default="synthetic", help="where poses come from")
    parser.add_argument("--gsl-root", type=Path, help="source gsl: frame folders / videos per clip path")
    parser.add_argument("--poses-dir", type=Path, help="source poses: <clip path>.npy / .pose files")
    parser.add_argument("--pose-cache", type=Path, help="source gsl: where extracted poses are cached")
    parser.add_argument("--landmarks", choices=tuple(LANDMARK_SETS), default="body_hands")
    parser.add_argument("--limit", type=int, help="only the first N clips of each split")
    parser.add_argument("--seed", type=int, default=0, help="synthetic corpus seed")
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: the HF cache)")
    parser.add_argument("--max-shard-size", default="500MB", help="Parquet shard size (default: 500MB)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--output-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        build_dataset(
            args.config,
            args.source,
            args.output_dir,
            gsl_root=args.gsl_root,
            poses_dir=args.poses_dir,
            pose_cache=args.pose_cache,
            landmark_set=args.landmarks,
            limit=args.limit,
            seed=args.seed,
            cache_dir=args.cache_dir,
            max_shard_size=args.max_shard_size,
            overwrite=args.overwrite,
        )
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"error: {error}\n")
    except DatasetGenerationError as error:  # datasets wraps what went wrong while generating a split
        parser.exit(1, f"error: {error.__cause__ or error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
