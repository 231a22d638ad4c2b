"""How much do ``extract_clip`` and the parallel corpus runner cost on top of MediaPipe itself?

1. Throughput of ``extract_clip`` vs a bare Holistic loop (OpenCV read + BGR->RGB + ``process``) over the same
   ~300 frames: the real signer video, passed ``--repeats`` times with one reused Holistic. Goal: ratio >= 0.9.
2. ``extract_corpus`` with 2 workers vs 1 on ``--copies`` copies of the video (each run from scratch, worker
   start-up included). Goal: speed-up >= 1.6x, which needs two otherwise idle cores.

    python benchmarks/bench_extract.py [--repeats 5] [--copies 8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.extract import create_holistic, extract_clip, extract_corpus

VIDEO = EXAMPLE_VIDEO


def bare_mediapipe(holistic, video: Path) -> int:
    """The least any extractor must do: decode, convert, run Holistic. Returns the frame count."""
    capture = cv2.VideoCapture(str(video))
    frames = 0
    while (frame := capture.read()[1]) is not None:
        holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        frames += 1
    capture.release()
    return frames


def bench_extract_clip(repeats: int) -> None:
    """Alternate bare and ``extract_clip`` passes so load from other processes hits both alike."""
    bare_seconds = ours_seconds = 0.0
    frames = 0
    with create_holistic() as holistic:
        extract_clip(VIDEO, holistic=holistic)  # warm-up: first inferences allocate XNNPACK buffers
        for _ in range(repeats):
            start = time.perf_counter()
            frames += bare_mediapipe(holistic, VIDEO)
            bare_seconds += time.perf_counter() - start
            start = time.perf_counter()
            extract_clip(VIDEO, holistic=holistic)
            ours_seconds += time.perf_counter() - start
    bare_fps, ours_fps = frames / bare_seconds, frames / ours_seconds
    print(f"frames: {frames} per side")
    print(
        f"extract_clip fps: {ours_fps:.1f}  bare mediapipe fps: {bare_fps:.1f}  ratio: {ours_fps / bare_fps:.2f}"
    )


def bench_workers(copies: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for index in range(copies):
            (corpus / f"clip{index}.mp4").symlink_to(VIDEO)
        seconds = {}
        for workers in (1, 2):
            start = time.perf_counter()
            summary = extract_corpus([corpus], Path(tmp) / f"out{workers}", workers=workers)
            seconds[workers] = time.perf_counter() - start
            assert summary.ok and len(summary.extracted) == copies, summary
    print(
        f"corpus of {copies} clips: workers=1 {seconds[1]:.1f} s  workers=2 {seconds[2]:.1f} s  "
        f"speed-up: {seconds[1] / seconds[2]:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="passes over the 58-frame video (default 5: 290 frames)"
    )
    parser.add_argument("--copies", type=int, default=8, help="clips in the corpus benchmark (default 8)")
    args = parser.parse_args()
    # Both goals assume otherwise idle cores: print the load so a figure taken on a busy machine is read as such.
    print(f"cpus: {os.cpu_count()}  load average (1 min): {os.getloadavg()[0]:.1f}")
    bench_extract_clip(args.repeats)
    print(f"load average (1 min): {os.getloadavg()[0]:.1f}")
    bench_workers(args.copies)
    print(f"load average (1 min): {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
