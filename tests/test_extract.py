"""MediaPipe Holistic extraction on the real signer video, bad inputs, and the corpus CLI end to end.

Holistic runs at roughly 30 frames/s on one core here, so the 58-frame video is extracted once per module and
corpus tests use tiny blank frame folders wherever a real person is not the point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from environment import require_extra
from fifo_gate import open_for_writing, wait_until_no_other_reader

from dataset_builder import EXAMPLE_VIDEO
from dataset_builder.extract import (
    create_holistic,
    extract_clip,
    extract_corpus,
    find_clips,
    load_pose_file,
    main,
    parse_shard,
)
from dataset_builder.extract_ray import DISTRIBUTED_EXTRA, KILL_ONCE_ENV, PROGRESS_EVERY_S, RayOptions
from modeling_signattention.layouts import HOLISTIC

cv2 = require_extra("extract", "mediapipe", "cv2")

VIDEO = EXAMPLE_VIDEO  # 58 frames, 540x720, ~30 fps
SLICES = HOLISTIC.component_slices()
BODY = SLICES["POSE_LANDMARKS"]


@pytest.fixture(scope="module")
def video_pose():
    return extract_clip(VIDEO)


@pytest.fixture(scope="module")
def video_frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    return frames


def write_frames(folder: Path, frames: list[np.ndarray], name: str = "frame{}.jpg") -> Path:
    """Frames as images named frame1.jpg ... frame10.jpg ...: only a natural sort gets their order right."""
    folder.mkdir(parents=True)
    for index, frame in enumerate(frames, start=1):
        assert cv2.imwrite(str(folder / name.format(index)), frame, [cv2.IMWRITE_JPEG_QUALITY, 98])
    return folder


def blank_frames(count: int = 2, size: tuple[int, int] = (48, 64)) -> list[np.ndarray]:
    return [np.full((*size, 3), 255, np.uint8)] * count


def test_real_signer_video(video_pose):
    pose = video_pose
    assert pose.landmarks.shape == (58, HOLISTIC.num_points(), 3) and pose.landmarks.dtype == np.float32
    assert pose.confidence.shape == (58, HOLISTIC.num_points()) and pose.confidence.dtype == np.float32
    assert (pose.width, pose.height) == (540, 720)
    assert pose.fps == pytest.approx(30, abs=0.5)
    assert not pose.no_person
    assert not np.isnan(pose.landmarks[:, BODY]).any()  # a body in every frame
    assert not np.isnan(pose.landmarks[:, SLICES["FACE_LANDMARKS"]]).any()
    # Normalized coordinates: the face and the visible body points lie inside the image.
    face = pose.landmarks[:, SLICES["FACE_LANDMARKS"], :2]
    assert face.min() > 0 and face.max() < 1
    visible_body = pose.landmarks[:, BODY, :2][pose.confidence[:, BODY] > 0.9]
    assert visible_body.min() > -0.1 and visible_body.max() < 1.1
    # Confidence 0 exactly where a part is missing; detected hands/face score 1.
    np.testing.assert_array_equal(pose.confidence == 0, np.isnan(pose.landmarks[..., 0]))
    hand = pose.landmarks[:, SLICES["RIGHT_HAND_LANDMARKS"], 0]
    assert not np.isnan(hand).all()  # the signing hand is found


def test_frame_folder_matches_video_and_reused_holistic_is_reset(tmp_path, video_pose, video_frames):
    folder = write_frames(tmp_path / "sentence", video_frames[:20])
    with create_holistic() as holistic:
        first = extract_clip(folder, holistic=holistic)
        again = extract_clip(folder, holistic=holistic)

    # Reusing one Holistic must not leak tracking/smoothing state from the previous clip, body visibility included.
    np.testing.assert_array_equal(again.landmarks, first.landmarks)
    np.testing.assert_array_equal(again.confidence, first.confidence)
    assert (first.width, first.height, first.fps) == (540, 720, 30.0)
    # JPEG re-encoding changes pixels slightly, hence "close": the visible body and the face agree to a few
    # thousandths of the image size (hands, detected from small crops, may differ more on some frames).
    difference = np.abs(first.landmarks[..., :2] - video_pose.landmarks[:20, :, :2])
    visible = video_pose.confidence[:20, BODY] > 0.9
    assert difference[:, BODY][visible].max() < 0.03
    assert np.median(difference[:, SLICES["FACE_LANDMARKS"]]) < 0.002


def test_blank_video_is_kept_and_flagged_no_person(tmp_path):
    path = tmp_path / "blank.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48))
    for frame in blank_frames(5):
        writer.write(frame)
    writer.release()

    pose = extract_clip(path)

    assert pose.no_person
    assert pose.landmarks.shape == (5, HOLISTIC.num_points(), 3) and np.isnan(pose.landmarks).all()
    assert (pose.confidence == 0).all() and (pose.fps, pose.width, pose.height) == (25.0, 64, 48)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.mp4", b"", "cannot open it as a video"),
        ("text.mp4", b"this is not a video\n", "cannot open it as a video"),
        ("notes.txt", b"hello\n", "cannot open it as a video"),
        ("truncated.mp4", VIDEO.read_bytes()[:20_000], "no frame could be decoded"),
        ("missing.mp4", None, "no such video file or frame folder"),
    ],
)
def test_unreadable_video_raises_value_error_naming_it(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(ValueError, match=f"{name}.*{message}"):
        extract_clip(tmp_path / name)


def test_frame_folder_with_unreadable_image_names_it(tmp_path):
    folder = write_frames(tmp_path / "sentence", blank_frames(2))
    (folder / "frame3.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"frame3\.jpg: unreadable image"):
        extract_clip(folder)


def test_empty_frame_folder_and_mixed_frame_sizes_are_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: frame folder contains no images"):
        extract_clip(tmp_path / "empty")
    folder = write_frames(tmp_path / "mixed", blank_frames(1, (48, 64)) + blank_frames(1, (32, 32)))
    with pytest.raises(ValueError, match="mixed: frame 1 has shape"):
        extract_clip(folder)


def test_find_clips_mirrors_relative_paths(tmp_path):
    root = tmp_path / "gsl"
    write_frames(root / "police1" / "x" / "sentences0000", blank_frames())
    write_frames(root / "police1" / "x" / "sentences0001", blank_frames())
    (root / "health").mkdir()
    (root / "health" / "clip.v2.mp4").write_bytes(b"")
    (root / "README.txt").write_text("not a clip")

    clips = find_clips([root, VIDEO])

    assert [name.as_posix() for _, name in clips] == [
        "health/clip.v2",
        "police1/x/sentences0000",
        "police1/x/sentences0001",
        "signer_test_video",
    ]
    with pytest.raises(ValueError, match="would both be written as signer_test_video"):
        find_clips([VIDEO, VIDEO])


def test_cli_end_to_end_resumes_and_reports_failures(tmp_path, video_pose):
    corpus, output = tmp_path / "corpus", tmp_path / "poses"
    (corpus / "signer").mkdir(parents=True)
    os.symlink(VIDEO, corpus / "signer" / "real.mp4")
    (corpus / "bad.mp4").write_text("not a video")
    command = [sys.executable, "-m", "dataset_builder.extract", str(corpus), "--output-dir", str(output)]

    run = subprocess.run([*command, "--workers", "2"], capture_output=True, text=True, timeout=120)

    assert run.returncode == 1, run.stderr
    assert "2 clips: 1 extracted, 0 already done (skipped), 1 failed" in run.stdout
    assert "bad.mp4: ValueError" in run.stdout and "exit code 1" in run.stdout
    assert not (output / "bad.npy").exists()
    extracted = load_pose_file(output / "signer" / "real.npy")
    np.testing.assert_allclose(extracted.landmarks, video_pose.landmarks, atol=1e-5)

    # A second run skips the finished clip (its file is untouched) and retries only the bad one.
    finished_at = (output / "signer" / "real.npy").stat().st_mtime_ns
    summary = extract_corpus([corpus], output, workers=2)
    assert summary.skipped == [output / "signer" / "real.npy"] and summary.extracted == []
    assert list(summary.failed) == [corpus / "bad.mp4"] and not summary.ok
    assert (output / "signer" / "real.npy").stat().st_mtime_ns == finished_at


def test_temp_file_of_a_killed_run_is_not_taken_as_finished(tmp_path):
    write_frames(tmp_path / "corpus" / "sentence", blank_frames())
    output = tmp_path / "poses"
    output.mkdir()
    stale = output / ".sentence.pose.4242.deadbeef.tmp"  # what a kill during the write leaves
    stale.write_bytes(b"half a file")

    summary = extract_corpus([tmp_path / "corpus"], output, fmt="pose")

    assert summary.extracted == [output / "sentence.pose"] and summary.no_person == [output / "sentence.pose"]
    assert summary.ok and sorted(p.name for p in output.iterdir()) == [
        "extraction_report.json",
        "sentence.pose",
    ]
    assert load_pose_file(output / "sentence.pose").no_person


def test_shards_split_the_corpus_disjointly(tmp_path):
    corpus = tmp_path / "corpus"
    for index in range(5):
        write_frames(corpus / f"signer{index % 2}" / f"sentence{index}", blank_frames(1))
    outputs = []
    for shard in ("0/2", "1/2"):
        assert main([str(corpus), "--output-dir", str(tmp_path / shard[0]), "--shard", shard]) == 0
        outputs.append({p.relative_to(tmp_path / shard[0]) for p in (tmp_path / shard[0]).rglob("*.npy")})

    assert outputs[0].isdisjoint(outputs[1]) and len(outputs[0]) == 3 and len(outputs[1]) == 2
    assert (tmp_path / "1" / "extraction_report.shard-1-of-2.json").is_file()
    assert {p.as_posix() for p in outputs[0] | outputs[1]} == {
        f"signer{i % 2}/sentence{i}.npy" for i in range(5)
    }


@pytest.mark.parametrize("shard", ["2/2", "1", "a/b", "-1/2", "0/0"])
def test_bad_shard_is_a_clear_error(shard, capsys):
    with pytest.raises(ValueError, match="0 <= i < N"):
        parse_shard(shard)
    with pytest.raises(SystemExit) as exit_info:
        main([str(VIDEO), "--output-dir", "unused", f"--shard={shard}"])
    assert exit_info.value.code == 2 and "0-based" in capsys.readouterr().err


# -- truncated videos, Ctrl-C, killed runs ---------------------------------------------------------------------------
def test_truncated_video_is_refused_reported_and_retried(tmp_path, capsys):
    corpus, output = tmp_path / "corpus", tmp_path / "poses"
    corpus.mkdir()
    (corpus / "cut.mp4").write_bytes(VIDEO.read_bytes()[: int(VIDEO.stat().st_size * 0.3)])  # 13 of 58 frames
    command = [str(corpus), "--output-dir", str(output)]

    for _ in range(2):  # refused, so not "done": the rerun tries it again
        assert main(command) == 1
        printed = capsys.readouterr().out
        assert "1 clips: 0 extracted, 0 already done (skipped), 1 failed" in printed
        assert "cut.mp4: the video ends early: 13 of the 58 frames its container announces" in printed
        assert not (output / "cut.npy").exists()
        report = json.loads((output / "extraction_report.json").read_text(encoding="utf-8"))
        assert "the video ends early: 13 of the 58 frames" in report["failed"][str(corpus / "cut.mp4")]

    assert main([*command, "--accept-truncated"]) == 0
    printed = capsys.readouterr().out
    assert "video ends early, kept as accepted by --accept-truncated (1):" in printed
    assert f"{output / 'cut.npy'}: 45 frames missing at the end of {corpus / 'cut.mp4'}" in printed
    assert len(load_pose_file(output / "cut.npy").landmarks) == 13
    report = json.loads((output / "extraction_report.json").read_text(encoding="utf-8"))
    assert report["truncated"] == {
        str(output / "cut.npy"): f"45 frames missing at the end of {corpus / 'cut.mp4'}"
    }


def start_extraction(corpus: Path, output: Path, workers: int, log: Path) -> subprocess.Popen:
    """The CLI in its own process group, as a shell runs it (Ctrl-C goes to the whole group). Output goes to
    ``log``.out/.err files, not pipes: a worker outliving the run would hold a pipe open and hang the reader."""
    command = [sys.executable, "-m", "dataset_builder.extract", str(corpus), "--output-dir", str(output)]
    with open(f"{log}.out", "w") as stdout, open(f"{log}.err", "w") as stderr:
        return subprocess.Popen(
            [*command, "--workers", str(workers)], stdout=stdout, stderr=stderr, start_new_session=True
        )


def worker_pids(parent: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    return [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit status may wait for a reaper that never comes)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_leftovers(pids: list[int]) -> None:
    """The workers this test started, if a failure left them running."""
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def wait_for(condition, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def corpus_of_four(tmp_path, video_frames) -> Path:
    """Four 20-frame clips of the real signer (frame folders)."""
    for index in range(4):
        write_frames(tmp_path / "corpus" / f"clip{index}", video_frames[:20])
    return tmp_path / "corpus"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_the_run_keeping_what_is_done(corpus_of_four, tmp_path):
    output, log = tmp_path / "poses", tmp_path / "log"
    run = start_extraction(corpus_of_four, output, workers=2, log=log)
    wait_for(lambda: list(output.glob("*.npy")), 180, "a first finished clip")
    workers = worker_pids(run.pid)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a shell does
    try:
        run.wait(timeout=30)
    finally:
        run.kill()
        kill_leftovers(workers)
    stdout, stderr = Path(f"{log}.out").read_text(), Path(f"{log}.err").read_text()

    assert run.returncode == 130, stderr[-2000:]
    assert "INTERRUPTED:" in stdout and "not done (finished outputs are kept; rerun to resume)" in stdout
    done = sorted(output.glob("*.npy"))
    assert 1 <= len(done) < 4 and not list(output.glob(".*.tmp"))  # no half-written file either
    report = json.loads((output / "extraction_report.json").read_text(encoding="utf-8"))
    assert report["interrupted"] and report["not_done"] == 4 - len(done)
    for path in done:
        assert len(load_pose_file(path).landmarks) == 20
    assert not any(running(pid) for pid in workers)
    assert "frame/s" in stderr and "/80 " in stderr  # progress counted in frames: 4 clips x 20


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_main_process_is_killed(corpus_of_four, tmp_path):
    run = start_extraction(corpus_of_four, tmp_path / "poses", workers=2, log=tmp_path / "log")
    try:
        wait_for(lambda: len(worker_pids(run.pid)) == 2, 120, "two worker processes")
        workers = worker_pids(run.pid)
    finally:
        run.kill()  # kill -9 of the main process only
        run.wait()
    try:
        # A worker killed with its parent at once (prctl) only once its initializer ran; one still importing
        # (``dataset_builder.extract`` imports torch and transformers through modeling_signattention: seconds on
        # a busy machine) finds its parent gone when the initializer runs, and exits then.
        wait_for(lambda: not any(running(pid) for pid in workers), 120, "the orphaned workers to exit")
    finally:
        kill_leftovers(workers)


# -- the Ray engine ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One local Ray of 2 CPUs for the module (a start costs seconds), which ``extract_corpus`` uses as it finds
    it. Yields the kill-once flag of its workers (see ``KILL_ONCE_ENV``): present = disarmed; delete it to arm."""
    ray = require_extra("distributed", "ray")
    flag = tmp_path_factory.mktemp("ray") / "worker-killed"
    flag.touch()
    os.environ[KILL_ONCE_ENV] = str(flag)  # before ray.init: the workers inherit the environment
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
    )
    try:
        yield flag
    finally:
        ray.shutdown()
        del os.environ[KILL_ONCE_ENV]


def without_kill_hook() -> dict[str, str]:
    """This process's environment without the kill-once hook, for a CLI run whose workers must not die."""
    return {name: value for name, value in os.environ.items() if name != KILL_ONCE_ENV}


def output_files(folder: Path) -> dict[str, bytes]:
    """Every pose file under ``folder`` (hidden temp files included) by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix != ".json"
    }


def test_ray_engine_writes_the_local_files_bit_for_bit(ray_session, tmp_path, video_frames):
    corpus = tmp_path / "corpus"
    (corpus / "signer").mkdir(parents=True)
    os.symlink(VIDEO, corpus / "signer" / "real.mp4")
    write_frames(corpus / "generated" / "folder", video_frames[30:40])
    writer = cv2.VideoWriter(
        str(corpus / "generated" / "blank.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25, (64, 48)
    )
    for frame in blank_frames(4):
        writer.write(frame)
    writer.release()
    (corpus / "bad.mp4").write_text("not a video")

    local = extract_corpus([corpus], tmp_path / "local")
    on_ray = extract_corpus([corpus], tmp_path / "ray", engine=RayOptions())

    files = output_files(tmp_path / "ray")
    assert sorted(files) == ["generated/blank.npy", "generated/folder.npy", "signer/real.npy"]
    assert files == output_files(tmp_path / "local")  # same names, same bytes
    for engine, summary in (("local", local), ("ray", on_ray)):
        assert sorted(p.relative_to(tmp_path / engine) for p in summary.extracted) == [
            Path(name) for name in sorted(files)
        ]
        assert summary.no_person == [tmp_path / engine / "generated" / "blank.npy"]
    assert on_ray.failed == local.failed and list(on_ray.failed) == [corpus / "bad.mp4"]  # same reason too


def test_a_worker_killed_mid_clip_is_retried(ray_session, tmp_path, video_frames):
    for index in range(2):
        write_frames(tmp_path / "corpus" / f"clip{index}", video_frames[4 * index : 4 * index + 4])
    local = extract_corpus([tmp_path / "corpus"], tmp_path / "local")
    ray_session.unlink()  # armed: the next clip's worker SIGKILLs itself on its second frame

    summary = extract_corpus([tmp_path / "corpus"], tmp_path / "ray", engine=RayOptions(max_retries=1))

    assert ray_session.exists()  # a worker did die mid-clip
    assert summary.ok and len(summary.extracted) == 2 and local.ok
    assert output_files(tmp_path / "ray") == output_files(tmp_path / "local")  # nothing half-written either


def test_a_clip_whose_retries_are_used_up_is_reported_and_redone_by_a_rerun(ray_session, tmp_path):
    for index in range(2):
        write_frames(tmp_path / "corpus" / f"clip{index}", blank_frames(3))
    output = tmp_path / "poses"
    ray_session.unlink()

    summary = extract_corpus([tmp_path / "corpus"], output, engine=RayOptions(max_retries=0))

    ((killed, reason),) = summary.failed.items()
    assert "WorkerCrashedError" in reason and not summary.ok
    assert [p.name for p in output.rglob("*.npy")] == [
        p.name for p in summary.extracted
    ]  # only the other clip
    assert not list(output.rglob(".*.tmp"))
    report = json.loads((output / "extraction_report.json").read_text(encoding="utf-8"))
    assert report["failed"] == {str(killed): reason}

    rerun = extract_corpus([tmp_path / "corpus"], output, engine=RayOptions(max_retries=0))
    assert rerun.ok and rerun.skipped == summary.extracted
    assert rerun.extracted == [output / f"{killed.name}.npy"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFO")
def test_ray_cli_ctrl_c_keeps_finished_clips_and_a_rerun_on_a_cluster_does_only_the_rest(
    ray_session, tmp_path
):
    corpus, output = tmp_path / "corpus", tmp_path / "poses"
    write_frames(corpus / "a", blank_frames(2))
    # The other clip's second frame is a FIFO: its worker blocks there until the test writes to it, so the run is
    # certain to be interrupted with this clip in flight, however fast or busy the machine.
    gate = write_frames(corpus / "gate", blank_frames(1))
    os.mkfifo(gate / "frame2.jpg")
    ok, second_frame = cv2.imencode(".jpg", blank_frames(1)[0])
    command = [sys.executable, "-m", "dataset_builder.extract", str(corpus), "--output-dir", str(output)]
    stderr_file = tmp_path / "log.err"
    with open(tmp_path / "log.out", "w") as stdout, open(stderr_file, "w") as stderr:
        run = subprocess.Popen(
            [*command, "--engine", "ray", "--workers", "2"],
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            env=without_kill_hook(),
        )
    try:
        wait_for(lambda: (output / "a.npy").exists() or run.poll() is not None, 300, "the first clip")
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a shell does
        wait_for(lambda: "stopping the" in stderr_file.read_text() or run.poll() is not None, 120, "the stop")
        # Once the stop is asked, free the gated worker (if it got there) with a good image, its next progress report
        # due: the clip could now be finished and written, and is not only because the worker reads the stop flag.
        for serving in range(2):  # cv2.imread opens an image twice: for its format, then for its pixels
            fifo = open_for_writing(gate / "frame2.jpg", give_up=lambda: run.poll() is not None)
            if fifo is None:  # the run ended: the clip stopped before its second frame
                break
            if serving == 0:  # the worker is blocked here, its last report past: let the next fall due
                time.sleep(PROGRESS_EVERY_S + 0.1)
            assert ok and os.write(fifo, second_frame.tobytes()) == second_frame.size
            os.close(fifo)
            wait_until_no_other_reader(gate / "frame2.jpg")
        run.wait(timeout=120)
    finally:
        run.kill()
    stdout, stderr = (tmp_path / "log.out").read_text(), (tmp_path / "log.err").read_text()

    assert run.returncode == 130, stderr[-2000:]
    assert "INTERRUPTED: 1 clips not done" in stdout
    # The gate clip was stopped, not finished; no temp file either.
    assert sorted(p.name for p in output.iterdir()) == ["a.npy", "extraction_report.json"]
    assert "frame/s" in stderr and "/4 " in stderr  # progress counted in frames: 2 clips x 2

    (gate / "frame2.jpg").unlink()
    assert cv2.imwrite(str(gate / "frame2.jpg"), blank_frames(1)[0])
    finished_at = (output / "a.npy").stat().st_mtime_ns
    # The rerun joins a running cluster (the module's Ray, as `ray start --head` gives one) by its address; Ray
    # starts clusters with token authentication, which a driver given an address uses with RAY_AUTH_MODE=token.
    address = sys.modules["ray"].get_runtime_context().gcs_address
    rerun = subprocess.run(
        [*command, "--engine", "ray", "--address", address],
        env={**without_kill_hook(), "RAY_AUTH_MODE": "token"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "2 clips: 1 extracted, 1 already done (skipped), 0 failed" in rerun.stdout
    assert (output / "gate.npy").is_file() and (output / "a.npy").stat().st_mtime_ns == finished_at


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFO")
def test_a_node_lost_mid_clip_has_its_clip_rerun_on_another_node(tmp_path):
    require_extra("distributed", "ray")
    # The same clips twice; in the reference, the gate's second frame is a plain image.
    for corpus in ("corpus", "reference"):
        write_frames(tmp_path / corpus / "a", blank_frames(2))
        write_frames(tmp_path / corpus / "gate", blank_frames(1))
    assert cv2.imwrite(str(tmp_path / "reference" / "gate" / "frame2.jpg"), blank_frames(1)[0])
    os.mkfifo(tmp_path / "corpus" / "gate" / "frame2.jpg")
    extract_corpus([tmp_path / "reference"], tmp_path / "local")

    run = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("ray_lost_node.py")),
            str(tmp_path / "corpus"),
            str(tmp_path / "ray"),
        ],
        env=without_kill_hook(),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr[-3000:]
    # the summary's JSON line; the removed node's raylet may print its log lines after it
    summary = json.loads(next(line for line in reversed(run.stdout.splitlines()) if line.startswith("{")))
    assert summary == {"ok": True, "extracted": ["a.npy", "gate.npy"], "failed": {}}
    assert output_files(tmp_path / "ray") == output_files(
        tmp_path / "local"
    )  # bit for bit, no temp file left


def test_ray_engine_without_ray_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import ray raises ImportError
    with pytest.raises(SystemExit) as exit_info:
        main([str(VIDEO), "--output-dir", str(tmp_path / "poses"), "--engine", "ray"])
    assert exit_info.value.code == 2
    assert (
        f"--engine ray needs Ray, which is not installed: pip install '{DISTRIBUTED_EXTRA}'"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "poses").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--address", "auto"],
            "--address and --retries are for Ray (the cluster, its reruns): add --engine ray",
        ),
        (["--retries", "2"], "--address and --retries are for Ray"),
        (["--engine", "ray", "--address", "auto", "--workers", "2"], "the cluster at auto decides"),
        (["--engine", "ray", "--workers", "0"], "workers must be >= 1"),
        (["--engine", "ray", "--retries", "-1"], "retries must be >= 0"),
    ],
)
def test_bad_engine_options_are_clear_errors(options, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(VIDEO), "--output-dir", str(tmp_path), *options])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
