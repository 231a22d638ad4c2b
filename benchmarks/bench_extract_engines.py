"""Frames/s of ``--engine ray`` against the local engine on the same clips, in the same run.

Both engines run 2 workers from scratch on each corpus, alternately (local, ray, local, ray) so that load from
other processes hits both alike; the local Ray is started once beforehand and its start is timed on its own
(the CLI pays it once per run). Two corpora: ``--copies`` copies of the real signer video (58 frames each),
where MediaPipe dominates, and ``--short`` clips of 4 frames, where the cost per clip shows:
``(ray seconds - local seconds) / clips``. Every run's files are checked bit-identical to the local ones.

    python benchmarks/bench_extract_engines.py [--copies 12] [--short 40] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.extract import extract_corpus
from dataset_builder.extract_ray import RayOptions, import_ray


def make_corpora(root: Path, copies: int, short: int) -> dict[str, tuple[Path, int, int]]:
    """name -> (folder, clips, frames)."""
    (root / "signer").mkdir()
    for index in range(copies):
        (root / "signer" / f"clip{index}.mp4").symlink_to(EXAMPLE_VIDEO)
    capture = cv2.VideoCapture(str(EXAMPLE_VIDEO))
    frames = [capture.read()[1] for _ in range(4)]
    capture.release()
    for index in range(short):
        folder = root / "short" / f"clip{index}"
        folder.mkdir(parents=True)
        for number, frame in enumerate(frames, start=1):
            cv2.imwrite(str(folder / f"frame{number}.jpg"), frame)
    return {"signer": (root / "signer", copies, 58 * copies), "short": (root / "short", short, 4 * short)}


def timed_run(corpus: Path, output: Path, engine: RayOptions | None) -> float:
    start = time.perf_counter()
    summary = extract_corpus([corpus], output, workers=2, engine=engine)
    seconds = time.perf_counter() - start
    assert summary.ok and not summary.skipped, summary
    return seconds


def same_files(first: Path, second: Path) -> bool:
    files = sorted(p.relative_to(first) for p in first.rglob("*.npy"))
    return bool(files) and all((first / f).read_bytes() == (second / f).read_bytes() for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--short", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    ray = import_ray()
    start = time.perf_counter()
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
    )
    print(f"local Ray start (2 CPUs): {time.perf_counter() - start:.1f} s (paid once per CLI run)")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            corpora = make_corpora(Path(tmp), args.copies, args.short)
            for name, (corpus, clips, frames) in corpora.items():
                seconds: dict[str, float] = {"local": 0.0, "ray": 0.0}
                for round_index in range(args.rounds):
                    for engine, options in (("local", None), ("ray", RayOptions())):
                        output = Path(tmp) / f"out-{name}-{engine}-{round_index}"
                        seconds[engine] += timed_run(corpus, output, options)
                        assert same_files(Path(tmp) / f"out-{name}-local-0", output), "files differ"
                local_fps = frames * args.rounds / seconds["local"]
                ray_fps = frames * args.rounds / seconds["ray"]
                overhead_ms = 1000 * (seconds["ray"] - seconds["local"]) / (clips * args.rounds)
                print(
                    f"{name}: {clips} clips, {frames} frames, {args.rounds} rounds, 2 workers each: "
                    f"local {local_fps:.1f} frames/s, ray {ray_fps:.1f} frames/s ({ray_fps / local_fps:.2f}x); "
                    f"ray - local = {overhead_ms:+.0f} ms per clip; files bit-identical"
                )
    finally:
        ray.shutdown()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
