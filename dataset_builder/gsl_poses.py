"""``GSLPoses``: the GSL continuous corpus as pose sequences, a ``datasets.GeneratorBasedBuilder``.

One builder serves real and synthetic data, so everything downstream reads the same features whatever the
source::

    from dataset_builder.gsl_poses import GSLPoses, GSLPosesConfig

    builder = GSLPoses.from_config(GSLPosesConfig(name="si", source="synthetic"), cache_dir="cache/")
    builder.download_and_prepare()
    dataset = builder.as_dataset()  # DatasetDict: train / validation / test

datasets 5 no longer runs loading scripts, so the builder is imported and instantiated; the options below
are ``GSLPosesConfig`` fields, one dataclass saying what the dataset is (``dataset_builder.build.build_dataset``
takes it whole), and pass through ``GSLPoses.from_config(config)`` or ``GSLPoses(config_name=..., **options)``
(each set of options gets its own cache folder). Sources:

* ``synthetic``: ``dataset_builder.synthetic`` renders every clip (deterministic in ``seed``), signed at
  the ``timing`` it names (a preset of ``dataset_builder.timing.TIMINGS``: how long signs and the gaps last);
* ``gsl``: a GSL root holding, per split path, a folder of frames (``ROOT/<path>/*.jpg``) or a video
  (``ROOT/<path>.mp4``, ...); MediaPipe Holistic runs on the fly and each clip's result is cached as
  ``<pose_cache>/<path>.npy`` (atomic write), so a rerun or another config reuses it;
* ``poses``: a folder of already extracted ``<path>.npy`` or ``<path>.pose`` files
  (``python -m dataset_builder.extract``).

It stays a ``GeneratorBasedBuilder`` (rather than an ``ArrowBasedBuilder`` yielding tables) because that is
fast enough: examples carry float32 numpy arrays, which datasets turns into Arrow ``Array3D`` columns in one
concatenation per batch, so encoding and writing add ~40% to generation (``benchmarks/bench_synthetic.py``).

Real clips that are missing are skipped, logged and listed in ``missing_clips.txt``; unreadable ones are
skipped and logged with their error; clips where MediaPipe found no person are skipped too (the model's feature
extractor refuses a clip without a body rather than translate zeros). All three are counted in ``report.json``,
with the files of ``poses_dir`` that match no clip of the config (a typo in the name, ``.NPY``): nothing is
dropped in silence. A clip with two files (``<path>.npy`` and ``<path>.pose``) is read from the first that loads,
and both are named in ``report.json`` (``several_files``). The same poses under two clip ids (a file copied under
another name; a test clip that is also a training clip) are kept but logged and listed in ``report.json``
(``same_poses``), and the dataset card says so: memorization diagnostics assume no test clip was trained on. (The
same *sentence* in train and test is no such thing: the SI split has every sentence signed by other signers.) Both files land in the prepared dataset folder (``builder.cache_dir``, or
``download_and_prepare``'s ``output_dir``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from dataset_builder.features import pose_features
from dataset_builder.gsl import CONFIGS, GSL_DATA_DIR, SPLITS, GSLClip, load_split, read_annotations
from dataset_builder.synthetic import (
    RECOMBINATION_METHODS,
    SyntheticGSL,
    isolated_sign_clips,
    recombined_clips,
)
from dataset_builder.timing import DEFAULT_TIMING, signing_timing
from modeling_signattention.layouts import HOLISTIC

# ``dataset_builder.extract`` is imported inside the methods that read real poses: it loads OpenCV and MediaPipe
# (about 2 s, measured on the shared 2-core machine), which the synthetic source, the default and what every test
# and the main job build, never uses.

logger = logging.getLogger(__name__)

SOURCES = ("synthetic", "gsl", "poses")
_SOURCE_FOLDERS = {  # source -> (config option naming its folder, what that folder holds)
    "gsl": ("gsl_root", "ROOT/<clip path>/ frame folders or ROOT/<clip path>.mp4 videos"),
    "poses": ("poses_dir", "<clip path>.npy or .pose files"),
}
_HOLISTIC_SLICES = HOLISTIC.component_slices()
_SPLIT_NAMES = {
    "train": datasets.Split.TRAIN,
    "validation": datasets.Split.VALIDATION,
    "test": datasets.Split.TEST,
}


def gsl_features(landmark_set: str = "body_hands") -> datasets.Features:
    """The dataset's features (``features.pose_features``): ``pose`` is Holistic ``(frames, K, 3)`` with K = 75
    (body_hands) or 543 (full)."""
    return pose_features(
        HOLISTIC.name,
        landmark_set,
        {
            "scenario": datasets.Value("string"),
            "signer": datasets.Value("string"),
            "repetition": datasets.Value("int32"),
        },
    )


@dataclass
class GSLPosesConfig(datasets.BuilderConfig):
    """A split scheme (``si`` / ``sd``, the config name) plus where the poses come from: what a built dataset is.

    Each option's default is written here once (``dataset_builder.build``'s command line reads them from here).
    ``GSLPosesConfig(name="sd", source="poses", poses_dir=folder)`` describes a dataset outside datasets too;
    ``GSLPoses.from_config`` makes its builder. A folder may be given as a ``Path``: it is stored as a string.
    """

    name: str = "si"  # the split scheme, dataset_builder.gsl.CONFIGS (datasets' BuilderConfig field)
    source: str = "synthetic"  # synthetic | gsl | poses
    gsl_root: str | Path | None = None  # source "gsl": frame folders / videos per split path
    poses_dir: str | Path | None = None  # source "poses": <split path>.npy / .pose files
    # source "gsl": extraction cache; default <cache_dir>/gsl_pose_cache
    pose_cache: str | Path | None = None
    landmark_set: str = "body_hands"  # which Holistic components the pose feature stores
    limit: int | None = None  # keep only the first N clips of each split (tests, smoke runs)
    seed: int = 0  # synthetic corpus seed
    recombine: int = 0  # synthetic only: add this many clips of novel sentences to the training split
    recombine_method: str = (
        "random"  # how those sentences are made (dataset_builder.synthetic.RECOMBINATION_METHODS)
    )
    isolated_signs: int = (
        0  # synthetic only: add this many clips of one training gloss each to the training split
    )
    timing: str = (
        DEFAULT_TIMING  # synthetic only: how long signs and gaps last (dataset_builder.timing.TIMINGS)
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for option in _FOLDER_OPTIONS:  # report.json and the cache id hold plain strings
            folder = getattr(self, option)
            if folder is not None:
                setattr(self, option, os.fspath(folder))

    def options(self) -> dict[str, Any]:
        """The fields this class adds to ``datasets.BuilderConfig``, by name: the keyword arguments of
        ``GSLPoses(config_name=self.name, **options)``."""
        return {
            field.name: getattr(self, field.name) for field in fields(self) if field.name not in _BASE_FIELDS
        }

    def validate(self) -> None:
        """Clear errors for bad options, raised before any work starts."""
        if self.name not in CONFIGS:
            raise ValueError(f"Unknown GSL config {self.name!r}; valid configs: {', '.join(CONFIGS)}")
        if self.source not in SOURCES:
            raise ValueError(f"Unknown source {self.source!r}; valid sources: {', '.join(SOURCES)}")
        HOLISTIC.landmark_set(self.landmark_set)
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be a positive number of clips per split, got {self.limit}")
        if self.recombine < 0:
            raise ValueError(f"recombine must be a non-negative number of clips, got {self.recombine}")
        if self.recombine_method not in RECOMBINATION_METHODS:
            raise ValueError(
                f"Unknown recombination method {self.recombine_method!r}; "
                f"valid methods: {', '.join(RECOMBINATION_METHODS)}"
            )
        if self.isolated_signs < 0:
            raise ValueError(
                f"isolated_signs must be a non-negative number of clips, got {self.isolated_signs}"
            )
        for option in ("recombine", "isolated_signs"):
            if getattr(self, option) and self.source != "synthetic":
                raise ValueError(
                    f"{option} needs the synthetic source (it renders new clips), not {self.source!r}"
                )
        signing_timing(self.timing)
        if self.timing != DEFAULT_TIMING and self.source != "synthetic":
            raise ValueError(
                f"timing {self.timing!r} needs the synthetic source (real poses have the timing they were "
                f"signed with), not {self.source!r}"
            )
        if self.source in _SOURCE_FOLDERS:
            option, holds = _SOURCE_FOLDERS[self.source]
            folder = getattr(self, option)
            if folder is None:
                raise ValueError(f"source {self.source!r} needs {option}: the folder holding {holds}")
            if not Path(folder).is_dir():
                raise FileNotFoundError(
                    f"{option} {folder!r} does not exist or is not a folder (it should hold {holds})"
                )


_BASE_FIELDS = frozenset(field.name for field in fields(datasets.BuilderConfig))
_FOLDER_OPTIONS = ("gsl_root", "poses_dir", "pose_cache")


class GSLPoses(datasets.GeneratorBasedBuilder):
    """GSL continuous sign language sentences as MediaPipe Holistic pose sequences with gloss labels."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = GSLPosesConfig
    BUILDER_CONFIGS = [
        GSLPosesConfig(name="si", version=VERSION, description="Signer independent: signer3 held out."),
        GSLPosesConfig(
            name="sd", version=VERSION, description="Signer dependent: all signers in every split."
        ),
    ]
    DEFAULT_CONFIG_NAME = GSLPosesConfig.name  # si
    DEFAULT_WRITER_BATCH_SIZE = 256  # ~30 MB of poses per Arrow record batch
    config: GSLPosesConfig

    def __init__(self, *args, dataset_name: str = "gsl_poses", **kwargs):
        # datasets names a builder after its module; name the cache folder after the data, whatever the module is called.
        super().__init__(*args, dataset_name=dataset_name, **kwargs)

    @classmethod
    def from_config(cls, config: GSLPosesConfig, **kwargs: Any) -> GSLPoses:
        """The builder of ``config``; ``kwargs`` go to ``datasets.DatasetBuilder`` (``cache_dir``, ...).

        datasets 5 takes no config object: it copies the named config of ``BUILDER_CONFIGS`` (its version and
        description) and sets the options given as keywords on the copy, so ``config`` goes as its name and
        ``GSLPosesConfig.options``."""
        return cls(config_name=config.name, **config.options(), **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        self.config.validate()
        return datasets.DatasetInfo(
            description=f"GSL continuous ({self.config.name}) as pose sequences, source: {self.config.source}",
            features=gsl_features(self.config.landmark_set),
            homepage="https://vcl.iti.gr/dataset/gsl/",
            license="Annotations: MIT (iliasprc/slrzoo). Real poses: see the GSL dataset terms.",
        )

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        texts = read_annotations(GSL_DATA_DIR / "annotations.csv")
        self._report: dict[str, dict] = {}
        self._poses_seen: dict[str, tuple[str, str]] = {}  # hash of a clip's landmarks -> (split, clip id)
        self._several_files: dict[
            str, dict
        ] = {}  # clip id -> which of its files was used, and why not the others
        clips = {split: load_split(self.config.name, split, texts=texts) for split in SPLITS}
        self._unmatched = []
        if self.config.source == "poses":
            from dataset_builder.extract import POSE_SUFFIXES

            self._unmatched = unmatched_pose_files(
                Path(self.config.poses_dir), {clip.id for rows in clips.values() for clip in rows}
            )
            if self._unmatched:
                logger.warning(
                    "%d files in %s match no clip of GSL %s (a typo in the name, or a suffix other than %s), "
                    "e.g. %s; listed in report.json",
                    *(
                        len(self._unmatched),
                        self.config.poses_dir,
                        self.config.name,
                        " / ".join(POSE_SUFFIXES),
                    ),
                    ", ".join(self._unmatched[:3]),
                )
        config = self.config
        clips = {split: rows[: config.limit] for split, rows in clips.items()}
        if config.recombine or config.isolated_signs:
            train = clips["train"]
            clips["train"] = (
                train
                + recombined_clips(train, config.recombine, config.recombine_method, config.seed)
                + isolated_sign_clips(train, config.isolated_signs, config.seed)
            )
        # Every clip of a split is listed here, so that ``num_proc`` processes can each render a slice of it (each
        # synthetic clip has its own random generator: the clips do not depend on the slicing).
        return [
            datasets.SplitGenerator(
                name=_SPLIT_NAMES[split], gen_kwargs={"split": split, "clips": clips[split]}
            )
            for split in SPLITS
        ]

    def _generate_examples(self, split: str, clips: list[GSLClip]) -> Iterator[tuple[str, dict]]:
        if self.config.source == "synthetic":
            yield from self._synthetic_examples(clips)
        else:
            yield from self._real_examples(split, clips)

    def _synthetic_examples(self, clips: list[GSLClip]) -> Iterator[tuple[str, dict]]:
        generator = SyntheticGSL(self.config.seed, self.config.landmark_set, self.config.timing)
        for clip in clips:
            synthetic = generator.clip(clip.id, clip.glosses)
            yield clip.id, _example(clip, synthetic.pose, synthetic.fps, synthetic.gloss_spans)

    def _real_examples(self, split: str, clips: list[GSLClip]) -> Iterator[tuple[str, dict]]:
        keep = np.concatenate(
            [np.arange(_HOLISTIC_SLICES[c].start, _HOLISTIC_SLICES[c].stop) for c in self._components]
        )
        no_spans = np.zeros((0, 2), dtype=np.int32)
        report = {"clips": len(clips), "missing": [], "failed": {}, "no_person": [], "same_poses": []}
        load = self._load_extracted if self.config.source == "poses" else self._extract_cached
        self._holistic = None  # MediaPipe, created on the first clip the pose cache lacks
        try:
            for clip in clips:
                try:
                    extracted = load(clip)
                except ValueError as error:  # one unreadable file must not stop a corpus-wide build
                    report["failed"][clip.id] = str(error)
                    continue
                if extracted is None:
                    report["missing"].append(clip.id)
                    continue
                if extracted.no_person:  # nothing for the model to read: skipped, reported
                    report["no_person"].append(clip.id)
                    continue
                digest = hashlib.sha256(np.ascontiguousarray(extracted.landmarks).tobytes()).hexdigest()
                if digest in self._poses_seen:
                    first_split, first_id = self._poses_seen[digest]
                    report["same_poses"].append({"id": clip.id, "same_as": f"{first_split}: {first_id}"})
                else:
                    self._poses_seen[digest] = (split, clip.id)
                yield clip.id, _example(clip, extracted.landmarks[:, keep], extracted.fps, no_spans)
        finally:
            if self._holistic is not None:
                self._holistic.close()
            self._write_report(split, report)
        if len(report["missing"]) + len(report["failed"]) + len(report["no_person"]) == len(clips):
            # an empty split cannot be loaded
            folder = self.config.gsl_root or self.config.poses_dir
            raise FileNotFoundError(
                f"{self.config.name}/{split}: none of the {len(clips)} clips found in {folder}"
            )

    @property
    def _components(self) -> list[str]:
        return HOLISTIC.landmark_set(self.config.landmark_set)

    def _load_extracted(self, clip: GSLClip):
        """The ``poses_dir`` file of ``clip`` (``.npy`` preferred over ``.pose``; the other when the first does not
        load, recorded in ``several_files``), or None if absent."""
        from dataset_builder.extract import POSE_SUFFIXES, load_pose_file

        paths = [Path(self.config.poses_dir) / f"{clip.id}{suffix}" for suffix in POSE_SUFFIXES]
        paths = [path for path in paths if path.is_file()]
        errors = {}
        for path in paths:
            try:
                extracted = load_pose_file(path)
            except ValueError as error:
                errors[path.name] = str(error)
                continue
            if len(paths) > 1:
                self._several_files[clip.id] = {
                    "used": path.name,
                    "not_used": {
                        other.name: errors.get(other.name, f"{path.name} comes first")
                        for other in paths
                        if other != path
                    },
                }
                logger.warning(
                    "clip %s has several files: %s (listed in report.json)",
                    clip.id,
                    self._several_files[clip.id],
                )
            return extracted
        if errors:
            raise ValueError("; ".join(errors.values()))
        return None

    def _extract_cached(self, clip: GSLClip):
        """Holistic landmarks of ``clip`` from the pose cache, or extracted from the GSL root and cached;
        None when the root has neither a frame folder nor a video for it."""
        from dataset_builder.extract import create_holistic, extract_clip, load_pose_file, save_extracted

        cache_root = self.config.pose_cache or os.path.join(self._cache_dir_root, "gsl_pose_cache")
        cached = Path(cache_root) / f"{clip.id}.npy"
        if cached.is_file():
            return load_pose_file(cached)
        source = _find_clip(Path(self.config.gsl_root), clip.id)
        if source is None:
            return None
        if self._holistic is None:
            self._holistic = create_holistic()  # one graph for all clips: building it costs more than a clip
        extracted = extract_clip(source, holistic=self._holistic)
        save_extracted(extracted, cached)
        return extracted

    def _write_report(self, split: str, report: dict) -> None:
        """Log what a real source lacked and record it next to the prepared data (rewritten per split):
        ``missing_clips.txt`` (``split<TAB>clip id``) and ``report.json`` (counts, failures, no-person clips)."""
        where = f"{self.config.name}/{split}"
        folder = self.config.gsl_root or self.config.poses_dir
        if report["missing"]:
            logger.warning(
                "%s: %d of %d clips missing from %s (e.g. %s); listed in missing_clips.txt",
                *(where, len(report["missing"]), report["clips"], folder, ", ".join(report["missing"][:3])),
            )
        for clip_id, error in report["failed"].items():
            logger.warning("%s: skipped unreadable clip %s: %s", where, clip_id, error)
        if report["no_person"]:
            logger.warning("%s: no person found in %d clips (skipped)", where, len(report["no_person"]))
        for same in report["same_poses"]:
            logger.warning(
                "%s: clip %s holds the same poses as %s (kept; listed in report.json and the card)",
                *(where, same["id"], same["same_as"]),
            )
        self._report[split] = report
        output = Path(self._output_dir)
        output.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}\t{clip}\n" for name, entry in self._report.items() for clip in entry["missing"]]
        (output / "missing_clips.txt").write_text("".join(lines), encoding="utf-8")
        summary = {
            "source": self.config.source,
            "folder": folder,
            "splits": {
                name: {
                    "clips": entry["clips"],
                    "missing": len(entry["missing"]),
                    "failed": entry["failed"],
                    "no_person": len(entry["no_person"]),
                    "no_person_clips": entry["no_person"],
                    "same_poses": entry["same_poses"],
                }
                for name, entry in self._report.items()
            },
            "unmatched_files": self._unmatched,
            "several_files": self._several_files,
        }
        (output / "report.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
        )


def unmatched_pose_files(poses_dir: Path, clip_ids: set[str]) -> list[str]:
    """Files under ``poses_dir`` (relative, sorted) that are no ``<clip id>.npy`` / ``.pose`` of ``clip_ids``
    (hidden files, e.g. temp files, and the extraction's own reports are not poses)."""
    from dataset_builder.extract import POSE_SUFFIXES, REPORT_STEM

    unmatched = []
    for path in sorted(poses_dir.rglob("*")):
        relative = path.relative_to(poses_dir)
        if (
            path.is_dir()
            or any(part.startswith(".") for part in relative.parts)
            or path.name.startswith(REPORT_STEM)
        ):
            continue
        if path.suffix not in POSE_SUFFIXES or relative.with_suffix("").as_posix() not in clip_ids:
            unmatched.append(relative.as_posix())
    return unmatched


def _find_clip(root: Path, clip_id: str) -> Path | None:
    """``ROOT/<clip_id>/`` (a folder of frames) or ``ROOT/<clip_id>.<video suffix>``, whichever exists."""
    from dataset_builder.extract import VIDEO_SUFFIXES

    folder = root / clip_id
    if folder.is_dir():
        return folder
    for suffix in sorted(VIDEO_SUFFIXES):
        video = folder.with_name(folder.name + suffix)
        if video.is_file():
            return video
    return None


def _example(clip: GSLClip, pose: np.ndarray, fps: float, spans: np.ndarray) -> dict:
    return {
        "id": clip.id,
        "scenario": clip.scenario,
        "signer": clip.signer,
        "repetition": clip.repetition,
        "gloss": clip.gloss,
        "text": clip.text,
        "pose": np.ascontiguousarray(pose, dtype=np.float32),
        "fps": fps,
        "num_frames": len(pose),
        "gloss_spans": spans,
    }
