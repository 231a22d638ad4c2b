"""Read a dataset folder written by ``dataset_builder.build`` back: poses into memory, layout and provenance.

``hub_scripts.train``, ``evaluate``, ``interpret`` and ``reproduce`` all read built datasets through this module,
so the folder's format (``landmarks.json``, the card's YAML, ``report.json``, the Arrow columns) is known to the
writer (``build``) and to this one reader only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dataset_builder.gsl import SPLITS
from dataset_builder.timing import DEFAULT_TIMING, signing_timing
from modeling_signattention.layouts import DEFAULT_LAYOUT

OUTPUT_MODES = ("gloss", "text")  # what a model can be trained to write: the gloss sequence or the Greek text
LANDMARKS_FILE = "landmarks.json"
REQUIRED_COLUMNS = (
    "id",
    "pose",
    "gloss",
    "text",
    "gloss_spans",
)  # what training, evaluation and analysis read


class DatasetFolderError(ValueError):
    """A dataset folder that cannot be trained or evaluated on as it is (no such folder, a split or a column
    missing): said in one line by the command-line tools."""


def check_column(table: Any, name: str, split: str, dataset_dir: str | Path) -> None:
    """A DatasetFolderError naming column ``name`` where a split's Arrow table lacks it or has nulls in it.
    ``datasets`` fills a column that the card declares but the Parquet files lack with None, which would train on
    nothing. Counted by Arrow: the pose column of a split is gigabytes as Python lists."""
    clips = len(table)
    missing = table.column(name).null_count if name in table.column_names else max(clips, 1)
    if missing:
        raise DatasetFolderError(
            f"The dataset at {dataset_dir} has no {name!r} for {missing} of the {max(clips, 1)} clips of split "
            f"{split!r} (a column missing from its Parquet files, or null); every clip needs "
            f"{', '.join(REQUIRED_COLUMNS)} (python -m dataset_builder.build writes them)"
        )


def dataset_column(table: Any, name: str, split: str, dataset_dir: str | Path) -> list:
    """Column ``name`` of a split's Arrow table as a list (see ``check_column``)."""
    check_column(table, name, split, dataset_dir)
    return table.column(name).to_pylist()


@dataclass
class PoseSplit:
    """One split held in memory: pose arrays (frames, points, 3) with NaN = not detected, and their labels.

    Poses are read from the Arrow columns in batches (``iter_split_poses``): reading ``Array3D`` rows one by one
    (``ds[i]["pose"]``) costs about 22 ms per clip, over 3 minutes per epoch of the SI training split; all three
    splits load here in about 4 s (measured on the 2-core CI machine, shared). Training does not hold a split's raw
    poses at all: it streams them (``iter_split_poses``).
    """

    ids: list[str]
    poses: list[np.ndarray]
    glosses: list[str]
    texts: list[str]
    gloss_spans: list[np.ndarray]  # (n_glosses, 2) [start, end) clip frames; (0, 2) when unknown (real data)

    def __len__(self) -> int:
        return len(self.ids)

    def targets(self, output_mode: str) -> list[str]:
        """What the model learns to produce: the gloss sequence, or the Greek text lowercased, word by word."""
        return sentence_targets(self.glosses, self.texts, output_mode)

    def select(self, indices: Sequence[int]) -> PoseSplit:
        return PoseSplit(*([values[i] for i in indices] for values in vars(self).values()))


def sentence_targets(glosses: Sequence[str], texts: Sequence[str], output_mode: str) -> list[str]:
    """The targets of sentences given by their glosses and Greek texts (see ``PoseSplit.targets``): what the
    annotations (``dataset_builder.gsl``) become for a model, without a built dataset."""
    if output_mode == "gloss":
        return list(glosses)
    if output_mode == "text":
        return [" ".join(text.lower().split()) for text in texts]
    raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")


def load_targets(dataset_dir: str | Path, split: str, output_mode: str) -> list[str]:
    """A split's targets (see ``PoseSplit.targets``) without reading its poses: what memorization checks against."""
    table = _split_table(Path(dataset_dir), split, ["gloss", "text"])
    return sentence_targets(
        dataset_column(table, "gloss", split, dataset_dir),
        dataset_column(table, "text", split, dataset_dir),
        output_mode,
    )


def _arrow_poses(array: Any) -> list[np.ndarray]:
    """An Arrow ``Array3D(None, K, C)`` array (one record batch's column) -> one (frames, K, C) float32 array per
    row, views of the Arrow buffers."""
    import pyarrow as pa

    if isinstance(array, pa.ExtensionArray):
        array = array.storage
    offsets = array.offsets.to_numpy()
    points = array.flatten()  # one entry per frame; flatten() honours slicing, unlike .values
    num_points = len(points[0]) if len(points) else 0
    coordinates = len(points[0][0]) if num_points else 3
    values = points.flatten().flatten().to_numpy(zero_copy_only=False)
    frames = values.reshape(-1, num_points, coordinates) if num_points else values.reshape(0, 0, coordinates)
    return np.split(frames, offsets[1:-1] - offsets[0])


def iter_split_poses(
    dataset_dir: str | Path, split: str, rows: Sequence[int] | None = None, batch_rows: int = 256
) -> Iterator[np.ndarray]:
    """The poses of a split (the ``rows`` given, ascending; default every row), one (frames, points, 3) float32
    array at a time, read ``batch_rows`` clips at a time.

    Why a stream: a split read whole holds its Parquet pages, its Arrow table and the arrays at once. Measured on the
    SI training split (8,821 clips, 1.06 GiB of poses), reading it whole peaked at 3.85 GiB; a consumer that keeps
    only what it makes of each clip (training keeps the preprocessed clip, ``PoseSeq2SeqDataset``) holds one batch
    of raw poses at a time. Each array yielded is a view of its batch's buffers: keep a copy, not the view, to
    let the batch go.
    """
    import pyarrow.parquet as pq

    dataset_dir = Path(dataset_dir)
    wanted = None if rows is None else iter(rows)
    next_row = None if wanted is None else next(wanted, None)
    first = 0  # the split's row number of the current batch's first clip
    for shard in split_shards(dataset_dir, split):
        parquet = pq.ParquetFile(shard)
        columns = ["pose"] if "pose" in parquet.schema_arrow.names else []  # check_column names a missing one
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            check_column(batch, "pose", split, dataset_dir)
            if wanted is None:
                yield from _arrow_poses(batch.column(0))
            else:
                poses = None
                while next_row is not None and next_row < first + batch.num_rows:
                    if poses is None:
                        poses = _arrow_poses(batch.column(0))
                    yield poses[next_row - first]
                    next_row = next(wanted, None)
                if next_row is None:
                    return  # every row asked for is read: the rest of the split need not be
            first += batch.num_rows
    if wanted is not None and next_row is not None:
        raise IndexError(f"row {next_row} of split {split!r} of {dataset_dir}: it has {first} clips")


def load_pose_splits(dataset_dir: str | Path, splits: Sequence[str] = SPLITS) -> dict[str, PoseSplit]:
    """Read the requested splits of a built dataset (its Parquet shards, ``_split_table``) into memory; each pose a
    copy, so that no Arrow buffer outlives the read (``iter_split_poses``)."""
    dataset_dir = Path(dataset_dir)
    check_splits(dataset_dir, splits)
    loaded = {}
    for split in splits:
        table = _split_table(dataset_dir, split, ["id", "gloss", "text", "gloss_spans"])
        columns = {name: dataset_column(table, name, split, dataset_dir) for name in ("id", "gloss", "text")}
        loaded[split] = PoseSplit(
            ids=columns["id"],
            poses=[pose.copy() for pose in iter_split_poses(dataset_dir, split)],
            glosses=columns["gloss"],
            texts=columns["text"],
            gloss_spans=[
                np.asarray(spans, dtype=np.int64).reshape(-1, 2)
                for spans in dataset_column(table, "gloss_spans", split, dataset_dir)
            ],
        )
    return loaded


def check_splits(dataset_dir: Path, splits: Sequence[str]) -> None:
    """A DatasetFolderError unless ``dataset_dir`` is a built dataset with every split in ``splits``."""
    if not dataset_dir.is_dir():
        raise DatasetFolderError(
            f"No dataset at {dataset_dir}: build one with `python -m dataset_builder.build`"
        )
    missing = [split for split in splits if split not in split_sizes(dataset_dir)]
    if missing:
        raise DatasetFolderError(
            f"The dataset at {dataset_dir} has no split {missing}; it has {list(split_sizes(dataset_dir))}"
        )


def split_shards(dataset_dir: Path, split: str) -> list[Path]:
    """A split's Parquet shards, in row order."""
    return sorted((dataset_dir / "data").glob(f"{split}-*.parquet"))


def _split_table(dataset_dir: Path, split: str, columns: Sequence[str]) -> Any:
    """The ``columns`` of a split's Parquet shards, read with pyarrow.

    Not ``datasets.load_dataset(dataset_dir)``: it caches a local folder under the folder's name, config and
    relative data files, so a rebuilt folder, or another folder of the same name, can come back with an earlier
    build's rows (seen: ``reproduce --manifest`` reading a test's earlier ``dataset`` folder).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = split_shards(dataset_dir, split)
    present = [
        name for name in columns if name in pq.read_schema(shards[0]).names
    ]  # dataset_column names the rest
    return pa.concat_tables([pq.read_table(shard, columns=present) for shard in shards])


def split_sizes(dataset_dir: str | Path) -> dict[str, int]:
    """Clips per split of a built dataset, from its Parquet footers (no pose is read)."""
    import pyarrow.parquet as pq

    shards = sorted(Path(dataset_dir, "data").glob("*.parquet"))
    sizes: dict[str, int] = {}
    for shard in shards:
        split = shard.name.split("-")[0]
        sizes[split] = sizes.get(split, 0) + pq.ParquetFile(shard).metadata.num_rows
    return sizes


def read_landmarks(dataset_dir: str | Path) -> dict:
    """The landmark layout of a built dataset folder: ``landmarks.json``, else the card's YAML ``landmarks``."""
    from huggingface_hub import DatasetCard

    dataset_dir = Path(dataset_dir)
    path = dataset_dir / LANDMARKS_FILE
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    card = dataset_dir / "README.md"
    layout = DatasetCard.load(card).data.get("landmarks") if card.is_file() else None
    if layout is None:
        raise FileNotFoundError(f"{dataset_dir}: no {LANDMARKS_FILE} and no 'landmarks' in README.md")
    return layout


def dataset_metadata(dataset_dir: str | Path) -> dict[str, Any]:
    """The pose layout (``layout`` and ``input_components``, from landmarks.json) and the provenance of a built
    dataset.

    Provenance comes from what ``dataset_builder.build`` writes: the card's config name, its ``synthetic`` tag,
    its ``recombination`` (recombined training clips, ``--recombine``), its ``timing`` (synthetic only:
    ``dataset_builder.timing.SigningTiming.record``; a synthetic card without one was built before timings existed,
    at the default timing) and ``report.json`` (real sources only); "unknown" when the folder was made some other
    way.
    """
    from huggingface_hub import DatasetCard

    dataset_dir = Path(dataset_dir)
    landmarks = read_landmarks(dataset_dir)
    metadata = {
        # datasets built before layouts were recorded hold Holistic poses
        "layout": landmarks.get("layout", DEFAULT_LAYOUT),
        "input_components": list(landmarks["components"]),
        "data_source": "unknown",
        "config": "unknown",
        "recombination": None,  # or synthetic.recombination_record: recombined sentences, isolated signs
        "timing": None,  # synthetic only: how long its signs and gaps last, SigningTiming.record
    }
    card_path, report_path = dataset_dir / "README.md", dataset_dir / "report.json"
    if card_path.is_file():
        card = DatasetCard.load(card_path).data
        configs = card.get("configs") or []
        if configs:
            metadata["config"] = configs[0]["config_name"]
        if "synthetic" in (card.get("tags") or []):
            metadata["data_source"] = "synthetic"
            metadata["timing"] = card.get("timing") or signing_timing(DEFAULT_TIMING).record()
        metadata["recombination"] = card.get("recombination")
    if report_path.is_file():
        report = json.loads(report_path.read_text(encoding="utf-8"))
        metadata["data_source"] = report["source"]
        if "corpus" in report:  # a manifest's corpus, named on the model card
            metadata["corpus"] = report["corpus"]
    return metadata


def dataset_record(dataset_dir: str | Path) -> dict[str, Any]:
    """What identifies the data a run trained on, wherever its folder is: its config, source, extra training clips,
    timing and clips per split (``dataset_metadata``, ``split_sizes``)."""
    metadata = dataset_metadata(dataset_dir)
    return {
        "config": metadata.get("config"),
        "data_source": metadata.get("data_source"),
        "recombination": metadata.get("recombination"),
        "timing": metadata.get("timing"),
        "clips": split_sizes(dataset_dir),
    }
