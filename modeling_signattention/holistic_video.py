"""A video or a folder of frame images -> MediaPipe Holistic landmarks.

``(frames, 543, 3)`` float32 per clip, in Holistic order (``layouts.HOLISTIC``), NaN where a part was not detected.
The pipeline reads its video inputs here; ``dataset_builder.extract`` builds datasets with the same arrays (a
test checks them array for array). A
video that decodes fewer frames than its container announces is refused (:func:`frames_missing`): a cut sentence is
another sentence. OpenCV and MediaPipe are the optional 'extract' extra, imported only when a video is read (in a
try, so transformers' remote-code import check does not demand them of a model folder that is only given poses).
This file is saved with the model (the pipeline imports it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
# MediaPipe Holistic result fields in Holistic order (pose-format's order too), with their point counts.
HOLISTIC_RESULTS = (
    ("pose_landmarks", 33),
    ("face_landmarks", 468),
    ("left_hand_landmarks", 21),
    ("right_hand_landmarks", 21),
)
MEDIAPIPE_MISSING = (
    "Reading a video needs MediaPipe and OpenCV, the 'extract' extra: pip install 'signattention[extract]' "
    "(in an environment without this package: pip install 'mediapipe==0.10.21', which needs numpy<2). Or pass "
    "poses: a .pose file, a pose array or a pose_format.Pose"
)


def create_holistic() -> Any:
    """A MediaPipe Holistic graph (building one costs more than a short clip: keep it for the next)."""
    try:
        import mediapipe as mp
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    return mp.solutions.holistic.Holistic(model_complexity=1)


def video_fps(path: Path) -> float:
    """The frame rate a video file's container announces; 0 when it does not say."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return float(fps)


def read_holistic(path: Path, holistic: Any) -> np.ndarray:
    """``(frames, 543, 3)`` float32 MediaPipe Holistic landmarks of a video or frame folder, NaN where a part was not
    detected: the same arrays as ``dataset_builder.extract.extract_clip``."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    holistic.process(
        np.full((256, 256, 3), 255, dtype=np.uint8)
    )  # a blank frame: drop the previous clip's track
    frames = []
    frame_source, announced = open_frames(path, cv2)
    for frame in frame_source:
        results = holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        landmarks = np.full((sum(count for _, count in HOLISTIC_RESULTS), 3), np.nan, dtype=np.float32)
        start = 0
        for field, count in HOLISTIC_RESULTS:
            detected = getattr(results, field)
            if detected is not None:
                landmarks[start : start + count] = [(p.x, p.y, p.z) for p in detected.landmark[:count]]
            start += count
        frames.append(landmarks)
    if not frames:
        raise ValueError("no frame could be decoded (empty or corrupt video)")
    missing = frames_missing(len(frames), announced)
    if missing:
        raise ValueError(
            f"the video ends early: {len(frames)} of the {announced} frames its container announces could be "
            f"decoded ({missing} missing: a truncated or corrupt file); refused, as a cut sentence is another "
            "sentence (python -m dataset_builder.extract --accept-truncated keeps the frames that decode, if "
            "you mean it)"
        )
    return np.stack(frames)


def frames_missing(decoded: int, announced: int) -> int:
    """Frames a video lacks compared with its container's frame count, beyond the slack of containers that
    estimate it from duration x fps (a couple of frames, or 1 %); 0 when the count is unknown. The one rule: the
    pipeline and ``dataset_builder.extract`` refuse a video by it."""
    missing = announced - decoded
    return missing if announced > 0 and missing > max(2, announced // 100) else 0


def open_frames(path: Path, cv2: Any) -> tuple[Iterator[np.ndarray], int]:
    """BGR frames of a video file, or of the images of a folder in natural order (frame2 before frame10), read
    lazily, and how many frames the clip announces (the container's count; the images of a folder)."""
    if path.is_dir():
        images = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
            key=lambda p: [
                int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", p.name)
            ],
        )
        if not images:
            raise ValueError(f"frame folder contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return read_images(images, cv2), len(images)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError("OpenCV cannot open it as a video (not a video file, or corrupt)")
    return read_video(capture), max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))


def read_images(images: list[Path], cv2: Any) -> Iterator[np.ndarray]:
    for image in images:
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if frame is None:
            raise ValueError(f"unreadable image {image.name}")
        yield frame


def read_video(capture: Any) -> Iterator[np.ndarray]:
    """The BGR frames of an open ``cv2.VideoCapture``, read lazily; the capture is released at the end."""
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame
    finally:
        capture.release()
