"""MediaPipe Holistic pose extraction: one clip (video file or folder of frames) -> 543 landmarks per frame.

Uses the legacy ``mediapipe.solutions.holistic`` of ``mediapipe==0.10.21``: its models ship inside the wheel, so
extraction works offline. Output follows MediaPipe exactly (normalized coordinates, Holistic order, see
``modeling_signattention.layouts``) with NaN where a part was not detected, so nothing is invented at this stage.

Command line (a corpus: video files, frame folders, or folders containing them)::

    python -m dataset_builder.extract ROOT --output-dir poses/ --workers 2 [--shard 0/4] [--format npy|pose]
    python -m dataset_builder.extract ROOT --output-dir poses/ --engine ray [--address auto]   # a Ray cluster

The run is resumable (finished outputs are skipped), every output is written to a temporary file and renamed,
and a clip that fails is reported at the end instead of stopping the corpus. Progress is counted in frames (a
single long video moves the bar too). Ctrl-C stops the run within a frame, keeps every finished output and says
what is left (exit code 130); worker processes also exit if the main process is killed. A video that ends
before the frame count its container announces (a truncated download) is refused unless ``--accept-truncated``,
and either way named in the summary (printed, and ``extraction_report.json`` in the output folder); a refused
clip has no output, so a rerun retries it.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import json
import logging
import os
import queue
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from pose_format import Pose
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from dataset_builder.pose_io import from_pose, to_pose
from modeling_signattention.holistic_video import (
    IMAGE_SUFFIXES,
    NUM_HOLISTIC_POINTS,
    ExtractedPose,
    announced_frames,
    create_holistic,
    frame_images,
    open_video,
    read_holistic,
)

if TYPE_CHECKING:
    from dataset_builder.extract_ray import RayOptions

logger = logging.getLogger(__name__)
ENGINES = ("local", "ray")

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".webm", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"})
POSE_SUFFIXES = (".npy", ".pose")  # what load_pose_file reads, in order of preference
REPORT_STEM = "extraction_report"  # a corpus run's report, next to its outputs (see report_name)
OUTPUT_FORMATS = ("npy", "pose")


def extract_clip(
    path: str | Path,
    *,
    holistic: Any | None = None,
    accept_truncated: bool = False,
    on_frame: Callable[[], None] | None = None,
) -> ExtractedPose:
    """Run Holistic on every frame of a video file or of a folder of frame images (sorted naturally by name), with
    the project's one frame reader (``modeling_signattention.holistic_video.read_holistic``, which the pipeline
    uses too).

    Pass ``holistic`` (``create_holistic()``) to reuse one instance across clips (creating one costs more than a
    short clip); it is reset first, so a clip's output does not depend on what the instance saw before (the tests
    check this). Raises a ValueError naming the file for anything that cannot be read as frames, and for a video
    that ends before the frame count its container announces, unless ``accept_truncated`` (then
    ``missing_frames`` says by how much). ``on_frame`` is called after each frame (progress bars; it may raise to
    abort).
    """
    path = Path(path)
    if holistic is None:
        with create_holistic() as own_holistic:
            return extract_clip(
                path, holistic=own_holistic, accept_truncated=accept_truncated, on_frame=on_frame
            )
    try:
        return read_holistic(path, holistic, accept_truncated=accept_truncated, on_frame=on_frame)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def count_frames(path: Path) -> int:
    """A clip's frame count without decoding it (for progress bars): the container's count for a video, the
    images of a folder; 0 when it cannot be known (the clip's own error comes when it is extracted)."""
    if path.is_dir():
        return len(frame_images(path))
    try:
        capture = open_video(path)
    except ValueError:
        return 0
    try:
        return announced_frames(capture)
    finally:
        capture.release()


# ----------------------------------------------------------------------------------------------------------
# Files: .npy and .pose
# ----------------------------------------------------------------------------------------------------------


def save_extracted(pose: ExtractedPose, path: Path) -> None:
    """Write ``pose`` as ``.npy`` or ``.pose`` (by suffix), atomically: a reader never sees half a file.

    ``.npy`` is a single structured record (fields ``landmarks``, ``confidence``, ``fps``, ``width``,
    ``height``) so it is lossless, self-describing and loads without pickle: ``np.load(path)["landmarks"]``.
    ``.pose`` is pose-format's file (pixel coordinates, see ``dataset_builder.pose_io``), for its tools.
    """
    path = Path(path)
    if path.suffix == ".npy":
        _atomic_write(path, lambda file: np.save(file, _to_record(pose)))
    elif path.suffix == ".pose":
        as_pose = to_pose(pose.landmarks, pose.confidence, fps=pose.fps, width=pose.width, height=pose.height)
        _atomic_write(path, as_pose.write)
    else:
        raise ValueError(f"{path}: unknown pose file suffix {path.suffix!r}, expected .npy or .pose")


def load_pose_file(path: str | Path) -> ExtractedPose:
    """Read a ``.npy`` written by ``save_extracted`` or any MediaPipe Holistic ``.pose`` file (543 points).

    ``.pose`` files may carry ``POSE_WORLD_LANDMARKS``, a refined 478-point face or another component order:
    those are reduced to our 543 points. OpenPose or reduced layouts raise a ValueError naming what is missing.
    """
    path = Path(path)
    if path.suffix == ".npy":
        return _from_record(np.load(path, allow_pickle=False), path)
    if path.suffix == ".pose":
        try:
            pose = Pose.read(path.read_bytes())
        except Exception as error:  # pose-format raises struct/Unicode/Index errors on a malformed file
            raise ValueError(
                f"{path}: not a readable .pose file ({type(error).__name__}: {error})"
            ) from error
        landmarks, confidence = from_pose(pose, path)
        width, height = pose.header.dimensions.width, pose.header.dimensions.height
        return ExtractedPose(landmarks, confidence, fps=float(pose.body.fps), width=width, height=height)
    raise ValueError(f"{path}: unknown pose file suffix {path.suffix!r}, expected .npy or .pose")


def _to_record(pose: ExtractedPose) -> np.ndarray:
    dtype = np.dtype(
        [
            ("landmarks", "<f4", pose.landmarks.shape),
            ("confidence", "<f4", pose.confidence.shape),
            ("fps", "<f8"),
            ("width", "<i4"),
            ("height", "<i4"),
        ]
    )
    return np.array((pose.landmarks, pose.confidence, pose.fps, pose.width, pose.height), dtype=dtype)


def _from_record(record: np.ndarray, path: Path) -> ExtractedPose:
    fields = ("landmarks", "confidence", "fps", "width", "height")
    if record.dtype.names is None or not set(fields) <= set(record.dtype.names):
        raise ValueError(
            f"{path}: expected a record .npy written by save_extracted (fields {', '.join(fields)}), "
            f"got a plain array of shape {record.shape} and dtype {record.dtype}"
        )
    landmarks = record["landmarks"]
    if landmarks.shape[1:] != (NUM_HOLISTIC_POINTS, 3):
        raise ValueError(
            f"{path}: landmarks have shape {landmarks.shape}, expected (T, {NUM_HOLISTIC_POINTS}, 3) "
            f"(all MediaPipe Holistic points)"
        )
    return ExtractedPose(
        landmarks,
        record["confidence"],
        fps=float(record["fps"]),
        width=int(record["width"]),
        height=int(record["height"]),
    )


def _atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write through a hidden temp file in the same folder, then rename it over ``path`` (atomic on POSIX).

    A run killed mid-write leaves only ``.<name>.<pid>.<random>.tmp``, never a truncated ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(temp, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _remove_stale_temp_files(path: Path) -> None:
    """Delete temp files a killed run left for ``path``; only the run that owns ``path`` may call this."""
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------------------------
# Corpus extraction
# ----------------------------------------------------------------------------------------------------------


@dataclass
class ExtractionSummary:
    """What ``extract_corpus`` did in this run (``total`` counts the clips of the shard).

    Paths are output files, except ``failed`` which maps clips to their errors. ``no_person`` lists outputs
    written in this run whose clip had no body detected in any frame: kept, but worth a look.
    """

    total: int = 0
    extracted: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    no_person: list[Path] = field(default_factory=list)
    truncated: dict[Path, str] = field(default_factory=dict)  # output -> what is missing (--accept-truncated)
    failed: dict[Path, str] = field(default_factory=dict)
    interrupted: bool = False  # Ctrl-C: the clips not in any list above are still to do

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    @property
    def not_done(self) -> int:
        return self.total - len(self.extracted) - len(self.skipped) - len(self.failed)

    def write(self, path: Path) -> None:
        """The run's report as JSON (atomically), so what was refused, cut or left undone outlives the terminal."""
        report = {
            "total": self.total,
            "interrupted": self.interrupted,
            "not_done": self.not_done,
            "extracted": [str(p) for p in self.extracted],
            "skipped": [str(p) for p in self.skipped],
            "no_person": [str(p) for p in self.no_person],
            "truncated": {str(p): what for p, what in self.truncated.items()},
            "failed": {str(p): error for p, error in self.failed.items()},
        }
        text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
        _atomic_write(path, lambda file: file.write(text.encode("utf-8")))

    def __str__(self) -> str:
        lines = [
            f"{self.total} clips: {len(self.extracted)} extracted, {len(self.skipped)} already done (skipped), "
            f"{len(self.failed)} failed"
        ]
        if self.interrupted:
            lines.append(
                f"INTERRUPTED: {self.not_done} clips not done (finished outputs are kept; rerun to resume)"
            )
        if self.no_person:
            lines.append(f"no person detected in any frame, kept ({len(self.no_person)}):")
            lines += [f"  {path}" for path in self.no_person]
        if self.truncated:
            lines.append(f"video ends early, kept as accepted by --accept-truncated ({len(self.truncated)}):")
            lines += [f"  {path}: {what}" for path, what in self.truncated.items()]
        if self.failed:
            lines.append(f"FAILED ({len(self.failed)}):")
            lines += [f"  {clip}: {error}" for clip, error in self.failed.items()]
        return "\n".join(lines)


def parse_shard(shard: str) -> tuple[int, int]:
    """``"i/N"`` -> ``(i, N)``; 0-based, so the shards of a 4-way split are 0/4, 1/4, 2/4 and 3/4."""
    match = re.fullmatch(r"(\d+)/(\d+)", shard.strip())
    if match is None or not int(match[1]) < int(match[2]):
        raise ValueError(f"shard must be 'i/N' with 0 <= i < N (0-based, e.g. 0/4 ... 3/4), got {shard!r}")
    return int(match[1]), int(match[2])


def find_clips(inputs: Sequence[str | Path]) -> list[tuple[Path, Path]]:
    """``(clip, relative name)`` of every clip under ``inputs``, sorted by relative name.

    An input is a clip itself (a video file, or a folder that directly contains images) or a folder searched
    recursively for them. The relative name (video suffix dropped) is the clip's path below its input folder,
    which the output mirrors: ``ROOT/police1/x/sentences0000`` -> ``police1/x/sentences0000``.
    """
    clips: dict[Path, Path] = {}
    for raw_input in inputs:
        root = Path(raw_input)
        if not root.exists():
            raise FileNotFoundError(f"input {root} does not exist")
        found = [(root, Path(_clip_name(root)))] if _is_clip(root) or root.is_file() else _search(root, root)
        if not found:
            logger.warning("no videos or frame folders found under %s", root)
        for clip, name in found:
            if name in clips:
                raise ValueError(f"{clips[name]} and {clip} would both be written as {name}: rename one")
            clips[name] = clip
    return [(clips[name], name) for name in sorted(clips, key=lambda name: name.as_posix())]


def _is_clip(path: Path) -> bool:
    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
    return path.suffix.lower() in VIDEO_SUFFIXES


def _clip_name(clip: Path) -> str:
    return clip.stem if clip.is_file() and clip.suffix.lower() in VIDEO_SUFFIXES else clip.name


def _search(folder: Path, root: Path) -> list[tuple[Path, Path]]:
    found = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):  # our temp files, .DS_Store, .git...
            continue
        if _is_clip(child):
            found.append((child, child.relative_to(root).parent / _clip_name(child)))
        elif child.is_dir():
            found += _search(child, root)
    return found


def extract_corpus(
    inputs: Sequence[str | Path],
    output_dir: str | Path,
    workers: int = 1,
    shard: str | None = None,
    fmt: str = "npy",
    accept_truncated: bool = False,
    engine: RayOptions | None = None,
) -> ExtractionSummary:
    """Extract every clip under ``inputs`` to ``output_dir/<relative name>.<fmt>``; see ``find_clips``.

    ``engine=None`` runs ``workers`` local processes, each holding one Holistic reused across clips;
    ``engine=RayOptions(...)`` runs one Ray task per clip instead (``dataset_builder.extract_ray``: a local Ray
    or a cluster, ``workers`` unused), with the same files, skipping and report. ``shard="i/N"`` (0-based)
    takes the clips whose index in the sorted list is i modulo N, so N machines can split a corpus without
    talking.
    Finished outputs are skipped, so an interrupted run is resumed by running it again; Ctrl-C
    (KeyboardInterrupt) stops within a frame and returns the summary with ``interrupted`` set. The summary is
    also written to ``output_dir/extraction_report[.shard-i-of-N].json``.
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {fmt!r}, expected one of {', '.join(OUTPUT_FORMATS)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if engine is not None:
        from dataset_builder.extract_ray import import_ray, run_on_ray

        import_ray()  # before listing and counting a corpus: without the extra, say so at once
    index, count = parse_shard(shard) if shard is not None else (0, 1)
    output_dir = Path(output_dir)
    clips = find_clips(inputs)[index::count]

    summary = ExtractionSummary(total=len(clips))
    todo = []
    for clip, name in clips:
        output = output_dir / name.parent / f"{name.name}.{fmt}"
        if output.exists():
            summary.skipped.append(output)
        else:
            todo.append((clip, output))

    frames = sum(count_frames(clip) for clip, _ in todo)
    bar = tqdm(total=frames, desc="extracting poses", unit="frame", dynamic_ncols=True)
    with bar as progress, logging_redirect_tqdm():
        progress.set_postfix_str(f"0/{len(todo)} clips")
        try:
            if engine is None:
                outcomes = _run(todo, workers, accept_truncated, progress.update)
            else:
                outcomes = run_on_ray(todo, accept_truncated, progress.update, engine)
            for clip, output, error, no_person, missing in outcomes:
                if error is not None:
                    logger.error("%s failed: %s", clip, error)
                    summary.failed[clip] = error
                else:
                    summary.extracted.append(output)
                    if no_person:
                        logger.warning("%s: no person detected in any frame", clip)
                        summary.no_person.append(output)
                    if missing:
                        summary.truncated[output] = f"{missing} frames missing at the end of {clip}"
                        logger.warning("%s: ends %d frames early, kept (--accept-truncated)", clip, missing)
                progress.set_postfix_str(f"{len(summary.extracted) + len(summary.failed)}/{len(todo)} clips")
        except KeyboardInterrupt:
            summary.interrupted = True
            # A worker may finish (atomically write) its clip between Ctrl-C and its result reaching us; the
            # workers are gone by now, so what is on disk is final: count it, or the report says "not done" of a
            # clip that a rerun will skip.
            reported = set(summary.extracted) | set(summary.failed)
            summary.extracted += [
                output
                for clip, output in todo
                if output.exists() and output not in reported and clip not in reported
            ]
    summary.write(output_dir / report_name(shard))
    return summary


def report_name(shard: str | None) -> str:
    """``extraction_report.json``, one per shard (``extraction_report.shard-0-of-4.json``) so that machines
    sharing an output folder do not overwrite each other's."""
    if shard is None:
        return f"{REPORT_STEM}.json"
    index, count = parse_shard(shard)
    return f"{REPORT_STEM}.shard-{index}-of-{count}.json"


# clip, output, error (None = success), no person, frames missing at the end
_ClipOutcome = tuple[Path, Path, str | None, bool, int]


def _run(
    todo: list[tuple[Path, Path]], workers: int, accept_truncated: bool, on_frames: Callable[[int], object]
) -> Iterator[_ClipOutcome]:
    """Outcomes of extracting ``todo``, in completion order: in this process, or in ``workers`` processes.

    ``on_frames(n)`` is called as frames are done. A KeyboardInterrupt (Ctrl-C) in this process stops the
    workers within a frame (they ignore SIGINT themselves: the whole process group gets it, and only this
    process decides), cancels the clips not started, and is raised again once they are gone.
    """
    if workers == 1 or len(todo) <= 1:
        if todo:
            with create_holistic() as holistic:
                for clip, output in todo:
                    yield _extract_to_file(clip, output, holistic, accept_truncated, lambda: on_frames(1))
        return
    context = get_context(
        "spawn"
    )  # not fork: MediaPipe's graph threads do not survive a fork of a process that ran one
    frames_done, stop = context.Queue(), context.Event()
    pool = ProcessPoolExecutor(
        min(workers, len(todo)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(os.getpid(), frames_done, stop),
    )
    try:
        futures = {
            pool.submit(_extract_in_worker, clip, output, accept_truncated): (clip, output)
            for clip, output in todo
        }
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            on_frames(_drain(frames_done))
            for future in done:
                clip, output = futures[future]
                try:
                    yield future.result()
                except (
                    Exception
                ) as error:  # the worker process died (e.g. killed): the clip is failed, not the run
                    yield clip, output, f"{type(error).__name__}: {error}", False, 0
    finally:  # normal end, Ctrl-C, or the caller stopped early: no worker may outlive this
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _drain(counts: queue.Queue) -> int:
    total = 0
    while True:
        try:
            total += counts.get_nowait()
        except queue.Empty:
            return total


class _Stopped(Exception):
    """Raised in a worker between two frames once the main process asked every worker to stop."""


_worker_holistic: Any = None  # a MediaPipe Holistic (create_holistic)
_worker_frames_done: queue.Queue | None = None
_worker_stop: threading.Event | None = None


def _init_worker(parent_pid: int, frames_done: queue.Queue, stop: threading.Event) -> None:
    global _worker_holistic, _worker_frames_done, _worker_stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group: the main process decides
    exit_with_parent(parent_pid)
    frames_done.cancel_join_thread()  # progress counts may be lost at exit; waiting for them could hang
    _worker_frames_done, _worker_stop = frames_done, stop
    _worker_holistic = create_holistic()


def exit_with_parent(parent_pid: int) -> None:
    """Make this process die with ``parent_pid`` (its parent), so a killed run leaves no idle MediaPipe workers.

    Linux: the kernel sends SIGKILL when the parent exits (``prctl(PR_SET_PDEATHSIG)``). Elsewhere: a daemon
    thread polls the parent pid once a second.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    else:

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)


def _extract_in_worker(clip: Path, output: Path, accept_truncated: bool) -> _ClipOutcome:
    def on_frame() -> None:
        _worker_frames_done.put(1)
        if _worker_stop.is_set():
            raise _Stopped("stopped by the main process (Ctrl-C)")

    return _extract_to_file(clip, output, _worker_holistic, accept_truncated, on_frame)


def _extract_to_file(
    clip: Path,
    output: Path,
    holistic: Any,
    accept_truncated: bool,
    on_frame: Callable[[], None],
) -> _ClipOutcome:
    """Extract one clip and save it; any error is returned, not raised, so one bad clip never stops a corpus."""
    try:
        _remove_stale_temp_files(output)
        pose = extract_clip(clip, holistic=holistic, accept_truncated=accept_truncated, on_frame=on_frame)
        save_extracted(pose, output)
    except Exception as error:
        return clip, output, f"{type(error).__name__}: {error}", False, 0
    return clip, output, None, pose.no_person, pose.missing_frames


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.extract",
        description="Extract MediaPipe Holistic poses (543 landmarks per frame) from videos or frame folders.",
    )
    parser.add_argument(
        "inputs", nargs="+", type=Path, help="video files, frame folders, or folders containing them"
    )
    parser.add_argument(
        "--output-dir", type=Path, required=True, help="outputs mirror the inputs' relative paths"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="parallel processes, one Holistic each (default: 1; --engine ray without --address: all cores)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this machine's processes (default); ray: one Ray task per clip, on a local Ray the "
        "command starts or on the cluster at --address (needs the [distributed] extra)",
    )
    parser.add_argument(
        "--address",
        help="with --engine ray: the running Ray cluster to use (auto, or HEAD_IP:6379)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        help="with --engine ray: reruns of a clip whose worker or node died, before it is reported (default 3)",
    )
    parser.add_argument(
        "--shard",
        help="'i/N', 0-based: only clips whose sorted index %% N == i (e.g. 0/2 and 1/2 on two machines)",
    )
    parser.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="npy", help="output file format (default npy)"
    )
    parser.add_argument(
        "--accept-truncated",
        action="store_true",
        help="keep videos that end before the frame count their container announces (default: refuse them)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        engine = None
        if args.engine == "ray":
            from dataset_builder.extract_ray import RayOptions

            retries = {} if args.retries is None else {"max_retries": args.retries}
            engine = RayOptions(args.address, args.workers, **retries)
        elif args.address is not None or args.retries is not None:
            raise ValueError(
                "--address and --retries are for Ray (the cluster, its reruns): add --engine ray"
            )
        summary = extract_corpus(
            args.inputs,
            args.output_dir,
            1 if args.workers is None or engine is not None else args.workers,
            args.shard,
            args.format,
            args.accept_truncated,
            engine,
        )
    except (FileNotFoundError, ValueError, ImportError, ConnectionError) as error:
        parser.error(str(error))
    print(summary)
    if summary.interrupted:
        return 130  # the shell's code for a run stopped by Ctrl-C (128 + SIGINT)
    if not summary.ok:
        print(
            f"exit code 1: {len(summary.failed)} of {summary.total} clips failed; a rerun retries only those"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
