"""Manifest builder speed: a large manifest -> Parquet, against reading its clips alone in the same run.

    OMP_NUM_THREADS=1 python benchmarks/bench_manifest.py --clips 100000 [--num-proc 2]

The corpus is the repository's real Holistic file (97 frames, 25 fps) under ``--recordings`` names (symbolic
links), each cut into overlapping 12-frame clips, rows grouped by recording as a corpus of long recordings is:
``--clips`` rows in all, 80 / 10 / 10 % train / validation / test. The baseline is the builder's own clip reader
over the same rows (pose-format reads, layout checks, cutting) without datasets, Arrow or Parquet, so the ratio is
what streaming to Parquet shards costs on top of reading.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from dataset_builder.loading import split_sizes
from dataset_builder.manifest import ClipReader, ManifestOptions, build_manifest_dataset, read_manifest

POSE_FILE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "holistic_example.pose"
CLIP_FRAMES = 12


def write_corpus(folder: Path, clips: int, recordings: int) -> Path:
    for index in range(recordings):
        (folder / f"rec{index:05d}.pose").symlink_to(POSE_FILE)
    per_recording = -(-clips // recordings)
    manifest = folder / "clips.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "split", "gloss", "start", "end"])
        for row in range(clips):
            recording, start = divmod(row, per_recording)
            start %= 97 - CLIP_FRAMES
            split = "train" if row % 10 < 8 else "validation" if row % 10 == 8 else "test"
            gloss = f"G{row % 50} G{row % 7}"
            writer.writerow([f"c{row}", f"rec{recording:05d}.pose", split, gloss, start, start + CLIP_FRAMES])
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--recordings", type=int, default=1_000)
    parser.add_argument("--num-proc", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        manifest = write_corpus(folder, args.clips, args.recordings)
        options = ManifestOptions(manifest=str(manifest), time_unit="frames")

        started = time.perf_counter()
        rows, bad = read_manifest(options)
        reader = ClipReader(options)
        frames = sum(len(reader.clip(row)[0]) for row in rows)
        bare = time.perf_counter() - started

        started = time.perf_counter()
        output = build_manifest_dataset(
            options, folder / "dataset", cache_dir=folder / "cache", num_proc=args.num_proc
        )
        built = time.perf_counter() - started
        size = sum(path.stat().st_size for path in (output / "data").glob("*.parquet"))
        assert not bad and sum(split_sizes(output).values()) == args.clips
    print(f"{args.clips:,} clips ({frames:,} frames) from {args.recordings:,} recordings")
    print(f"reading the clips alone: {bare:.1f} s ({args.clips / bare:,.0f} clips/s)")
    print(
        f"manifest -> Parquet + card (num_proc {args.num_proc or 1}): {built:.1f} s "
        f"({args.clips / built:,.0f} clips/s, {built / bare:.2f}x reading alone), {size / 1e6:,.0f} MB"
    )


if __name__ == "__main__":
    main()
