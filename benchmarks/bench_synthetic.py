"""How long does the whole synthetic ``si`` config (10,290 clips) take to generate and write? Goal: <= 60 s.

Three timings, taken in the same run so they share the machine's load:

1. baseline: ``SyntheticGSL.clip`` over every clip, arrays discarded (generation only);
2. ``GSLPoses(source="synthetic").download_and_prepare()``: generation + datasets encoding + Arrow files;
3. ``build_dataset``: the CLI path, generation + Parquet shards + card, published atomically.

The ratios 2/1 and 3/1 are the cost of writing on top of generating.

    python benchmarks/bench_synthetic.py [--config si] [--landmarks body_hands] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from dataset_builder.build import build_dataset
from dataset_builder.gsl import SPLITS, load_split
from dataset_builder.gsl_poses import GSLPoses, GSLPosesConfig
from dataset_builder.synthetic import SyntheticGSL


def generate_only(config: str, landmark_set: str, limit: int | None) -> tuple[int, int, float]:
    """(clips, frames, seconds) of rendering every clip without keeping it."""
    clips = [clip for split in SPLITS for clip in load_split(config, split)[:limit]]
    generator = SyntheticGSL(0, landmark_set)
    start = time.perf_counter()
    frames = sum(len(generator.clip(clip.id, clip.glosses).pose) for clip in clips)
    return len(clips), frames, time.perf_counter() - start


def builder_to_arrow(config: str, landmark_set: str, limit: int | None, cache_dir: Path) -> float:
    start = time.perf_counter()
    builder = GSLPoses.from_config(
        GSLPosesConfig(name=config, landmark_set=landmark_set, limit=limit), cache_dir=str(cache_dir)
    )
    builder.download_and_prepare()
    return time.perf_counter() - start


def build_to_parquet(config: str, landmark_set: str, limit: int | None, tmp: Path) -> tuple[float, int]:
    start = time.perf_counter()
    output = build_dataset(
        GSLPosesConfig(name=config, landmark_set=landmark_set, limit=limit), tmp / "out", cache_dir=tmp
    )
    seconds = time.perf_counter() - start
    return seconds, sum(path.stat().st_size for path in (output / "data").iterdir())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", choices=("si", "sd"), default="si")
    parser.add_argument("--landmarks", choices=("body_hands", "full"), default="body_hands")
    parser.add_argument("--limit", type=int, help="first N clips per split (smoke runs)")
    args = parser.parse_args()
    # The goal assumes otherwise idle cores: print the load so a figure from a busy machine is read as such.
    print(f"cpus: {os.cpu_count()}  load average (1 min): {os.getloadavg()[0]:.1f}")

    clips, frames, generate_seconds = generate_only(args.config, args.landmarks, args.limit)
    print(
        f"generate only:        {generate_seconds:6.1f} s  {clips / generate_seconds:7.0f} clips/s  "
        f"({clips} clips, {frames:,} frames, {frames / clips:.0f} frames/clip)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        arrow_seconds = builder_to_arrow(args.config, args.landmarks, args.limit, Path(tmp) / "arrow")
        print(
            f"builder -> Arrow:     {arrow_seconds:6.1f} s  {clips / arrow_seconds:7.0f} clips/s  "
            f"ratio to generate only: {arrow_seconds / generate_seconds:.2f}"
        )
        parquet_seconds, size = build_to_parquet(
            args.config, args.landmarks, args.limit, Path(tmp) / "parquet"
        )
        print(
            f"build -> Parquet+card: {parquet_seconds:5.1f} s  {clips / parquet_seconds:7.0f} clips/s  "
            f"ratio to generate only: {parquet_seconds / generate_seconds:.2f}  ({size / 2**20:,.0f} MiB)"
        )
    print(f"load average (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
