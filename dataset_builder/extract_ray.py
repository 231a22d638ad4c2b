"""The Ray engine of ``python -m dataset_builder.extract --engine ray``: one Ray task per clip.

A corpus of a thousand hours is hundreds of MediaPipe process-days, so it runs on a cluster, and on the engine
the cluster already has rather than on our own scheduler. Each clip is one Ray task (``num_cpus=1``) calling
the very function the local workers call (``extract._extract_to_file``: the same extraction, the same atomic
writer), so the files are bit-identical whichever engine wrote them. Each Ray worker process builds one Holistic
on its first clip and reuses it (``extract_clip`` flushes it between clips).

What Ray gives: a worker process or node that dies mid-clip makes Ray rerun the task elsewhere (``max_retries``);
the dead attempt left at most a hidden temp file, which the retry deletes before it starts. What Ray does not
know about stays in ``extract_corpus``, shared with the local engine: skipping finished clips, the report, the
progress bar. Clips are submitted a window at a time (two per cluster CPU), so a million-clip corpus is never
a million pending tasks. Ctrl-C stops the clips in flight between two frames, as the local engine's workers
stop: each worker reads a stop flag when it reports its frame count (its first frame, then every second), so
nothing half-written stays, and every finished clip is kept. Not ``ray.cancel``: Ray 2.60 crashes the driver
(``Check failed: ... Tried to complete task that was not pending``, task_manager.cc) when it cancels a task whose
result is on its way, which Ctrl-C right after a clip finishes did about once in twenty runs.

Ray is an optional extra (``pip install 'signattention[distributed]'``); without it this module still imports,
and asking for the engine says which extra to install.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import Any

from dataset_builder.extract import _ClipOutcome, _extract_to_file, _Stopped, create_holistic

DISTRIBUTED_EXTRA = "signattention[distributed]"
# Test hook: when set to a file path, the first worker that can create that file SIGKILLs itself on the second
# frame of its clip, as a crashed worker or a lost node would; the tests arm it by deleting the file.
KILL_ONCE_ENV = "SIGNATTENTION_TEST_KILL_WORKER_ONCE"
PROGRESS_EVERY_S = 1.0  # how often a worker reports its frame count and reads the stop flag (one remote call)
STOP_WAIT_S = 60.0  # how long Ctrl-C waits for the clips in flight to stop before it kills their workers

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RayOptions:
    """Where and how the Ray engine runs.

    ``address=None`` starts a private local Ray for the run (``num_cpus`` of them, default all cores) and stops
    it at the end; an address (``auto``, ``HEAD_IP:6379``) joins a running cluster, whose
    CPUs decide the parallelism. A clip whose worker or node dies is run again up to ``max_retries`` times
    before it is reported as failed; a clip that fails by itself (an unreadable video) is not retried, as it
    would fail again.
    """

    address: str | None = None
    num_cpus: int | None = None
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.address is not None and self.num_cpus is not None:
            raise ValueError(
                f"the cluster at {self.address} decides how many CPUs work: --workers is only for the "
                "local Ray the command starts without --address"
            )
        if self.num_cpus is not None and self.num_cpus < 1:
            raise ValueError(f"workers must be >= 1, got {self.num_cpus}")
        if self.max_retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.max_retries}")


def import_ray() -> ModuleType:
    """The ``ray`` module, or an ImportError naming the extra that installs it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(
            f"--engine ray needs Ray, which is not installed: pip install '{DISTRIBUTED_EXTRA}' "
            "(or pip install ray)"
        ) from error
    return ray


def run_on_ray(
    todo: list[tuple[Path, Path]],
    accept_truncated: bool,
    on_frames: Callable[[int], object],
    options: RayOptions,
) -> Iterator[_ClipOutcome]:
    """Outcomes of extracting ``todo`` (clip, output) as Ray tasks, in completion order; see ``extract._run``.

    Uses the Ray session of this process if there is one (a notebook, the tests), else starts or joins one as
    ``options`` says and shuts it down at the end. A clip still failing after its retries is yielded with the
    error Ray gives (e.g. ``WorkerCrashedError``), so it is listed in the report and not done: a rerun retries it.
    """
    ray = import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not todo:  # everything done already: no Ray to start
        return

    own_session = not ray.is_initialized()
    progress = None
    pending: dict[Any, tuple[Path, Path]] = {}
    clips = iter(todo)
    try:  # from the start: a Ctrl-C while Ray starts must stop what it started too
        if own_session:
            _start_or_join(ray, options)
        task = ray.remote(_extract_task).options(num_cpus=1, max_retries=options.max_retries)
        # The progress actor lives on this process's node: on another, losing that node would end the run.
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        progress = ray.remote(_Progress).options(num_cpus=0, scheduling_strategy=here).remote()
        while True:
            window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
            for clip, output in islice(clips, max(0, window - len(pending))):
                # Absolute paths: a worker's working folder is its node's, not this process's.
                ref = task.remote(clip.absolute(), output.absolute(), accept_truncated, progress)
                pending[ref] = (clip, output)
            if not pending:
                return
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.5)
            on_frames(ray.get(progress.take_frames.remote()))
            for ref in done:
                clip, output = pending.pop(ref)
                try:
                    yield (clip, output, *ray.get(ref)[2:])  # the paths as the caller gave them
                except ray.exceptions.RayError as error:  # retries used up: the worker or its node kept dying
                    yield clip, output, f"{type(error).__name__}: {error}", False, 0
    finally:  # normal end, Ctrl-C, or the caller stopped early: no clip of this run may go on
        if pending:
            ray.get(progress.stop.remote())
            logger.info(
                "stopping the %d clips in flight: each stops at its next progress report (about a second)",
                len(pending),
            )
            _, stuck = ray.wait(list(pending), num_returns=len(pending), timeout=STOP_WAIT_S)
            for ref in stuck:  # a frame that takes a minute (a hung read): kill its worker; its temp file, if
                ray.cancel(ref, force=True)  # any, is deleted when the clip is redone
        if progress is not None:
            ray.kill(progress)
        if own_session:
            ray.shutdown()


class _Progress:
    """A Ray actor on the driver's node: the frames the workers have done since the driver last asked (its
    progress bar), and the stop flag that Ctrl-C raises, which each worker reads with its next report."""

    def __init__(self) -> None:
        self.frames, self.stop_requested = 0, False

    def report(self, frames: int) -> bool:
        """Adds a worker's frames; returns whether the driver asked every clip to stop."""
        self.frames += frames
        return self.stop_requested

    def take_frames(self) -> int:
        frames, self.frames = self.frames, 0
        return frames

    def stop(self) -> None:
        self.stop_requested = True


def _start_or_join(ray: ModuleType, options: RayOptions) -> None:
    """``ray.init`` for ``options``; a ConnectionError naming the address (and the usual cause) if it fails."""
    try:
        ray.init(
            address=options.address or "local",  # "local": a Ray of our own, never one found on this machine
            num_cpus=options.num_cpus,
            include_dashboard=False,
            log_to_driver=False,  # MediaPipe's log lines; a clip's errors come back in its outcome
            configure_logging=False,
        )
    except ConnectionError as error:
        cause = f" ({error.__cause__})" if error.__cause__ is not None else ""
        raise ConnectionError(
            f"cannot join the Ray cluster at {options.address}: {error}{cause}. Is it running, and does this "
            "machine reach it? A cluster with token authentication (Ray's default for clusters started by "
            "`ray start`) also needs RAY_AUTH_MODE=token here, with the cluster's token: see docs/extraction.md"
        ) from error


_worker_holistic = None  # one per Ray worker process, built by its first clip


def _extract_task(clip: Path, output: Path, accept_truncated: bool, progress: Any) -> _ClipOutcome:
    """One clip in a Ray worker. Its frame counts go to ``progress`` (a ``_Progress`` actor) after its first frame
    and then every ``PROGRESS_EVERY_S``; the answer says whether to stop (Ctrl-C), which the clip does there."""
    global _worker_holistic
    if _worker_holistic is None:
        _worker_holistic = create_holistic()
    ray = import_ray()
    kill_flag = os.environ.get(KILL_ONCE_ENV)
    frames, counted, reported_at = 0, 0, time.monotonic()  # frames of the clip, of them not reported yet

    def on_frame() -> None:
        nonlocal frames, counted, reported_at
        frames, counted = frames + 1, counted + 1
        if kill_flag and frames == 2:
            _kill_once(kill_flag)
        if frames == 1 or time.monotonic() - reported_at >= PROGRESS_EVERY_S:
            stop = ray.get(progress.report.remote(counted))
            counted, reported_at = 0, time.monotonic()
            if stop:
                raise _Stopped("stopped by the driver (Ctrl-C)")

    outcome = _extract_to_file(clip, output, _worker_holistic, accept_truncated, on_frame)
    if counted:  # before the result: once the driver sees the clip done, its frames are counted
        ray.get(progress.report.remote(counted))
    return outcome


def _kill_once(flag: str) -> None:
    """SIGKILL this worker if ``flag`` can be created (the test hook of ``KILL_ONCE_ENV``): a real crash, once."""
    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
