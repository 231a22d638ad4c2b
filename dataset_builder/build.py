"""Build the GSL pose dataset as a Hub-ready folder: Parquet shards, a dataset card and ``landmarks.json``.

Command line::

    python -m dataset_builder.build --config si --source synthetic --output-dir data/gsl_si
    python -m dataset_builder.build --config sd --source gsl --gsl-root /data/GSL --output-dir data/gsl_sd
    python -m dataset_builder.build --config si --source poses --poses-dir poses/ --landmarks full ...
    python -m dataset_builder.build --config sd --recombine 32000 --isolated-signs 16000 --output-dir data/gsl_sd_recombined
    python -m dataset_builder.build --config si --timing conversational --output-dir data/gsl_si_conversational
    python -m dataset_builder.build --manifest clips.csv --poses-dir poses/ --output-dir data/mine   # your own corpus

(``--manifest`` hands the command line to ``dataset_builder.manifest``: docs/your_own_corpus.md.)

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from datasets.exceptions import DatasetGenerationError
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from dataset_builder.features import landmark_record
from dataset_builder.gsl import CONFIGS, SPLITS
from dataset_builder.gsl_poses import SOURCES, GSLPoses
from dataset_builder.loading import LANDMARKS_FILE
from dataset_builder.synthetic import RECOMBINATION_METHODS, recombination_record
from dataset_builder.timing import DEFAULT_TIMING, TIMINGS, signing_timing
from modeling_signattention.layouts import HOLISTIC, LANDMARK_SETS

REPORT_FILES = ("missing_clips.txt", "report.json")
CARD_TEMPLATE = Path(__file__).with_name("dataset_card.md")  # Jinja, like the model card


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
    recombine: int = 0,
    recombine_method: str = "random",
    isolated_signs: int = 0,
    timing: str = DEFAULT_TIMING,
    cache_dir: str | Path | None = None,
    max_shard_size: str | int = "500MB",
    overwrite: bool = False,
) -> Path:
    """Build config ``config`` (si / sd) from ``source`` into ``output_dir`` and return its path.

    ``cache_dir`` is the datasets cache (default: the HF cache); the ``gsl`` source keeps its extracted poses
    there (``gsl_pose_cache``) unless ``pose_cache`` says otherwise, so rebuilding never re-runs MediaPipe.
    An existing ``output_dir`` is an error unless ``overwrite``; it is only replaced once the new one is done.
    ``recombine`` (synthetic only) adds that many clips of novel sentences to the training split
    (``dataset_builder.synthetic.recombined_clips``), ``isolated_signs`` that many clips of one training gloss each
    (``dataset_builder.synthetic.isolated_sign_clips``). ``timing`` (synthetic only) names the preset of
    ``dataset_builder.timing.TIMINGS`` the clips are signed at; the card records it (``timing``), and
    ``gloss_spans`` are the true spans under it.
    """
    builder = GSLPoses(
        config_name=config,
        source=source,
        gsl_root=None if gsl_root is None else str(gsl_root),
        poses_dir=None if poses_dir is None else str(poses_dir),
        pose_cache=None if pose_cache is None else str(pose_cache),
        landmark_set=landmark_set,
        limit=limit,
        seed=seed,
        recombine=recombine,
        recombine_method=recombine_method,
        isolated_signs=isolated_signs,
        timing=timing,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )

    return publish_dataset(
        builder,
        output_dir,
        landmark_record(HOLISTIC.name, landmark_set),
        card=lambda layout, folder: _dataset_card(builder, layout, read_report(folder)),
        keep_files=REPORT_FILES,
        max_shard_size=max_shard_size,
        overwrite=overwrite,
        description=f"GSL {config} from {source} ({landmark_set}"
        + (f", {timing} timing)" if source == "synthetic" else ")"),
    )


def publish_dataset(
    builder: Any,
    output_dir: str | Path,
    landmarks: dict,
    *,
    card: Callable[[dict, Path], DatasetCard],
    report: Callable[[Path], dict] | None = None,
    keep_files: Sequence[str] = (),
    num_proc: int | None = None,
    max_shard_size: str | int = "500MB",
    overwrite: bool = False,
    description: str = "",
) -> Path:
    """Prepare ``builder`` as Parquet shards and publish the folder (module docstring) at ``output_dir``.

    Everything is written into a hidden staging sibling first and renamed at the end, so a failed or interrupted
    build leaves no folder that looks complete; a split with no clip publishes nothing. ``keep_files`` are files
    the builder wrote next to its prepared data (its reports), moved into the folder; ``report(prepared)``, when
    given, returns ``report.json``'s content, or raises to refuse the prepared data; ``card(landmarks, folder)``
    makes README.md once the folder holds everything else. An existing ``output_dir`` is an error unless
    ``overwrite``; it is only replaced once the new one is done.
    """
    output_dir = Path(output_dir).absolute()
    if output_dir.exists() and not output_dir.is_dir():
        raise FileExistsError(
            f"{output_dir} is a file, not a dataset folder: --overwrite replaces a folder only; pick another "
            "--output-dir"
        )
    if output_dir.exists() and not overwrite:
        raise FileExistsError(f"{output_dir} already exists; pass overwrite=True (--overwrite) to replace it")
    started = time.time()
    staging = output_dir.with_name(f".{output_dir.name}.incomplete-{uuid.uuid4().hex[:8]}")
    try:
        staging.mkdir(parents=True)
    except OSError as error:  # a read-only folder, a file where a folder should be, ...
        raise ValueError(
            f"cannot write the dataset to {output_dir}: {error.strerror or error} (the build writes a hidden "
            f"{staging.name} next to it first, then renames it)"
        ) from error
    try:
        _stage(f"1/3 generating {description} into {staging}")
        prepared = staging / "work" / "prepared"  # datasets leaves lock files next to it: all go with work/
        builder.download_and_prepare(
            output_dir=str(prepared), file_format="parquet", max_shard_size=max_shard_size, num_proc=num_proc
        )

        content = None if report is None else report(prepared)  # may refuse what was prepared
        empty = [name for name, info in builder.info.splits.items() if info.num_examples == 0]
        if empty:
            raise ValueError(
                f"split {', '.join(empty)} has 0 clips: a dataset with an empty split cannot be loaded, so nothing "
                "is published (see the log above for what each clip lacked)"
            )
        _stage("2/3 arranging Parquet shards, landmarks.json and the dataset card")
        _move_shards(prepared, staging / "data", builder.dataset_name, list(builder.info.splits))
        for name in keep_files:
            if (prepared / name).exists():
                shutil.move(prepared / name, staging / name)
        if content is not None:
            (staging / "report.json").write_text(
                json.dumps(content, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        shutil.rmtree(staging / "work")
        (staging / LANDMARKS_FILE).write_text(json.dumps(landmarks, indent=2) + "\n", encoding="utf-8")
        card(landmarks, staging).save(staging / "README.md")

        _stage(f"3/3 publishing {output_dir}")
        _replace_folder(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    splits = ", ".join(f"{name} {info.num_examples}" for name, info in builder.info.splits.items())
    _stage(f"done in {time.time() - started:.1f}s: {splits} clips")
    return output_dir


def _move_shards(prepared: Path, data_dir: Path, dataset_name: str, splits: Sequence[str]) -> None:
    """datasets names shards ``<name>-<split>[-SSSSS-of-NNNNN].parquet``; the Hub convention (and our card's
    ``data_files``) is ``data/<split>-SSSSS-of-NNNNN.parquet``. ``splits``: those the builder generated."""
    data_dir.mkdir(parents=True)
    for split in splits:
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


def read_report(folder: Path) -> dict:
    """``report.json`` of a build from real poses (``GSLPoses._write_report``); empty for synthetic data."""
    path = folder / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _dataset_card(builder: GSLPoses, layout: dict, report: dict) -> DatasetCard:
    """README.md: YAML (configs -> data files, features, landmark layout) and the description of
    ``dataset_card.md``."""
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
    if config.recombine or config.isolated_signs:
        card_data["recombination"] = recombination_record(
            config.recombine, config.recombine_method, config.isolated_signs
        )
    timing = signing_timing(config.timing)
    if synthetic:
        card_data["timing"] = timing.record()
    root = config.gsl_root if config.source == "gsl" else config.poses_dir
    return DatasetCard.from_template(
        card_data,
        template_path=str(CARD_TEMPLATE),
        config_name=config.name,
        synthetic=synthetic,
        seed=config.seed,
        source=config.source,
        source_folder=root,
        limit=config.limit,
        recombine=config.recombine,
        recombine_method=config.recombine_method,
        isolated_signs=config.isolated_signs,
        timing=timing,
        split_sizes=[(name, split.num_examples) for name, split in builder.info.splits.items()],
        same_poses=[
            (split, same["id"], same["same_as"])
            for split, entry in report.get("splits", {}).items()
            for same in entry.get("same_poses", [])
        ],
        several_files=report.get("several_files", {}),
    )


def run_build(parser: argparse.ArgumentParser, build: Callable[[], Path]) -> int:
    """Run a command line's ``build``: a bad option or input exits 2, a failure while generating a split exits 1,
    each with the error alone (datasets wraps what went wrong while generating in DatasetGenerationError)."""
    try:
        build()
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        parser.exit(2, f"error: {error}\n")
    except DatasetGenerationError as error:
        parser.exit(1, f"error: {error.__cause__ or error}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if any(arg == "--manifest" or arg.startswith("--manifest=") for arg in argv):  # your own corpus
        from dataset_builder.manifest import main as build_manifest

        return build_manifest(argv, prog="python -m dataset_builder.build")
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.build", description="Build the GSL pose dataset (Parquet + card)."
    )
    parser.add_argument("--config", choices=CONFIGS, default="si", help="split scheme (default: si)")
    parser.add_argument("--source", choices=SOURCES, default="synthetic", help="where poses come from")
    parser.add_argument("--gsl-root", type=Path, help="source gsl: frame folders / videos per clip path")
    parser.add_argument("--poses-dir", type=Path, help="source poses: <clip path>.npy / .pose files")
    parser.add_argument("--pose-cache", type=Path, help="source gsl: where extracted poses are cached")
    parser.add_argument("--landmarks", choices=LANDMARK_SETS, default="body_hands")
    parser.add_argument("--limit", type=int, help="only the first N clips of each split")
    parser.add_argument("--seed", type=int, default=0, help="synthetic corpus seed")
    parser.add_argument(
        "--recombine",
        type=int,
        default=0,
        metavar="N",
        help="synthetic: add N clips of novel sentences made of training glosses to the train split",
    )
    parser.add_argument(
        "--recombine-method",
        choices=RECOMBINATION_METHODS,
        default="random",
        help="random: uniform glosses, corpus lengths; bigram: walks of the training bigram model",
    )
    parser.add_argument(
        "--isolated-signs",
        type=int,
        default=0,
        metavar="N",
        help="synthetic: add N clips of one training gloss each (every gloss in turn) to the train split",
    )
    parser.add_argument(
        "--timing",
        choices=TIMINGS,
        default=DEFAULT_TIMING,
        help="synthetic: how long signs and the gaps between them last (docs/timing.md; default: %(default)s)",
    )
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: the HF cache)")
    parser.add_argument("--max-shard-size", default="500MB", help="Parquet shard size (default: 500MB)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(  # handled above; listed for --help
        "--manifest", nargs="+", help="your own corpus: see python -m dataset_builder.manifest --help"
    )
    args = parser.parse_args(argv)
    return run_build(
        parser,
        lambda: build_dataset(
            args.config,
            args.source,
            args.output_dir,
            gsl_root=args.gsl_root,
            poses_dir=args.poses_dir,
            pose_cache=args.pose_cache,
            landmark_set=args.landmarks,
            limit=args.limit,
            seed=args.seed,
            recombine=args.recombine,
            recombine_method=args.recombine_method,
            isolated_signs=args.isolated_signs,
            timing=args.timing,
            cache_dir=args.cache_dir,
            max_shard_size=args.max_shard_size,
            overwrite=args.overwrite,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
