"""Your own corpus as a pose dataset: a manifest (CSV / TSV / JSON Lines, one row per clip) + pose files -> Parquet.

A manifest row names the clip, its split, its pose file and its target; optionally the signer, the frame rate, the
time of each gloss (gold spans for the attribution scores) and a time span inside the pose file (so one long
recording can hold many clips)::

    id,split,pose,gloss,text,signer,fps,gloss_start,gloss_end
    s001,train,rec/s001.pose,HELLO WORLD,hello world,anna,25,0 480,480 1120
    s002,dev,rec/s002.pose,THANK-YOU,thank you,anna,25,40,900

``gloss_start`` / ``gloss_end`` hold one time per gloss (space-separated, from the clip's first frame), like the
clip's ``clip_start`` / ``clip_end`` in ``time_unit`` (milliseconds, frames or seconds); times need an fps, the
``fps`` column's or the pose file's own. Column names, the delimiter and the split names are options
(``ManifestOptions``), so an annotation file works as it is; ``id`` or ``pose`` (a missing ``pose`` column means
``<id>.pose``) and one of ``gloss`` / ``text`` are required. Without a ``split`` column the split is in the file's
name, as in PHOENIX-2014T's ``PHOENIX-2014-T.dev.corpus.csv`` (``--split-name dev=validation``); several manifests
(one per split) make one corpus. A ``.jsonl`` manifest holds one JSON object per line with the same keys (lists
for the gloss times are fine). Pose files are read through pose-format whatever produced them, and must be in the
layout the dataset declares (``--layout``, ``modeling_signattention.layouts``); the extension tells the format:

* ``.pose`` files: MediaPipe Holistic (full or ``reduce_holistic``-reduced) or OpenPose as pose-format writes them;
* a folder of OpenPose ``*_keypoints.json`` frames (``pose_format.utils.openpose``; width and height are options
  and the fps the ``fps`` column or option, since OpenPose's JSON has none of them);
* ``.npy`` files: records of ``python -m dataset_builder.extract`` (Holistic), or a plain ``(frames, points,
  coordinates)`` array of image fractions holding every point of the declared layout, at the ``fps`` given.

The body and both hands (or every component, ``--landmarks full``) are picked by name and stored as image
fractions with NaN where a point was not detected, so the feature extractor reads every layout the same way.

Bad rows (a missing or unreadable file, a file in another layout, a span outside the file, no person in the clip,
an empty target, an unknown split, a repeated id, a row with too many or too few cells, gloss times that do not
match the glosses, overlap, run past the clip or come without an fps) stop the build with an
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
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from dataset_builder.build import MAX_SHARD_SIZE, publish_dataset, run_build
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

# The manifest's fields (its canonical column names); ``start`` / ``end`` cut a clip from a longer pose file.
FIELDS = (
    "id",
    "split",
    "pose",
    "gloss",
    "text",
    "signer",
    "fps",
    "gloss_start",
    "gloss_end",
    "clip_start",
    "clip_end",
)
TIME_UNITS = ("ms", "frames", "s")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
BAD_ROW_POLICIES = ("error", "skip")
BAD_ROWS_DIR = ".bad_rows"  # per-job lists of skipped rows, merged into report.json by the build
REPORT_FILE = "report.json"
_DELIMITERS = {"comma": ",", "tab": "\t", "pipe": "|", "semicolon": ";"}


@dataclass
class ManifestOptions:
    """How to read a manifest and its pose files (every option of ``python -m dataset_builder.manifest``)."""

    # One manifest file, or several (e.g. one per split) read as one: ids are unique across them.
    manifest: str | list[str]
    # Folder that relative pose paths start from (default: the manifest's folder).
    poses_dir: str | None = None
    layout: str = DEFAULT_LAYOUT
    landmark_set: str = "body_hands"
    # A character, or one of comma / tab / pipe / semicolon; default: from the suffix (.tsv tab, else comma).
    delimiter: str | None = None
    # Our field -> the manifest's column header, for the fields whose header differs from the field's name.
    columns: dict[str, str] = field(default_factory=dict)
    time_unit: str = "ms"
    # The manifest's split value -> train / validation / test, for values other than those three (e.g. dev).
    split_names: dict[str, str] = field(default_factory=dict)
    on_bad_row: str = "error"
    # OpenPose JSON folders and plain .npy arrays carry no frame rate (a row's fps column wins), OpenPose no frame size.
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
        for path in self.files:
            if not path.is_file():
                raise FileNotFoundError(f"no manifest file {path}")
            suffixes = {file.suffix.lower() in JSON_LINES_SUFFIXES for file in self.files}
            if len(suffixes) > 1:
                raise ValueError(f"manifests {self.manifest} mix JSON Lines and delimited files")

    @property
    def files(self) -> list[Path]:
        return (
            [Path(self.manifest)]
            if isinstance(self.manifest, str)
            else [Path(path) for path in self.manifest]
        )

    @property
    def name(self) -> str:
        """The manifest's file name(s), how cards and logs name the corpus."""
        return ", ".join(path.name for path in self.files)

    @property
    def separator(self) -> str:
        if self.json_lines:
            return "JSON Lines"
        if self.delimiter is None:
            return "\t" if self.files[0].suffix.lower() in (".tsv", ".tab") else ","
        return _DELIMITERS.get(self.delimiter, self.delimiter)

    @property
    def json_lines(self) -> bool:
        return self.files[0].suffix.lower() in JSON_LINES_SUFFIXES

    @property
    def root(self) -> Path:
        return Path(self.poses_dir) if self.poses_dir is not None else self.files[0].parent


@dataclass(frozen=True)
class ManifestRow:
    """One clip of the manifest, checked for everything that needs no pose file."""

    line: int  # the manifest line (a CSV's header = 1): how errors name a row
    source: int  # which of the manifest files (ManifestOptions.files)
    id: str
    path: str  # the pose file, relative to the poses folder
    split: str  # train / validation / test
    gloss: str
    text: str
    signer: str
    start: float | None
    end: float | None
    fps: float | None = None
    # (start, end) of each gloss in time_unit from the clip's first frame; () when the manifest gives none
    gloss_times: tuple[tuple[float, float], ...] = ()


class BadRow(ValueError):
    """A manifest row that cannot become a clip; ``str()`` says why."""


def read_manifest(options: ManifestOptions) -> tuple[list[ManifestRow], list[dict[str, Any]]]:
    """The manifests' good rows and their bad ones (``{"manifest", "line", "id", "path", "reason"}``), in file order.

    Missing required columns raise at once (listing the columns found); a bad row raises too when
    ``on_bad_row == "error"``.
    """
    rows, bad, seen = [], [], {}
    for source, path in enumerate(options.files):
        with open(path, newline="", encoding="utf-8-sig") as handle:
            found, records = _json_lines(handle) if options.json_lines else _csv_rows(handle, options)
            header_of = _headers(options, path, found)
            for line, record in records:
                try:
                    row = _parse_row(record, line, source, header_of, options)
                    if row.id in seen:
                        raise BadRow(f"id {row.id!r} repeats {seen[row.id]}")
                    seen[row.id] = f"line {line}" if len(options.files) == 1 else f"{path.name}, line {line}"
                    rows.append(row)
                except BadRow as error:
                    clip_id, pose = record.get(header_of["id"]), record.get(header_of["pose"])
                    bad.append(_bad_row(options, source, line, clip_id, pose, error))
    return rows, bad


def _headers(options: ManifestOptions, path: Path, found: list[str]) -> dict[str, str | None]:
    """Field -> the manifest's column (None: no such column, the default applies); missing required ones raise."""
    header_of: dict[str, str | None] = {name: options.columns.get(name, name) for name in FIELDS}
    missing = [
        " or ".join(str(header_of[name]) for name in either)
        for either in (("id", "pose"), ("gloss", "text"))
        if not any(header_of[name] in found for name in either)
    ]
    if header_of["split"] not in found and _split_of_name(path, options) is None:
        missing.insert(0, f"{header_of['split']} (nor a split in the file name)")
    if missing:
        raise ValueError(
            f"{path}: no column {', '.join(map(repr, missing))} (delimiter {options.separator!r}; "
            f"columns found: {found}); name other columns with --column ROLE=NAME"
        )
    for name in FIELDS:
        if header_of[name] not in found:
            header_of[name] = None
    return header_of


def _split_of_name(path: Path, options: ManifestOptions) -> str | None:
    """The split a manifest's file name gives its rows (``PHOENIX-2014-T.dev.corpus.csv``: dev,
    ``how2sign_realigned_val.csv``: val), mapped by ``split_names``; None when no part of the name (between dots,
    dashes, underscores) is a split."""
    for part in re.split(r"[._-]", path.name.lower()):
        split = options.split_names.get(part, part)
        if split in SPLITS:
            return split
    return None


def _csv_rows(handle, options: ManifestOptions) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The header and ``(line, record)`` of a delimited manifest; a row with too many or too few cells is bad."""
    reader = csv.DictReader(handle, delimiter=options.separator)
    found = list(reader.fieldnames or [])

    def records() -> Iterator[tuple[int, dict]]:
        for record in reader:
            extra = record.pop(None, [])  # cells beyond the header under None, missing cells as None
            if extra or None in record.values():
                cells = len(record) + len(extra) - sum(value is None for value in record.values())
                record = {  # the reason goes under BadRow, a key no column name can be; _parse_row raises it
                    **{k: v for k, v in record.items() if v is not None},
                    BadRow: f"{cells} cells, the header has {len(record)}",
                }
            yield reader.line_num, record

    return found, records()


def _json_lines(handle) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The keys of the first object (the columns, as a CSV's header) and ``(line, record)`` of a JSON Lines
    manifest, values as CSV text (a list of gloss times joined by spaces); a line that is no JSON object is bad."""
    lines = ((number, text) for number, text in enumerate(handle, start=1) if text.strip())
    first = next(lines, None)
    if first is None:
        return [], iter(())

    def record(number: int, text: str) -> dict:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            return {BadRow: f"not JSON ({error.msg} at column {error.colno})"}
        if not isinstance(value, dict):
            return {BadRow: f"a JSON {type(value).__name__}, not an object"}
        return {
            key: " ".join(map(str, item)) if isinstance(item, list) else "" if item is None else str(item)
            for key, item in value.items()
        }

    head = record(*first)
    found = [key for key in head if key is not BadRow]

    def records() -> Iterator[tuple[int, dict]]:
        yield first[0], head
        for number, text in lines:
            yield number, record(number, text)

    return found, records()


def _parse_row(
    record: dict, line: int, source: int, header_of: dict[str, str | None], options: ManifestOptions
) -> ManifestRow:
    if BadRow in record:  # the reader's reason: a malformed line
        raise BadRow(record[BadRow])
    value = {name: (record.get(header) or "").strip() for name, header in header_of.items()}
    if header_of["split"] is None:
        value["split"] = _split_of_name(options.files[source], options)
    if header_of["pose"] is None:
        if not value["id"]:
            raise BadRow("no id, and no pose column to name the pose file (<id>.pose)")
        value["pose"] = f"{value['id']}.pose"
    if not value["pose"]:
        raise BadRow("no pose file (empty pose)")
    split = options.split_names.get(value["split"], value["split"])
    if split not in SPLITS:
        raise BadRow(
            f"split {value['split']!r} is none of {', '.join(SPLITS)} (map it with --split-name {value['split']}=...)"
        )
    if not value["gloss"] and not value["text"]:
        raise BadRow("no target: gloss and text are both empty")
    start, end = (_time(value[name], name) for name in ("clip_start", "clip_end"))
    if start is not None and end is not None and not end > start:
        raise BadRow(f"clip_end {end} is not after clip_start {start}")
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise BadRow(f"negative time span [{start}, {end})")
    fps = _time(value["fps"], "fps")
    if fps is not None and not fps > 0:
        raise BadRow(f"fps {value['fps']!r} is not a positive number")
    clip_id = value["id"] or _default_id(value["pose"], start, end)
    return ManifestRow(
        line,
        source,
        clip_id,
        value["pose"],
        split,
        value["gloss"],
        value["text"],
        value["signer"],
        start,
        end,
        fps,
        _gloss_times(value["gloss_start"], value["gloss_end"], value["gloss"], options.time_unit),
    )


def _gloss_times(starts: str, ends: str, gloss: str, unit: str) -> tuple[tuple[float, float], ...]:
    """``gloss_start`` / ``gloss_end`` as one ``(start, end)`` per gloss, in order, each non-empty, none
    overlapping the next; ``()`` when both are empty."""
    if not starts and not ends:
        return ()
    if not starts or not ends:
        raise BadRow(
            f"gloss_{'start' if not starts else 'end'} is empty but gloss_{'end' if not starts else 'start'} is not"
        )
    begin = [_time(text, "gloss_start") for text in starts.split()]
    finish = [_time(text, "gloss_end") for text in ends.split()]
    glosses = gloss.split()
    if not len(begin) == len(finish) == len(glosses):
        raise BadRow(
            f"{len(begin)} gloss_start and {len(finish)} gloss_end times for {len(glosses)} glosses ({gloss!r})"
        )
    for index, (gloss_name, start, end) in enumerate(zip(glosses, begin, finish, strict=True)):
        if start < 0 or not end > start:
            raise BadRow(f"gloss {index + 1} ({gloss_name}): [{start:g}, {end:g}) {unit} is no time span")
        if index and start < finish[index - 1]:
            raise BadRow(
                f"gloss {index + 1} ({gloss_name}) starts at {start:g} {unit}, before gloss {index} "
                f"({glosses[index - 1]}) ends at {finish[index - 1]:g} {unit}: gloss times overlap"
            )
    return tuple(zip(begin, finish, strict=True))


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
    options: ManifestOptions, source: int, line: int, clip_id: Any, path: Any, error: Exception
) -> dict[str, Any]:
    """Record a bad row, or raise it naming the manifest file and line when bad rows are errors."""
    manifest = options.files[source]
    if options.on_bad_row == "error":
        raise ValueError(f"{manifest}, line {line}: {error}") from error
    return {"manifest": str(manifest), "line": line, "id": clip_id, "path": path, "reason": str(error)}


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
            description=f"Pose sequences of the clips of {options.name}",
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
        if not rows:
            raise ValueError(
                f"{options.name}: no usable row (map other split names with --split-name NAME=SPLIT)"
            )
        # A corpus with only some splits builds them (training then needs train and validation, evaluation test).
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"split": split, "rows": split_rows})
            for split, split_rows in by_split.items()
            if split_rows
        ]

    def _generate_examples(self, split: str, rows: list[ManifestRow]) -> Iterator[tuple[str, dict]]:
        options = self.config.manifest_options
        reader = ClipReader(options)
        bad = []
        try:
            for row in rows:
                try:
                    pose, fps, start, spans = reader.clip(row)
                except BadRow as error:
                    bad.append(_bad_row(options, row.source, row.line, row.id, row.path, error))
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
                        "gloss_spans": spans,
                    },
                )
        finally:
            if rows:
                self._write_bad_rows(f"{split}-{rows[0].source}-{rows[0].line}", bad)

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

    def clip(self, row: ManifestRow) -> tuple[np.ndarray, float, int, np.ndarray]:
        """``(frames, points, coords)`` float32 image fractions (NaN = not detected), fps, first frame, and the
        ``(glosses, 2)`` [start, end) frames of each gloss in the clip (``(0, 2)`` without gloss times)."""
        path = self.root / row.path
        landmarks, file_fps = self._read(path, row.fps)
        if not len(landmarks):
            raise BadRow(f"{path} holds no frame")
        fps = row.fps or file_fps
        timed = row.start is not None or row.end is not None or row.gloss_times
        if timed and self.options.time_unit != "frames" and not fps > 0:
            raise BadRow(
                f"times in {self.options.time_unit} need an fps: {path} has none and the row gives none (fps column)"
            )
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
        return np.ascontiguousarray(clip, dtype=np.float32), fps, start, self._spans(row, fps, len(clip))

    def _spans(self, row: ManifestRow, fps: float, frames: int) -> np.ndarray:
        """The gloss times as [start, end) clip frames; a gloss of no frame or past the clip is a bad row."""
        spans = np.array(
            [[self._frame(start, fps), self._frame(end, fps)] for start, end in row.gloss_times],
            dtype=np.int32,
        ).reshape(-1, 2)
        unit = self.options.time_unit
        for index, ((start, end), (first, last)) in enumerate(zip(row.gloss_times, spans, strict=True)):
            if last > frames:
                raise BadRow(
                    f"gloss {index + 1} ends at {end:g} {unit} = frame {last}, past the clip's {frames} frames "
                    f"({fps:g} fps)"
                )
            if not last > first:
                raise BadRow(f"gloss {index + 1}: [{start:g}, {end:g}) {unit} is no frame at {fps:g} fps")
        return spans

    def _frame(self, time: float, fps: float) -> int:
        unit = self.options.time_unit
        return int(round(time if unit == "frames" else time * fps / (1000 if unit == "ms" else 1)))

    def _read_file(self, path: Path, fps: float | None) -> tuple[np.ndarray, float]:
        """Image fractions of the layout's landmark set and the file's fps (``fps``, the row's, where the file has
        none: OpenPose folders, plain arrays)."""
        what = str(path)
        fps = fps or self.options.fps
        try:
            if path.is_dir():
                pose = self._openpose_folder(path, fps)
            elif path.suffix.lower() == ".npy":
                return self._npy(path, fps)
            elif path.is_file():
                from pose_format import Pose

                pose = Pose.read(path.read_bytes())
            else:
                raise BadRow(f"no pose file {path}")
            landmarks = select_from_pose(pose, self.layout, self.components, what)
            if landmarks.shape[-1] != len(self.layout.coordinates):
                raise BadRow(
                    f"{what} holds {landmarks.shape[-1]} coordinates per point; the layout {self.layout.name!r} has "
                    f"{len(self.layout.coordinates)} ({', '.join(self.layout.coordinates)})"
                )
        except BadRow:
            raise
        except Exception as error:  # pose-format raises struct / Unicode / Index errors on a malformed file
            if isinstance(error, ValueError) and what in str(error):  # already names the file
                raise BadRow(str(error)) from error
            raise BadRow(f"{what}: unreadable ({type(error).__name__}: {error})") from error
        return landmarks, float(pose.body.fps)

    def _openpose_folder(self, path: Path, fps: float | None):
        from pose_format.utils.openpose import load_openpose_directory

        options = self.options
        if None in (fps, options.width, options.height):
            raise BadRow(
                f"{path} is an OpenPose JSON folder: give its fps (fps column or --fps), width and height "
                "(--width --height)"
            )
        return load_openpose_directory(str(path), fps=fps, width=options.width, height=options.height)

    def _npy(self, path: Path, fps: float | None) -> tuple[np.ndarray, float]:
        """A ``dataset_builder.extract`` record (Holistic image fractions already), or a plain array holding every
        point of the declared layout (its fps from the row or ``--fps``; 0 = unknown)."""
        from dataset_builder.extract import load_pose_file

        landmarks = np.load(path, allow_pickle=False)
        if landmarks.dtype.names:  # a structured record of dataset_builder.extract
            extracted = load_pose_file(path)
            source, landmarks, fps = HOLISTIC, extracted.landmarks, float(extracted.fps)
        else:
            source, fps = self.layout, float(fps or 0)
            shape = (self.layout.num_points(), len(self.layout.coordinates))
            if landmarks.ndim != 3 or landmarks.shape[1:] != shape:
                raise BadRow(
                    f"{path}: a plain array of shape {landmarks.shape}, not (frames, {shape[0]}, {shape[1]}) of "
                    f"the declared layout {self.layout.describe()}"
                )
        indices = point_indices(source, list(source.components), self.layout, self.components, str(path))
        return landmarks[:, indices].astype(np.float32), fps


def merge_bad_rows(prepared: Path, options: ManifestOptions) -> list[dict[str, Any]]:
    """Every job's skipped rows, in manifest order; removes the per-job files."""
    folder = prepared / BAD_ROWS_DIR
    bad = [
        row for path in sorted(folder.glob("*.json")) for row in json.loads(path.read_text(encoding="utf-8"))
    ]
    for path in folder.glob("*.json"):
        path.unlink()
    folder.rmdir()
    order = {str(path): index for index, path in enumerate(options.files)}
    return sorted(bad, key=lambda row: (order[row["manifest"]], row["line"]))


def build_manifest_dataset(
    options: ManifestOptions,
    output_dir: str | Path,
    *,
    cache_dir: str | Path | None = None,
    num_proc: int | None = None,
    max_shard_size: str | int = MAX_SHARD_SIZE,
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
        bad = merge_bad_rows(prepared, options)
        empty = [name for name, info in builder.info.splits.items() if not info.num_examples]
        if empty:  # every row of the split was bad (checked here: a job of num_proc sees only its share)
            reasons = "; ".join(f"line {row['line']}: {row['reason']}" for row in bad[:3])
            raise ValueError(
                f"{options.name}: no clip left in split {', '.join(empty)}, all its rows are bad ({reasons})"
            )
        return {
            "source": "manifest",
            "manifest": [str(path) for path in options.files],
            "corpus": options.name,  # how the model card names the corpus
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
        description=f"{options.name} ({options.layout}, {options.landmark_set})",
    )


def _card(builder: ManifestPoses, options: ManifestOptions, layout: dict):
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    card_data = DatasetCardData(tags=["sign-language", "pose-estimation"], task_categories=["translation"])
    data_files = [{"split": split, "path": f"data/{split}-*"} for split in builder.info.splits]
    MetadataConfigs({builder.config.name: {"data_files": data_files, "default": True}}).to_dataset_card_data(
        card_data
    )
    card_data["landmarks"] = layout
    sizes = "\n".join(f"| {name} | {info.num_examples:,} |" for name, info in builder.info.splits.items())
    content = (
        f"---\n{card_data.to_yaml()}\n---\n\n# Pose sequences of {options.name}\n\n"
        f"Built by `python -m dataset_builder.build --manifest` from {', '.join(f'`{path}`' for path in options.files)} "
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
        metavar="ROLE=NAME",
        help=f"the manifest's column for a field ({', '.join(FIELDS)}), e.g. gloss=orth; repeatable",
    )
    group.add_argument(
        "--time-unit",
        choices=TIME_UNITS,
        default="ms",
        help="unit of gloss_start / gloss_end and clip_start / clip_end (default: ms)",
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
    group.add_argument(
        "--fps",
        type=float,
        help="OpenPose JSON folders and plain .npy arrays: frame rate (the fps column wins)",
    )
    group.add_argument("--width", type=int, help="OpenPose JSON folders: frame width in pixels")
    group.add_argument("--height", type=int, help="OpenPose JSON folders: frame height in pixels")


def manifest_options(
    args: argparse.Namespace, manifest: Sequence[Path], poses_dir: Path | None
) -> ManifestOptions:
    """``ManifestOptions`` from the arguments of ``add_manifest_arguments``."""
    return ManifestOptions(
        manifest=str(manifest[0]) if len(manifest) == 1 else [str(path) for path in manifest],
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


def main(argv: Sequence[str] | None = None, prog: str = "python -m dataset_builder.manifest") -> int:
    """The command line (``python -m dataset_builder.build --manifest`` comes here too)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Build a pose dataset (Parquet + card) from a manifest of your own pose files."
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        nargs="+",
        required=True,
        help="CSV / TSV / JSON Lines (.jsonl), one row per clip; several files (e.g. one per split) make one corpus",
    )
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument(
        "--poses-dir", type=Path, help="where pose paths start (default: the manifest's folder)"
    )
    add_manifest_arguments(parser)
    parser.add_argument("--num-proc", type=int, help="processes per split (default: 1)")
    parser.add_argument("--cache-dir", type=Path, help="datasets cache (default: the HF cache)")
    parser.add_argument(
        "--max-shard-size", default=MAX_SHARD_SIZE, help="Parquet shard size (default: %(default)s)"
    )
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
