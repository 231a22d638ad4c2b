"""Your own corpus as a pose dataset: a manifest (CSV/TSV, one row per clip) + pose files -> Parquet shards.

A manifest row names a pose file, its split and its target; optionally the signer, the clip's id and a time span
inside the file (so one long recording can hold many clips)::

    id,path,split,gloss,text,signer,start,end
    s001,rec/session1.pose,train,HELLO WORLD,hello world,anna,0.0,2.4
    s002,rec/session1.pose,train,THANK-YOU,thank you,anna,2.4,3.9

Column names, the delimiter, the unit of start/end (seconds, milliseconds, frames) and the split names are options
(``ManifestOptions``); only ``path``, ``split`` and one of ``gloss`` / ``text`` are required. Pose files are read
through pose-format whatever produced them, and must be in the layout the dataset declares (``--layout``,
``modeling_signattention.layouts``):

* ``.pose`` files: MediaPipe Holistic (full or ``reduce_holistic``-reduced) or OpenPose as pose-format writes them;
* a folder of OpenPose ``*_keypoints.json`` frames (``pose_format.utils.openpose``; fps, width and height are
  options, since OpenPose's JSON has none of them);
* ``.npy`` files of ``python -m dataset_builder.extract`` (Holistic).

The body and both hands (or every component, ``--landmarks full``) are picked by name and stored as image
fractions with NaN where a point was not detected, so the feature extractor reads every layout the same way.

Bad rows (a missing or unreadable file, a file in another layout, a span outside the file, no person in the clip,
an empty target, an unknown split, a repeated id, a row with too many or too few cells) stop the build with an
error naming the manifest line (``on_bad_row="error"``, the default), or are skipped and listed with their reason
in ``report.json`` (``on_bad_row="skip"``): no row is dropped in silence.

Rows stream through a ``datasets.GeneratorBasedBuilder`` into Parquet shards of ``max_shard_size``, so a corpus
larger than memory builds; ``num_proc`` splits each split's rows over processes. ``build_manifest_dataset``
publishes the folder the way ``dataset_builder.build`` does (staged, then renamed).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from dataset_builder.build import publish_dataset, run_build
from dataset_builder.features import landmark_record, pose_features
from dataset_builder.gsl import SPLITS
from modeling_signattention.layouts import (
    DEFAULT_LAYOUT,
    HOLISTIC,
    LANDMARK_SETS,
    LAYOUTS,
    get_layout,
    point_indices,
    select_from_pose,
)

logger = logging.getLogger(__name__)

FIELDS = ("id", "path", "split", "gloss", "text", "signer", "start", "end")
TIME_UNITS = ("s", "ms", "frames")
BAD_ROW_POLICIES = ("error", "skip")
BAD_ROWS_DIR = ".bad_rows"  # per-job lists of skipped rows, merged into report.json by the build
REPORT_FILE = "report.json"
_DELIMITERS = {"comma": ",", "tab": "\t", "pipe": "|", "semicolon": ";"}


@dataclass
class ManifestOptions:
    """How to read a manifest and its pose files (every option of ``python -m dataset_builder.manifest``)."""

    manifest: str
    # Folder that relative pose paths start from (default: the manifest's folder).
    poses_dir: str | None = None
    layout: str = DEFAULT_LAYOUT
    landmark_set: str = "body_hands"
    # A character, or one of comma / tab / pipe / semicolon; default: from the suffix (.tsv tab, else comma).
    delimiter: str | None = None
    # Our field -> the manifest's column header, for the fields whose header differs from the field's name.
    columns: dict[str, str] = field(default_factory=dict)
    time_unit: str = "s"
    # The manifest's split value -> train / validation / test, for values other than those three (e.g. dev).
    split_names: dict[str, str] = field(default_factory=dict)
    on_bad_row: str = "error"
    # OpenPose JSON folders carry no frame rate or frame size.
    fps: float | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        get_layout(self.layout)
        get_layout(self.layout).landmark_set(self.landmark_set)
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown manifest fields {unknown} in columns; fields: {', '.join(FIELDS)}")
        if self.time_unit not in TIME_UNITS:
            raise ValueError(f"time_unit must be one of {', '.join(TIME_UNITS)}, got {self.time_unit!r}")
        if self.on_bad_row not in BAD_ROW_POLICIES:
            raise ValueError(
                f"on_bad_row must be one of {', '.join(BAD_ROW_POLICIES)}, got {self.on_bad_row!r}"
            )
        bad = {value: split for value, split in self.split_names.items() if split not in SPLITS}
        if bad:
            raise ValueError(f"split_names must map to {', '.join(SPLITS)}; got {bad}")
        if not Path(self.manifest).is_file():
            raise FileNotFoundError(f"no manifest file {self.manifest}")

    @property
    def separator(self) -> str:
        if self.delimiter is None:
            return "\t" if Path(self.manifest).suffix.lower() in (".tsv", ".tab") else ","
        return _DELIMITERS.get(self.delimiter, self.delimiter)

    @property
    def root(self) -> Path:
        return Path(self.poses_dir) if self.poses_dir is not None else Path(self.manifest).parent


@dataclass(frozen=True)
class ManifestRow:
    """One clip of the manifest, checked for everything that needs no pose file."""

    line: int  # the manifest line (header = 1): how errors name a row
    id: str
    path: str
    split: str  # train / validation / test
    gloss: str
    text: str
    signer: str
    start: float | None
    end: float | None


class BadRow(ValueError):
    """A manifest row that cannot become a clip; ``str()`` says why."""


def read_manifest(options: ManifestOptions) -> tuple[list[ManifestRow], list[dict[str, Any]]]:
    """The manifest's good rows and its bad ones (``{"line", "id", "path", "reason"}``), in file order.

    Missing required columns raise at once (listing the columns found); a bad row raises too when
    ``on_bad_row == "error"``.
    """
    header_of = {name: options.columns.get(name, name) for name in FIELDS}
    with open(options.manifest, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=options.separator)
        found = reader.fieldnames or []
        missing = [header_of[name] for name in ("path", "split") if header_of[name] not in found]
        if header_of["gloss"] not in found and header_of["text"] not in found:
            missing.append(f"{header_of['gloss']} or {header_of['text']}")
        if missing:
            raise ValueError(
                f"{options.manifest}: no column {', '.join(map(repr, missing))} (delimiter {options.separator!r}; "
                f"columns found: {found}); name other headers with --column FIELD=HEADER"
            )
        rows, bad, seen = [], [], {}
        for record in reader:
            line = reader.line_num
            try:
                row = _parse_row(record, line, header_of, options)
                if row.id in seen:
                    raise BadRow(f"id {row.id!r} repeats line {seen[row.id]}")
                seen[row.id] = line
                rows.append(row)
            except BadRow as error:
                bad.append(
                    _bad_row(options, line, record.get(header_of["id"]), record.get(header_of["path"]), error)
                )
    return rows, bad


def _parse_row(record: dict, line: int, header_of: dict[str, str], options: ManifestOptions) -> ManifestRow:
    extra = record.pop(None, [])  # csv.DictReader: cells beyond the header under None, missing cells as None
    if extra or None in record.values():
        cells = len(record) + len(extra) - sum(value is None for value in record.values())
        raise BadRow(f"{cells} cells, the header has {len(record)}")
    value = {name: (record.get(header) or "").strip() for name, header in header_of.items()}
    if not value["path"]:
        raise BadRow("no pose file (empty path)")
    split = options.split_names.get(value["split"], value["split"])
    if split not in SPLITS:
        raise BadRow(
            f"split {value['split']!r} is none of {', '.join(SPLITS)} (map it with --split-name {value['split']}=...)"
        )
    if not value["gloss"] and not value["text"]:
        raise BadRow("no target: gloss and text are both empty")
    start, end = (_time(value[name], name) for name in ("start", "end"))
    if start is not None and end is not None and not end > start:
        raise BadRow(f"end {end} is not after start {start}")
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise BadRow(f"negative time span [{start}, {end})")
    clip_id = value["id"] or _default_id(value["path"], start, end)
    return ManifestRow(
        line, clip_id, value["path"], split, value["gloss"], value["text"], value["signer"], start, end
    )


def _time(text: str, name: str) -> float | None:
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise BadRow(f"{name} {text!r} is not a number") from None
    if not np.isfinite(number):
        raise BadRow(f"{name} {text!r} is not a finite number")
    return number


def _default_id(path: str, start: float | None, end: float | None) -> str:
    """The pose path without its suffix, with the span when there is one."""
    stem = path.removesuffix(Path(path).suffix) if Path(path).suffix in (".pose", ".npy") else path
    return (
        stem
        if start is None and end is None
        else f"{stem}@{start if start is not None else ''}-{end if end is not None else ''}"
    )


def _bad_row(
    options: ManifestOptions, line: int, clip_id: Any, path: Any, error: Exception
) -> dict[str, Any]:
    """Record a bad row, or raise it naming the manifest line when bad rows are errors."""
    if options.on_bad_row == "error":
        raise ValueError(f"{options.manifest}, line {line}: {error}") from error
    return {"line": line, "id": clip_id, "path": path, "reason": str(error)}


@dataclass
class ManifestPosesConfig(datasets.BuilderConfig):
    """A ``ManifestOptions`` as the builder's config (datasets keys its cache on these fields)."""

    options: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_options(self) -> ManifestOptions:
        return ManifestOptions(**self.options)


class ManifestPoses(datasets.GeneratorBasedBuilder):
    """The clips of a manifest as pose sequences with their targets (module docstring)."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = ManifestPosesConfig
    DEFAULT_WRITER_BATCH_SIZE = 256
    config: ManifestPosesConfig

    def __init__(self, *args, dataset_name: str = "manifest_poses", **kwargs):
        super().__init__(*args, dataset_name=dataset_name, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        options = self.config.manifest_options
        return datasets.DatasetInfo(
            description=f"Pose sequences of the clips of {options.manifest}",
            features=pose_features(
                options.layout,
                options.landmark_set,
                {
                    "signer": datasets.Value("string"),
                    "source": datasets.Value("string"),
                    "start_frame": datasets.Value("int32"),
                },
            ),
        )

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        options = self.config.manifest_options
        rows, bad = read_manifest(options)
        self._write_bad_rows("manifest", bad)
        by_split = {split: [row for row in rows if row.split == split] for split in SPLITS}
        empty = [split for split, split_rows in by_split.items() if not split_rows]
        if empty:
            values = sorted({row.split for row in rows})
            raise ValueError(
                f"{options.manifest}: no usable row for split {', '.join(empty)} (splits with rows: {values}); "
                "training needs train, validation and test (map other names with --split-name NAME=SPLIT)"
            )
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"split": split, "rows": by_split[split]})
            for split in SPLITS
        ]

    def _generate_examples(self, split: str, rows: list[ManifestRow]) -> Iterator[tuple[str, dict]]:
        options = self.config.manifest_options
        reader = ClipReader(options)
        bad = []
        try:
            for row in rows:
                try:
                    pose, fps, start = reader.clip(row)
                except BadRow as error:
                    bad.append(_bad_row(options, row.line, row.id, row.path, error))
                    continue
                yield (
                    row.id,
                    {
                        "id": row.id,
                        "signer": row.signer,
                        "source": row.path,
                        "start_frame": start,
                        "gloss": row.gloss,
                        "text": row.text,
                        "pose": pose,
                        "fps": fps,
                        "num_frames": len(pose),
                        "gloss_spans": np.zeros((0, 2), dtype=np.int32),
                    },
                )
        finally:
            if rows:
                self._write_bad_rows(f"{split}-{rows[0].line}", bad)

    def _write_bad_rows(self, name: str, bad: list[dict[str, Any]]) -> None:
        """Each job lists its skipped rows in its own file (jobs may run in parallel processes)."""
        folder = Path(self._output_dir) / BAD_ROWS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
        if bad:
            logger.warning(
                "%s: %d bad rows skipped (e.g. line %d: %s)", name, len(bad), bad[0]["line"], bad[0]["reason"]
            )


class ClipReader:
    """Reads the pose of a manifest row: its file through pose-format, its layout checked, its span cut."""

    def __init__(self, options: ManifestOptions):
        self.options = options
        self.root = options.root
        self.layout = get_layout(options.layout)
        self.components = self.layout.landmark_set(options.landmark_set)
        # Consecutive rows often cut one long recording: keep its last few files read.
        self._read = lru_cache(maxsize=4)(self._read_file)

    def clip(self, row: ManifestRow) -> tuple[np.ndarray, float, int]:
        """``(frames, points, coords)`` float32 image fractions (NaN = not detected), fps, first frame."""
        path = self.root / row.path
        landmarks, fps = self._read(path)
        start = 0 if row.start is None else self._frame(row.start, fps)
        end = len(landmarks) if row.end is None else self._frame(row.end, fps)
        if start >= end:
            raise BadRow(f"span [{row.start}, {row.end}) {self.options.time_unit} is no frame at {fps:g} fps")
        if end > len(landmarks):
            raise BadRow(
                f"span [{row.start}, {row.end}) {self.options.time_unit} = frames [{start}, {end}) is outside {path} "
                f"({len(landmarks)} frames at {fps:g} fps)"
            )
        clip = landmarks[start:end]
        body = clip[:, self.layout.component_slices(self.components)[self.layout.body]]
        if np.isnan(body).all():
            raise BadRow(
                f"no person: no {self.layout.body} point detected in frames [{start}, {end}) of {path}"
            )
        return np.ascontiguousarray(clip, dtype=np.float32), fps, start

    def _frame(self, time: float, fps: float) -> int:
        unit = self.options.time_unit
        return int(round(time if unit == "frames" else time * fps / (1000 if unit == "ms" else 1)))

    def _read_file(self, path: Path) -> tuple[np.ndarray, float]:
        what = str(path)
        try:
            if path.is_dir():
                pose = self._openpose_folder(path)
            elif path.suffix.lower() == ".npy":
                return self._extracted(path)
            elif path.is_file():
                from pose_format import Pose

                pose = Pose.read(path.read_bytes())
            else:
                raise BadRow(f"no pose file {path}")
            landmarks = select_from_pose(pose, self.layout, self.components, what)
        except BadRow:
            raise
        except Exception as error:  # pose-format raises struct / Unicode / Index errors on a malformed file
            if isinstance(error, ValueError) and what in str(error):  # already names the file
                raise BadRow(str(error)) from error
            raise BadRow(f"{what}: unreadable ({type(error).__name__}: {error})") from error
        return landmarks, float(pose.body.fps)

    def _openpose_folder(self, path: Path):
        from pose_format.utils.openpose import load_openpose_directory

        options = self.options
        if None in (options.fps, options.width, options.height):
            raise BadRow(
                f"{path} is an OpenPose JSON folder: give fps, width and height (--fps --width --height)"
            )
        return load_openpose_directory(str(path), fps=options.fps, width=options.width, height=options.height)

    def _extracted(self, path: Path) -> tuple[np.ndarray, float]:
        """A ``dataset_builder.extract`` record: Holistic image fractions already."""
        from dataset_builder.extract import load_pose_file

        extracted = load_pose_file(path)
        indices = point_indices(HOLISTIC, list(HOLISTIC.components), self.layout, self.components, str(path))
        return extracted.landmarks[:, indices], float(extracted.fps)


def merge_bad_rows(prepared: Path) -> list[dict[str, Any]]:
    """Every job's skipped rows, in manifest order; removes the per-job files."""
    folder = prepared / BAD_ROWS_DIR
    bad = [
        row for path in sorted(folder.glob("*.json")) for row in json.loads(path.read_text(encoding="utf-8"))
    ]
    for path in folder.glob("*.json"):
        path.unlink()
    folder.rmdir()
    return sorted(bad, key=lambda row: row["line"])


def build_manifest_dataset(
    options: ManifestOptions,
    output_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
    max_shard_size: str | int = "500MB",
    overwrite: bool = False,
) -> Path:
    """Build the dataset of ``options`` into ``output_dir`` (Parquet shards, ``landmarks.json``, card and
    ``report.json`` with the skipped rows) and return its path."""

    builder = ManifestPoses(
        config_name=f"manifest-{options.layout}-{options.landmark_set}",
        options=asdict(options),
        cache_dir=None if cache_dir is None else str(cache_dir),
    )

    def report(prepared: Path) -> dict[str, Any]:
        bad = merge_bad_rows(prepared)
        empty = [name for name, info in builder.info.splits.items() if not info.num_examples]
        if empty:  # every row of the split was bad (checked here: a job of num_proc sees only its share)
            reasons = "; ".join(f"line {row['line']}: {row['reason']}" for row in bad[:3])
            raise ValueError(
                f"{options.manifest}: no clip left in split {', '.join(empty)}, all its rows are bad ({reasons})"
            )
        return {
            "source": "manifest",
            "manifest": str(options.manifest),
            "splits": {name: info.num_examples for name, info in builder.info.splits.items()},
            "bad_rows": bad,
        }

    return publish_dataset(
        builder,
        output_dir,
        landmark_record(options.layout, options.landmark_set),
        card=lambda layout, folder: _card(builder, options, layout),
        report=report,
        num_proc=num_proc,
        max_shard_size=max_shard_size,
        overwrite=overwrite,
        description=f"{options.manifest} ({options.layout}, {options.landmark_set})",
    )


def _card(builder: ManifestPoses, options: ManifestOptions, layout: dict):
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    card_data = DatasetCardData(tags=["sign-language", "pose-estimation"], task_categories=["translation"])
    data_files = [{"split": split, "path": f"data/{split}-*"} for split in SPLITS]
    MetadataConfigs({builder.config.name: {"data_files": data_files, "default": True}}).to_dataset_card_data(
        card_data
    )
    card_data["landmarks"] = layout
    sizes = "\n".join(f"| {name} | {info.num_examples:,} |" for name, info in builder.info.splits.items())
    content = (
        f"---\n{card_data.to_yaml()}\n---\n\n# Pose sequences of {Path(options.manifest).name}\n\n"
        f"Built by `python -m dataset_builder.manifest` from the manifest `{options.manifest}` "
        f"(layout `{layout['layout']}`, landmark set `{layout['landmark_set']}`: {', '.join(layout['components'])}, "
        f"{layout['num_points']} points, coordinates {', '.join(layout['coordinates'])} as fractions of the frame; "
        "NaN = not detected). Rows skipped as bad are listed in `report.json`.\n\n"
        f"| split | clips |\n|---|---|\n{sizes}\n"
    )
    return DatasetCard(content)


def add_manifest_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``ManifestOptions`` but the manifest and its poses folder (``python -m
    dataset_builder.manifest`` and ``python -m hub_scripts.reproduce --manifest`` share them)."""
    group = parser.add_argument_group("manifest options")
    group.add_argument(
        "--layout", choices=tuple(LAYOUTS), default=DEFAULT_LAYOUT, help="pose layout of the files"
    )
    group.add_argument("--landmarks", dest="landmark_set", choices=LANDMARK_SETS, default="body_hands")
    group.add_argument(
        "--delimiter", help=f"a character or {' / '.join(_DELIMITERS)} (default: .tsv tab, else comma)"
    )
    group.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help=f"the manifest's header for a field ({', '.join(FIELDS)}); repeatable",
    )
    group.add_argument(
        "--time-unit", choices=TIME_UNITS, default="s", help="unit of start / end (default: s)"
    )
    group.add_argument(
        "--split-name",
        action="append",
        default=[],
        metavar="VALUE=SPLIT",
        help="a split value of the manifest -> train / validation / test, e.g. dev=validation; repeatable",
    )
    group.add_argument(
        "--on-bad-row", choices=BAD_ROW_POLICIES, default="error", help="stop (default) or skip and report"
    )
    group.add_argument("--fps", type=float, help="OpenPose JSON folders: frame rate")
    group.add_argument("--width", type=int, help="OpenPose JSON folders: frame width in pixels")
    group.add_argument("--height", type=int, help="OpenPose JSON folders: frame height in pixels")


def manifest_options(args: argparse.Namespace, manifest: Path, poses_dir: Path | None) -> ManifestOptions:
    """``ManifestOptions`` from the arguments of ``add_manifest_arguments``."""
    return ManifestOptions(
        manifest=str(manifest),
        poses_dir=None if poses_dir is None else str(poses_dir),
        layout=args.layout,
        landmark_set=args.landmark_set,
        delimiter=args.delimiter,
        columns=_pairs(args.column, "--column"),
        time_unit=args.time_unit,
        split_names=_pairs(args.split_name, "--split-name"),
        on_bad_row=args.on_bad_row,
        fps=args.fps,
        width=args.width,
        height=args.height,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.manifest",
        description="Build a pose dataset (Parquet + card) from a manifest of your own pose files.",
    )
    parser.add_argument("manifest", type=Path, help="CSV / TSV, one row per clip")
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--poses-dir", type=Path, help="where relative pose paths start (default: the manifest's folder)"
    )
    add_manifest_arguments(parser)
    parser.add_argument("--num-proc", type=int, help="processes per split (default: 1)")
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: the HF cache)")
    parser.add_argument("--max-shard-size", default="500MB", help="Parquet shard size (default: 500MB)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    args = parser.parse_args(argv)
    return run_build(
        parser,
        lambda: build_manifest_dataset(
            manifest_options(args, args.manifest, args.poses_dir),
            args.output_dir,
            cache_dir=args.cache_dir,
            num_proc=args.num_proc,
            max_shard_size=args.max_shard_size,
            overwrite=args.overwrite,
        ),
    )


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{option} takes KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


if __name__ == "__main__":
    sys.exit(main())
