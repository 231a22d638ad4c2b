"""A video or a folder of frame images -> MediaPipe Holistic landmarks: the project's one frame reader.

:func:`read_holistic` gives an :class:`ExtractedPose`: ``(frames, 543, 3)`` float32 landmarks in Holistic order
(``layouts.HOLISTIC``), NaN where a part was not detected, with their confidences, the clip's frame rate and size.
The pipeline reads its video inputs with it and ``dataset_builder.extract`` builds datasets with it, so a clip gives
the same arrays whichever reads it. A video that decodes fewer frames than its container announces is refused
(:func:`frames_missing`): a cut sentence is another sentence. OpenCV and MediaPipe are the optional 'extract' extra,
imported only when a video is read (in a function, so transformers' remote-code import check does not demand them
of a model folder that is only given poses). This file is saved with the model (the pipeline imports it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .layouts import HOLISTIC

# GSL, the corpus the model was built for, was recorded at 30 fps, and the synthetic corpus is rendered at that rate.
# A frame folder carries no frame rate (GSL ships its clips as frame folders): this one is assumed for it.
GSL_FPS = 30.0
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
NUM_HOLISTIC_POINTS = HOLISTIC.num_points()
# MediaPipe Holistic's result field of each component of the layout.
RESULT_FIELDS = {
    "POSE_LANDMARKS": "pose_landmarks",
    "FACE_LANDMARKS": "face_landmarks",
    "LEFT_HAND_LANDMARKS": "left_hand_landmarks",
    "RIGHT_HAND_LANDMARKS": "right_hand_landmarks",
}
_SLICES = HOLISTIC.component_slices()
# Confidence 0 means "not detected" (it is pose-format's mask), so a detected body point whose visibility
# underflows to 0 is stored with the smallest positive float instead.
_MIN_CONFIDENCE = np.finfo(np.float32).tiny
MEDIAPIPE_MISSING = (
    "Reading a video needs MediaPipe and OpenCV, the 'extract' extra: pip install 'signattention[extract]' "
    "(in an environment without this package: pip install 'mediapipe==0.10.21', which needs numpy<2). Or pass "
    "poses: a .pose file, a pose array or a pose_format.Pose"
)


@dataclass
class ExtractedPose:
    """Holistic landmarks of one clip, in MediaPipe's normalized image coordinates.

    ``landmarks`` is ``(T, 543, 3)`` float32: x, y as fractions of the width/height (slightly outside [0, 1]
    when a part leaves the frame), z relative depth as MediaPipe returns it; NaN where a part was not detected.
    ``confidence`` is ``(T, 543)`` float32: body visibility for the 33 pose points, 1 for detected face/hand
    points (MediaPipe scores those per part, not per point), and 0 exactly where ``landmarks`` is NaN.
    """

    landmarks: np.ndarray
    confidence: np.ndarray
    fps: float
    width: int
    height: int
    announced_frames: int = 0  # what the video container says it holds (0: unknown, or a frame folder)

    def __post_init__(self) -> None:
        expected = (len(self.landmarks), NUM_HOLISTIC_POINTS)
        if self.landmarks.shape != (*expected, 3) or self.confidence.shape != expected:
            raise ValueError(
                f"expected landmarks (T, {NUM_HOLISTIC_POINTS}, 3) and confidence (T, {NUM_HOLISTIC_POINTS}), "
                f"got {self.landmarks.shape} and {self.confidence.shape}"
            )

    @property
    def no_person(self) -> bool:
        """True when no body was detected in any frame: the clip is kept but should be looked at."""
        return bool(np.isnan(self.landmarks[:, _SLICES["POSE_LANDMARKS"]]).all())

    @property
    def missing_frames(self) -> int:
        """How many frames the video ended early by (0: complete), see :func:`frames_missing`."""
        return frames_missing(len(self.landmarks), self.announced_frames)


def import_cv2() -> Any:
    """OpenCV, or an ImportError saying which extra brings it."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    return cv2


def create_holistic() -> Any:
    """The Holistic configuration of every clip (video mode: landmarks are tracked across frames). Building one
    costs more than a short clip: keep it for the next (:func:`read_holistic` resets it)."""
    try:
        import mediapipe as mp
    except ImportError as error:
        raise ImportError(MEDIAPIPE_MISSING) from error
    return mp.solutions.holistic.Holistic(model_complexity=1)


def read_holistic(
    path: Path,
    holistic: Any,
    accept_truncated: bool = False,
    on_frame: Callable[[], None] | None = None,
) -> ExtractedPose:
    """Run Holistic on every frame of a video file or of a folder of frame images (sorted naturally by name).

    ``holistic`` (:func:`create_holistic`) is reset first (``Holistic.reset()``, about 4 frames' time), so a clip's
    output is the same whatever the instance saw before, bit for bit: that is what makes the files independent of
    worker count and engine. A blank frame is cheaper and drops the tracked landmarks, but MediaPipe's
    body-visibility smoothing survives it, so the body confidences would depend on the previous clip.

    Raises a ValueError (which the caller prefixes with the clip's name) for anything that cannot be read as frames,
    and for a video that ends before the frame count its container announces (truncated): a short clip is a
    different sentence, so it is refused unless ``accept_truncated`` (then ``missing_frames`` says by how much).
    ``on_frame`` is called after each frame (progress bars; it may raise to abort).
    """
    cv2 = import_cv2()
    frames, fps, announced = open_frames(Path(path))
    holistic.reset()
    landmarks, confidence, shape = [], [], None
    for index, frame in enumerate(frames):
        shape = shape or frame.shape
        if frame.shape != shape:  # width/height are stored once per clip
            raise ValueError(f"frame {index} has shape {frame.shape}, the first frame {shape}")
        frame_landmarks, frame_confidence = results_to_arrays(
            holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        )
        landmarks.append(frame_landmarks)
        confidence.append(frame_confidence)
        if on_frame is not None:
            on_frame()
    if not landmarks:
        raise ValueError("no frame could be decoded (empty or corrupt video)")
    missing = frames_missing(len(landmarks), announced)
    if missing and not accept_truncated:
        raise ValueError(
            f"the video ends early: {len(landmarks)} of the {announced} frames its container announces could be "
            f"decoded ({missing} missing: a truncated or corrupt file); refused, as a cut sentence is another "
            "sentence (python -m dataset_builder.extract --accept-truncated keeps the frames that decode, if "
            "you mean it)"
        )
    height, width = shape[:2]
    return ExtractedPose(
        np.stack(landmarks),
        np.stack(confidence),
        fps=fps,
        width=width,
        height=height,
        announced_frames=announced,
    )


def results_to_arrays(results: Any) -> tuple[np.ndarray, np.ndarray]:
    """One frame's Holistic results as ``(543, 3)`` landmarks (NaN = not detected) and ``(543,)`` confidences."""
    landmarks = np.full((NUM_HOLISTIC_POINTS, 3), np.nan, dtype=np.float32)
    confidence = np.zeros(NUM_HOLISTIC_POINTS, dtype=np.float32)
    for name, result_field in RESULT_FIELDS.items():
        detected = getattr(results, result_field)
        if detected is None:
            continue
        # [:n] because a Holistic with refine_face_landmarks=True adds 10 iris points after the 468.
        points = detected.landmark[: HOLISTIC.sizes[name]]
        landmarks[_SLICES[name]] = [(p.x, p.y, p.z) for p in points]
        confidence[_SLICES[name]] = [p.visibility for p in points] if name == "POSE_LANDMARKS" else 1.0
    np.maximum(confidence, _MIN_CONFIDENCE, out=confidence, where=~np.isnan(landmarks[:, 0]))
    return landmarks, confidence


def frames_missing(decoded: int, announced: int) -> int:
    """Frames a video lacks compared with its container's frame count, beyond the slack of containers that
    estimate it from duration x fps (a couple of frames, or 1 %); 0 when the count is unknown. The one rule by which
    a video is refused."""
    missing = announced - decoded
    return missing if announced > 0 and missing > max(2, announced // 100) else 0


def open_frames(path: Path) -> tuple[Iterator[np.ndarray], float, int]:
    """BGR frames of a video file, or of the images of a folder in natural order (frame2 before frame10), read
    lazily; the clip's frame rate (:data:`GSL_FPS` for a folder, or a video that does not say); and how many frames
    the clip announces (the container's count, 0 when unknown; the images of a folder)."""
    if path.is_dir():
        images = frame_images(path)
        if not images:
            raise ValueError(f"frame folder contains no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return read_images(images), GSL_FPS, len(images)
    if not path.is_file():
        raise ValueError("no such video file or frame folder")
    capture = open_video(path)
    return read_video(capture), video_fps(capture) or GSL_FPS, announced_frames(capture)


def frame_images(folder: Path) -> list[Path]:
    """The images of a frame folder in natural order: ``frame2.jpg`` before ``frame10.jpg``."""
    return sorted(
        (image for image in folder.iterdir() if image.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda image: [
            int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", image.name)
        ],
    )


def open_video(path: Path) -> Any:
    """An open ``cv2.VideoCapture`` of ``path`` (the caller releases it); a ValueError if OpenCV cannot open it."""
    capture = import_cv2().VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError("OpenCV cannot open it as a video (not a video file, or corrupt)")
    return capture


def video_fps(video: Path | Any) -> float:
    """The frame rate a video file (or an open ``cv2.VideoCapture``) announces; 0 when it does not say."""
    cv2 = import_cv2()
    if not isinstance(video, (str, Path)):
        return max(0.0, float(video.get(cv2.CAP_PROP_FPS)))
    capture = cv2.VideoCapture(str(video))
    try:
        return video_fps(capture)
    finally:
        capture.release()


def announced_frames(capture: Any) -> int:
    """The frame count an open ``cv2.VideoCapture``'s container announces; 0 when it does not say."""
    return max(0, int(capture.get(import_cv2().CAP_PROP_FRAME_COUNT)))


def read_images(images: list[Path]) -> Iterator[np.ndarray]:
    cv2 = import_cv2()
    for image in images:
        frame = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if frame is None:
            raise ValueError(f"{image.name}: unreadable image in the frame folder")
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
