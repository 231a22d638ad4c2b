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
a folder that looks complete. Python callers (training, reproduction scripts) use ``build_dataset``, with the
dataset described by one ``GSLPosesConfig`` (the command line's options; each default written there once)::

    from dataset_builder.build import build_dataset
    from dataset_builder.gsl_poses import GSLPosesConfig

    build_dataset(GSLPosesConfig(name="sd", recombine=32000, isolated_signs=16000), "data/gsl_sd_recombined")
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
from dataset_builder.gsl_poses import SOURCES, GSLPoses, GSLPosesConfig
from dataset_builder.loading import LANDMARKS_FILE
from dataset_builder.synthetic import RECOMBINATION_METHODS, recombination_record
from dataset_builder.timing import TIMINGS, signing_timing
from modeling_signattention.layouts import HOLISTIC, LANDMARK_SETS

REPORT_FILES = ("missing_clips.txt", "report.json")
CARD_TEMPLATE = Path(__file__).with_name("dataset_card.md")  # Jinja, like the model card
MAX_SHARD_SIZE = "500MB"  # Parquet shard size of every build (--max-shard-size)


def _stage(message: str) -> None:
    print(f"[build] {message}", file=sys.stderr, flush=True)


def build_dataset(
    options: GSLPosesConfig,
    output_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    max_shard_size: str | int = MAX_SHARD_SIZE,
    overwrite: bool = False,
    num_proc: int | None = None,
) -> Path:
    """Build the dataset ``options`` describes (its config ``options.name``, si / sd, from ``options.source``) into
    ``output_dir`` and return its path. Bad options are errors before any work starts
    (``GSLPosesConfig.validate``).

    ``cache_dir`` is the datasets cache (default: the HF cache); the ``gsl`` source keeps its extracted poses
    there (``gsl_pose_cache``) unless ``options.pose_cache`` says otherwise, so rebuilding never re-runs MediaPipe.
    An existing ``output_dir`` is an error unless ``overwrite``; it is only replaced once the new one is done.
    ``options.recombine`` (synthetic only) adds that many clips of novel sentences to the training split
    (``dataset_builder.synthetic.recombined_clips``), ``options.isolated_signs`` that many clips of one training
    gloss each (``dataset_builder.synthetic.isolated_sign_clips``). ``options.timing`` (synthetic only) names the
    preset of ``dataset_builder.timing.TIMINGS`` the clips are signed at; the card records it (``timing``), and
    ``gloss_spans`` are the true spans under it. ``num_proc`` (synthetic only) renders each split in that many
    processes, the same clips in the same order: real poses keep one report per split, which one process writes.
    """
    options.validate()  # before datasets looks the config name up: an unknown one gets the valid names
    if (num_proc or 1) > 1 and options.source != "synthetic":
        raise ValueError(f"num_proc={num_proc}: only synthetic poses are built in several processes")
    builder = GSLPoses.from_config(options, cache_dir=None if cache_dir is None else str(cache_dir))
    timing = f", {options.timing} timing" if options.source == "synthetic" else ""
    return publish_dataset(
        builder,
        output_dir,
        landmark_record(HOLISTIC.name, options.landmark_set),
        card=lambda layout, folder: _dataset_card(builder, layout, read_report(folder)),
        keep_files=REPORT_FILES,
        max_shard_size=max_shard_size,
        num_proc=num_proc,
        overwrite=overwrite,
        description=f"GSL {options.name} from {options.source} ({options.landmark_set}{timing})",
    )


def dataset_provenance(options: GSLPosesConfig) -> dict[str, Any]:
    """What the folder ``build_dataset(options, ...)`` makes says of itself, as ``loading.dataset_metadata`` reads
    it back: ``config``, ``data_source``, ``recombination`` (``recombination_record``; None for no extra clips) and
    ``timing`` (``SigningTiming.record``; None for real poses). The card records the last two from here; a check
    that reuses a built folder (``hub_scripts.reproduce.prepare_dataset``) compares all four."""
    return {
        "config": options.name,
        "data_source": options.source,
        "recombination": recombination_record(
            options.recombine, options.recombine_method, options.isolated_signs
        ),
        "timing": signing_timing(options.timing).record() if options.source == "synthetic" else None,
    }


def publish_dataset(
    builder: Any,
    output_dir: str | Path,
    landmarks: dict,
    *,
    card: Callable[[dict, Path], DatasetCard],
    report: Callable[[Path], dict] | None = None,
    keep_files: Sequence[str] = (),
    num_proc: int | None = None,
    max_shard_size: str | int = MAX_SHARD_SIZE,
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
    provenance = dataset_provenance(config)
    for key in ("recombination", "timing"):  # recorded when there is something to say
        if provenance[key] is not None:
            card_data[key] = provenance[key]
    timing = signing_timing(config.timing)
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
    defaults = GSLPosesConfig()
    parser.add_argument(
        "--config", choices=CONFIGS, default=defaults.name, help="split scheme (default: %(default)s)"
    )
    parser.add_argument("--source", choices=SOURCES, default=defaults.source, help="where poses come from")
    parser.add_argument("--gsl-root", type=Path, help="source gsl: frame folders / videos per clip path")
    parser.add_argument("--poses-dir", type=Path, help="source poses: <clip path>.npy / .pose files")
    parser.add_argument("--pose-cache", type=Path, help="source gsl: where extracted poses are cached")
    parser.add_argument("--landmarks", choices=LANDMARK_SETS, default=defaults.landmark_set)
    parser.add_argument("--limit", type=int, help="only the first N clips of each split")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="synthetic corpus seed")
    parser.add_argument(
        "--recombine",
        type=int,
        default=defaults.recombine,
        metavar="N",
        help="synthetic: add N clips of novel sentences made of training glosses to the train split",
    )
    parser.add_argument(
        "--recombine-method",
        choices=RECOMBINATION_METHODS,
        default=defaults.recombine_method,
        help="random: uniform glosses, corpus lengths; bigram: walks of the training bigram model",
    )
    parser.add_argument(
        "--isolated-signs",
        type=int,
        default=defaults.isolated_signs,
        metavar="N",
        help="synthetic: add N clips of one training gloss each (every gloss in turn) to the train split",
    )
    parser.add_argument(
        "--timing",
        choices=TIMINGS,
        default=defaults.timing,
        help="synthetic: how long signs and the gaps between them last (docs/timing.md; default: %(default)s)",
    )
    parser.add_argument(
        "--num-proc", type=int, help="synthetic: processes per split, e.g. one per core (default: 1)"
    )
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: the HF cache)")
    parser.add_argument(
        "--max-shard-size", default=MAX_SHARD_SIZE, help="Parquet shard size (default: %(default)s)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(  # handled above; listed for --help
        "--manifest", nargs="+", help="your own corpus: see python -m dataset_builder.manifest --help"
    )
    args = parser.parse_args(argv)
    return run_build(
        parser,
        lambda: build_dataset(
            GSLPosesConfig(
                name=args.config,
                source=args.source,
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
            ),
            args.output_dir,
            cache_dir=args.cache_dir,
            max_shard_size=args.max_shard_size,
            overwrite=args.overwrite,
            num_proc=args.num_proc,
        ),
    )


if __name__ == "__main__":
    sys.exit(main())
