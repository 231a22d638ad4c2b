"""Manifest builder speed: a large manifest -> Parquet shards, against reading the same pose files in a bare loop.

    OMP_NUM_THREADS=1 /usr/bin/time -v python benchmarks/bench_manifest.py --clips 100000 [--num-proc 2]

The corpus: the repository's real Holistic file cut to its first ``--frames`` frames (25 fps) and written once
through pose-format, then linked under one name per clip (``<id>.pose``, the manifest has no pose column), with
two glosses per clip and their times in milliseconds: ``--clips`` rows, 80 / 10 / 10 % train / validation / test.
The baseline reads every clip's file with ``pose_format.Pose.read`` and nothing else; the build reads them too,
picks body + hands by name, checks the gloss times and streams the clips to Parquet shards. Peak memory is what
``/usr/bin/time -v`` reports for the whole process (it holds the manifest's rows, never the clips).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

from pose_format import Pose
from pose_format.numpy import NumPyPoseBody

from dataset_builder import EXAMPLE_POSE
from dataset_builder.loading import split_sizes
from dataset_builder.manifest import ManifestOptions, build_manifest_dataset

POSE_FILE = EXAMPLE_POSE


def write_corpus(folder: Path, clips: int, frames: int) -> Path:
    full = Pose.read(POSE_FILE.read_bytes())
    body = NumPyPoseBody(full.body.fps, full.body.data[:frames], full.body.confidence[:frames])
    source = folder / "source.pose"
    with open(source, "wb") as file:
        Pose(full.header, body).write(file)
    poses = folder / "poses"
    poses.mkdir()
    middle = round(frames / 2 * 1000 / full.body.fps)
    end = round(frames * 1000 / full.body.fps)
    manifest = folder / "clips.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "split", "gloss", "gloss_start", "gloss_end"])
        for row in range(clips):
            (poses / f"c{row}.pose").symlink_to(source)
            split = "train" if row % 10 < 8 else "validation" if row % 10 == 8 else "test"
            writer.writerow([f"c{row}", split, f"G{row % 50} G{row % 7}", f"0 {middle}", f"{middle} {end}"])
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--frames", type=int, default=12, help="frames per clip")
    parser.add_argument("--num-proc", type=int)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        manifest = write_corpus(folder, args.clips, args.frames)

        started = time.perf_counter()
        for row in range(args.clips):
            Pose.read((folder / "poses" / f"c{row}.pose").read_bytes())
        bare = time.perf_counter() - started

        options = ManifestOptions(manifest=str(manifest), poses_dir=str(folder / "poses"))
        started = time.perf_counter()
        output = build_manifest_dataset(
            options, folder / "dataset", cache_dir=folder / "cache", num_proc=args.num_proc
        )
        built = time.perf_counter() - started
        size = sum(path.stat().st_size for path in (output / "data").glob("*.parquet"))
        assert sum(split_sizes(output).values()) == args.clips
    print(f"{args.clips:,} clips of {args.frames} frames, one pose file each")
    print(f"bare read (pose_format.Pose.read of each file): {bare:.1f} s ({args.clips / bare:,.0f} clips/s)")
    print(
        f"manifest -> Parquet + card (num_proc {args.num_proc or 1}): {built:.1f} s "
        f"({args.clips / built:,.0f} clips/s, {built / bare:.2f}x the bare read), {size / 1e6:,.0f} MB"
    )


if __name__ == "__main__":
    main()
