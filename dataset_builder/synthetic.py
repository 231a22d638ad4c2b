"""A synthetic GSL-like pose corpus: every clip of the real annotations, signed by seven virtual signers.

Why: the GSL videos cannot be shipped or downloaded here, yet training, evaluation and the attention
analysis need pose clips with the real gloss sequences, sentence lengths and signer splits. This module
renders them, deterministically, in MediaPipe Holistic's layout and coordinates, so that the same builder,
model and scripts run unchanged on real extracted poses.

How a clip is made (``SyntheticGSL.clip``):

* **Lexicon** (``Sign``): each gloss gets a citation form drawn from a generator seeded by a stable hash of
  ``(seed, gloss)``: a place (forehead, chin, chest, neutral space, ...), a curved wrist path with an
  optional repeated or circular movement, a start and end hand shape (finger flexions + spread), a start and
  end palm orientation, a citation duration of 15-35 frames at 30 fps (used by the ``gsl`` timing), and
  whether the other hand mirrors the dominant one, holds still as a base, or rests. Similar glosses can happen;
  identity dominates the motion.
* **Signers** (``Signer``, seeded by ``(seed, signer)``): body size, proportions (neck, head, torso, hips)
  and position in the frame, speed, movement amplitude, a small offset of sign locations and of hand
  shapes, hand size, sensor noise level and hand dropout rate. Their ranges are moderate on purpose: an unseen signer (signer3 in the ``si``
  test split) must still look like the training signers to a tiny model.
* **Clip** (seeded by ``(seed, clip id)``): hands at rest, a transition in, the signs joined by a few
  interpolated frames (co-articulation), a transition out and rest again; each repetition varies speed,
  easing and locations a little; the body sways and the head nods; Gaussian sensor noise; MediaPipe-like
  dropouts (a hand missing for 2-8 frames, and hands near the frame bottom at rest sometimes lost) are NaN
  for all 21 points of that hand.
* **Timing** (``dataset_builder.timing``): how long signs, the gaps between them and the rests last. ``gsl``, the
  default, is the original generator's, in whole frames (the same arrays as before timings existed);
  ``conversational`` draws durations in seconds from measured conversational signing and renders the motion at
  continuous times, a gloss's span holding the frames whose time falls inside it (``SyntheticClip.gloss_times``).
  ``python -m dataset_builder.synthetic --timing-stats`` measures both on generated clips (docs/timing.md).

Coordinates follow MediaPipe: x, y are fractions of an 848x480 frame (the GSL resolution), pose z is depth
in x units (negative = towards the camera), hand z is relative to the wrist. Face points (``full`` set
only) are a fixed ellipsoidal cloud that moves rigidly with the head: plausible and NaN-free, but *not* the
face-mesh topology, so they carry head pose only. The same clip id gives the same array in every config.

Recombination (``recombine_sentences``, ``recombined_clips``): the real corpus signs few sentences many times
(the ``sd`` training split: 238 sentences, ~34 clips each), so a model can recognise a sentence from its first
signs instead of reading each sign. Recombined clips are *new* sentences made only of training glosses, signed by
the training signers and rendered like every other clip (so their spans are exact), which the builder adds to the
training split (``--recombine N``).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dataset_builder.gsl import GSLClip, load_split, parse_clip_path
from dataset_builder.timing import (
    DEFAULT_TIMING,
    DGS_COVERAGE,
    DGS_GAP,
    DGS_MEASURED_ON,
    DGS_SIGN,
    DGS_SIGN_MEAN,
    TIMINGS,
    SigningTiming,
    TimingStatistics,
    signing_timing,
)
from modeling_signattention.holistic_video import GSL_FPS
from modeling_signattention.layouts import HOLISTIC

# The synthetic signer is drawn in MediaPipe Holistic's layout; its shoulders, the signer's left and right.
LEFT_SHOULDER, RIGHT_SHOULDER = HOLISTIC.shoulder_indices()

FPS = GSL_FPS  # rendered at GSL's frame rate
ASPECT = 848 / 480  # GSL frames: a y fraction is this many x fractions

# -- The body, in "body units": shoulder width = 1, origin between the shoulders, x to the image right (the
# signer's left), y down, z towards the camera negative. Signers scale and place it in the frame.
_POSE_STATIC = np.zeros((HOLISTIC.sizes["POSE_LANDMARKS"], 3))  # MediaPipe Pose point order
_POSE_STATIC[:11] = [
    [0.00, -0.62, -0.30],  # nose
    [0.05, -0.70, -0.26],  # left eye inner
    [0.09, -0.705, -0.25],  # left eye
    [0.13, -0.70, -0.23],  # left eye outer
    [-0.05, -0.70, -0.26],  # right eye inner
    [-0.09, -0.705, -0.25],  # right eye
    [-0.13, -0.70, -0.23],  # right eye outer
    [0.20, -0.66, -0.05],  # left ear
    [-0.20, -0.66, -0.05],  # right ear
    [0.055, -0.54, -0.25],  # mouth left
    [-0.055, -0.54, -0.25],  # mouth right
]
_POSE_STATIC[[LEFT_SHOULDER, RIGHT_SHOULDER]] = [[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]]
_POSE_STATIC[23:33] = [
    [0.30, 1.60, 0.00],  # left hip
    [-0.30, 1.60, 0.00],  # right hip
    [0.32, 2.60, 0.00],  # knees
    [-0.32, 2.60, 0.00],
    [0.33, 3.50, 0.10],  # ankles
    [-0.33, 3.50, 0.10],
    [0.33, 3.60, 0.15],  # heels
    [-0.33, 3.60, 0.15],
    [0.33, 3.65, -0.10],  # foot index
    [-0.33, 3.65, -0.10],
]
_HEAD = slice(0, 11)
_HEAD_CENTER = np.array([0.0, -0.6, -0.1])
_UPPER_ARM, _FOREARM = 0.75, 0.65

# -- The hand state of a frame, per hand: wrist position (3, body units), flexion of thumb..pinky (5, 0 =
# straight, 1 = curled), spread (1), roll / yaw / pitch of the palm (3, radians). A clip is a (T, 24) array:
# dominant (right) hand then left hand; both are rendered to landmarks in one vectorized pass.
_POS, _FLEX, _SPREAD, _ANGLES = slice(0, 3), slice(3, 8), 8, slice(9, 12)
_HAND_DIMS = 12
_RIGHT, _LEFT = slice(0, _HAND_DIMS), slice(_HAND_DIMS, 2 * _HAND_DIMS)
_MIRROR = np.array([-1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, 1.0])  # right-hand state -> mirrored left-hand state

# Rest: wrists low in front of the belly, fingers loosely curled and pointing down.
_REST_RIGHT = np.array([-0.22, 1.25, -0.35, 0.4, 0.35, 0.35, 0.4, 0.45, 0.2, 2.8, 0.9, 0.0])
_REST = np.concatenate([_REST_RIGHT, _REST_RIGHT * _MIRROR])

# Canonical right hand, palm to the camera, fingers up, wrist at 0, length (wrist -> middle tip) 1.
_FINGER_BASE = np.array(
    [[0.12, -0.10, -0.02], [0.10, -0.42, 0], [0.03, -0.45, 0], [-0.04, -0.43, 0], [-0.10, -0.38, 0]]
)
_SEGMENTS = np.array(
    [[0.16, 0.14, 0.12], [0.24, 0.14, 0.10], [0.27, 0.16, 0.10], [0.25, 0.15, 0.10], [0.19, 0.11, 0.09]]
)
_AZIMUTH = np.array([0.9, 0.10, 0.0, -0.10, -0.22])  # finger direction, radians from "up" towards the thumb
_SPREAD_AZIMUTH = np.array([0.3, 0.15, 0.0, -0.15, -0.3])
_FLEX_ANGLES = np.array([[0.4, 0.5, 0.5], *[[1.4, 1.7, 1.2]] * 4])  # per joint at flexion 1
_THUMB_ACROSS = np.array([0.5, 1.0, 1.5])  # a flexed thumb also swings across the palm

# Sign places (wrist, body units, dominant hand on the image left) and hand shapes (5 flexions, spread).
_PLACES = np.array(
    [
        [-0.15, -0.75, -0.35],  # forehead
        [-0.05, -0.55, -0.45],  # nose / mouth
        [-0.28, -0.55, -0.30],  # cheek
        [0.00, -0.35, -0.45],  # chin
        [-0.10, -0.10, -0.40],  # throat
        [0.00, 0.35, -0.35],  # chest centre
        [-0.32, 0.30, -0.30],  # chest, dominant side
        [0.30, 0.25, -0.30],  # chest, other side
        [-0.20, 0.50, -0.70],  # neutral space, forward
        [-0.75, 0.40, -0.40],  # beside the body
        [-0.10, 0.85, -0.45],  # low space
        [-0.55, -0.45, -0.40],  # beside the head
    ]
)
_HANDSHAPES = np.array(
    [
        [0.3, 1, 1, 1, 1, 0.0],  # A (fist)
        [0.7, 0, 0, 0, 0, 0.0],  # B (flat)
        [0.0, 0, 0, 0, 0, 1.0],  # 5 (spread)
        [0.8, 0, 1, 1, 1, 0.0],  # 1 (index)
        [0.8, 0, 0, 1, 1, 0.8],  # V
        [0.8, 0, 0, 0, 1, 0.7],  # W
        [0.0, 1, 1, 1, 0, 0.6],  # Y
        [0.0, 0, 1, 1, 1, 0.5],  # L
        [0.4, 0.45, 0.45, 0.45, 0.45, 0.2],  # C
        [0.7, 0.75, 0.75, 0.75, 0.75, 0.0],  # O
        [0.8, 1, 1, 1, 0, 0.0],  # I (pinky)
        [0.6, 0.7, 0, 0, 0, 0.6],  # F
        [0.0, 0, 0, 1, 1, 0.6],  # 3
        [0.3, 0.5, 0.5, 0.5, 0.5, 1.0],  # claw
        [0.8, 0, 0, 0, 0, 0.0],  # B, thumb in
        [0.2, 0.3, 1, 1, 1, 0.0],  # X-ish (bent index)
    ]
)
_ROLLS = np.array([0.0, 0.5, -0.5, 1.2, -1.2, 2.4])
_YAWS = np.array([0.0, 1.3, 2.8, -0.8])
_PITCHES = np.array([0.0, 0.9, -0.5])


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from ``parts`` that is the same in every process (unlike ``hash()`` of a str)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(stable_seed(*parts))


def _smoothstep(u: np.ndarray) -> np.ndarray:
    return u * u * (3 - 2 * u)


def _face_cloud(num: int = 468) -> np.ndarray:
    """``num`` points spread over the front half of an ellipsoid around the head centre, body units."""
    i = np.arange(num) + 0.5
    z = -i / num  # front hemisphere only: towards the camera
    r = np.sqrt(1 - z**2)
    theta = np.pi * (1 + 5**0.5) * i
    return _HEAD_CENTER + np.stack([0.2 * r * np.cos(theta), 0.27 * r * np.sin(theta), 0.15 * z], axis=1)


_FACE = _face_cloud()


@dataclass(frozen=True)
class Sign:
    """The citation form of one gloss, in body units, for the dominant hand (and the other one)."""

    duration: int  # frames at 30 fps for a signer of speed 1
    place: np.ndarray  # (3,) centre of the sign: amplitude scales the movement around it
    path: np.ndarray  # (3, 3) quadratic Bezier control points of the wrist
    oscillation: np.ndarray  # (2, 3) sine / cosine amplitudes of a repeated or circular movement
    cycles: float  # repetitions of the oscillation over the sign
    shapes: np.ndarray  # (2, 6) hand shape at start and end (5 flexions, spread)
    angles: np.ndarray  # (2, 3) palm roll / yaw / pitch at start and end
    other_hand: str  # "rest", "mirror" (two-handed symmetric) or "base" (held still, with its own state)
    base: np.ndarray  # (12,) the left-hand state of a "base" sign


@dataclass(frozen=True)
class Signer:
    """What makes one virtual signer look different from another: moderate on purpose."""

    scale: float  # shoulder width as a fraction of the frame width
    center: np.ndarray  # (2,) mid-shoulder point, frame fractions
    skeleton: (
        np.ndarray
    )  # (33, 3) resting body, body units: neck length, head size, torso and hip proportions
    face: np.ndarray  # (468, 3) face cloud around this signer's head
    speed: float  # > 1 signs faster (shorter signs and transitions)
    amplitude: float  # movement size around each sign's place
    bias: np.ndarray  # (3,) habitual offset of sign places, body units
    shape_bias: np.ndarray  # (6,) habitual offset of hand shapes
    hand_size: float  # wrist -> middle fingertip, body units
    transition: int  # frames between two signs at speed 1
    noise: float  # landmark jitter, frame fractions
    dropout_rate: float  # hand dropout events per frame


@dataclass(frozen=True)
class SyntheticClip:
    pose: np.ndarray  # (T, K, 3) float32, NaN = not detected
    gloss_spans: np.ndarray  # (G, 2) int32 [start, end) frames of each gloss: those inside its gloss_times
    fps: float
    gloss_times: np.ndarray  # (G, 2) float64 [start, end) seconds of each gloss, as the timing drew them


def make_sign(gloss: str, seed: int = 0) -> Sign:
    """The citation form of ``gloss``; a function of ``(seed, gloss)`` only."""
    rng = _rng(seed, "gloss", gloss)
    place = _PLACES[rng.integers(len(_PLACES))] + rng.normal(0, 0.08, 3)
    if rng.random() < 0.15:  # a held sign: tiny path, the repeated movement carries it
        direction, length = rng.normal(size=3), rng.uniform(0.03, 0.08)
        oscillating = True
    else:
        direction, length = rng.normal(size=3) * [1, 1, 0.5], rng.uniform(0.15, 0.6)
        oscillating = rng.random() < 0.35
    displacement = direction / np.linalg.norm(direction) * length
    bend = rng.normal(0, 0.12, 3)
    path = np.stack([place - displacement / 2, place + bend, place + displacement / 2])
    oscillation = np.zeros((2, 3))
    cycles = 0.0
    if oscillating:
        axis = rng.normal(size=3)
        oscillation[0] = axis / np.linalg.norm(axis) * rng.uniform(0.06, 0.15)
        if rng.random() < 0.4:  # circular: a second, perpendicular component
            ortho = np.cross(oscillation[0], rng.normal(size=3))
            oscillation[1] = ortho / np.linalg.norm(ortho) * np.linalg.norm(oscillation[0])
        cycles = rng.uniform(1.5, 3.0)
    start_shape = _HANDSHAPES[rng.integers(len(_HANDSHAPES))]
    end_shape = _HANDSHAPES[rng.integers(len(_HANDSHAPES))] if rng.random() < 0.35 else start_shape
    shapes = np.clip(np.stack([start_shape, end_shape]) + rng.normal(0, 0.07, (2, 6)), 0, 1)
    angles = np.array([rng.choice(_ROLLS), rng.choice(_YAWS), rng.choice(_PITCHES)]) + rng.normal(0, 0.15, 3)
    angles = np.stack([angles, angles])
    if rng.random() < 0.3:  # a twist of the wrist
        angles[1, 0] += rng.choice([-1, 1]) * rng.uniform(0.6, 1.4)
    other_hand = str(rng.choice(["rest", "mirror", "base"], p=[0.6, 0.25, 0.15]))
    base = (
        np.concatenate(
            [
                [-0.15, 0.45, -0.45] + rng.normal(0, 0.08, 3),
                _HANDSHAPES[rng.integers(len(_HANDSHAPES))],
                [rng.choice(_ROLLS), rng.choice(_YAWS), 0.0],
            ]
        )
        * _MIRROR
    )  # drawn as a right hand in front of its side of the chest, stored as its mirror image (the left hand)
    duration = int(rng.integers(15, 36))
    return Sign(duration, place, path, oscillation, cycles, shapes, angles, other_hand, base)


def make_signer(name: str, seed: int = 0) -> Signer:
    """The virtual signer ``name`` (e.g. ``signer3``); a function of ``(seed, name)`` only."""
    rng = _rng(seed, "signer", name)
    head = _HEAD_CENTER + [0.0, rng.uniform(-0.05, 0.05), 0.0]  # neck length
    head_size = rng.uniform(0.92, 1.08)
    skeleton = _POSE_STATIC.copy()
    skeleton[_HEAD] = head + (skeleton[_HEAD] - _HEAD_CENTER) * head_size
    skeleton[23:] *= [rng.uniform(0.9, 1.1), rng.uniform(0.93, 1.07), 1.0]  # hip width, torso length
    return Signer(
        scale=rng.uniform(0.19, 0.22),
        center=np.array([rng.uniform(0.48, 0.52), rng.uniform(0.435, 0.465)]),
        skeleton=skeleton,
        face=head + (_FACE - _HEAD_CENTER) * head_size,
        speed=rng.uniform(0.85, 1.15),
        amplitude=rng.uniform(0.9, 1.1),
        bias=rng.normal(0, 0.03, 3),
        shape_bias=rng.normal(0, 0.04, 6),
        hand_size=rng.uniform(0.44, 0.50),
        transition=int(rng.integers(4, 8)),
        noise=rng.uniform(0.0015, 0.003),
        dropout_rate=rng.uniform(0.004, 0.01),
    )


def _sign_states(sign: Sign, signer: Signer, phases: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The (len(phases), 24) hand states of one performance of ``sign`` at ``phases`` (0 = its start, 1 = its
    end): the signer's size and habits, plus the small differences between two repetitions (location, easing)."""
    u = phases[:, None]
    eased = u - np.clip(rng.normal(0.5, 0.15), 0.0, 0.9) * np.sin(2 * np.pi * u) / (2 * np.pi)
    p0, p1, p2 = sign.path
    wrist = (1 - eased) ** 2 * p0 + 2 * (1 - eased) * eased * p1 + eased**2 * p2
    phase = 2 * np.pi * sign.cycles * u
    wrist = wrist + np.sin(phase) * sign.oscillation[0] + (1 - np.cos(phase)) * sign.oscillation[1]
    wrist = sign.place + signer.amplitude * (wrist - sign.place) + signer.bias + rng.normal(0, 0.03, 3)
    blend = _smoothstep(u)
    shape = np.clip((1 - blend) * sign.shapes[0] + blend * sign.shapes[1] + signer.shape_bias, 0, 1)
    angles = (1 - blend) * sign.angles[0] + blend * sign.angles[1]
    right = np.concatenate([wrist, shape, angles], axis=1)
    if sign.other_hand == "mirror":
        left = right * _MIRROR
    elif sign.other_hand == "base":
        left = np.broadcast_to(
            sign.base + np.concatenate([signer.bias * [-1, 1, 1], np.zeros(9)]), right.shape
        )
    else:
        left = np.broadcast_to(_REST[_LEFT], right.shape)
    return np.concatenate([right, left], axis=1)


def _transition(a: np.ndarray, b: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """States easing from state ``a`` (fraction 0) to state ``b`` (fraction 1) at ``fractions``: co-articulation."""
    alpha = _smoothstep(fractions)[:, None]
    return (1 - alpha) * a + alpha * b


def _between(n: int) -> np.ndarray:
    """The fractions of ``n`` frames evenly between two states, both excluded (whole-frame timing)."""
    return np.arange(1, n + 1) / (n + 1)


def _rotations(angles: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotation matrices Rz(roll) @ Ry(yaw) @ Rx(pitch) from (T, 3) angles."""
    (cr, cy, cp), (sr, sy, sp) = np.cos(angles).T, np.sin(angles).T
    one, zero = np.ones_like(cr), np.zeros_like(cr)
    rz = np.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rx = np.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).reshape(-1, 3, 3)
    return rz @ ry @ rx


def _hand_points(states: np.ndarray, hand_size: float) -> np.ndarray:
    """(T, 2, 21, 3) landmarks of both hands in body units from (T, 24) states, MediaPipe point order."""
    states = states.reshape(-1, _HAND_DIMS)  # rows: frame 0 right, frame 0 left, frame 1 right, ...
    flex, spread = states[:, _FLEX], states[:, _SPREAD, None]
    bend = np.cumsum(flex[:, :, None] * _FLEX_ANGLES, axis=2)  # (N, 5, 3) joint angles towards the palm
    azimuth = np.broadcast_to((_AZIMUTH + _SPREAD_AZIMUTH * spread)[:, :, None], bend.shape).copy()
    azimuth[:, 0] -= flex[:, 0, None] * _THUMB_ACROSS
    cos_bend = np.cos(bend)
    direction = np.stack([np.sin(azimuth) * cos_bend, -np.cos(azimuth) * cos_bend, -np.sin(bend)], axis=-1)
    joints = _FINGER_BASE[:, None] + np.cumsum(_SEGMENTS[..., None] * direction, axis=2)  # (N, 5, 3, 3)
    local = np.zeros((len(states), 21, 3))
    local[:, 1::4] = _FINGER_BASE  # thumb CMC and the four finger knuckles (MCP)
    for joint in range(3):
        local[:, 2 + joint :: 4] = joints[:, :, joint]
    local[1::2, :, 0] *= -1  # the left hand is the mirror image of the right one
    points = local @ _rotations(states[:, _ANGLES]).transpose(0, 2, 1) * hand_size + states[:, None, _POS]
    return points.reshape(-1, 2, 21, 3)


def _elbows(shoulder: np.ndarray, wrist: np.ndarray, outward: float) -> np.ndarray:
    """(T, 3) elbow positions of a two-segment arm reaching ``wrist``, bent down and away from the body."""
    reach = wrist - shoulder
    dist = np.clip(np.linalg.norm(reach, axis=1, keepdims=True), 0.15, _UPPER_ARM + _FOREARM - 1e-3)
    along = reach / dist
    a = (_UPPER_ARM**2 - _FOREARM**2 + dist**2) / (2 * dist)
    h = np.sqrt(np.clip(_UPPER_ARM**2 - a**2, 0, None))
    prefer = np.array([outward, 1.0, 0.3]) / np.linalg.norm([outward, 1.0, 0.3])
    normal = prefer - (along @ prefer)[:, None] * along
    normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
    return shoulder + a * along + h * normal


class SyntheticGSL:
    """Deterministic renderer of synthetic GSL clips: ``SyntheticGSL(seed).clip(clip_id, glosses)``.

    Lexicon entries and signers are cached and each clip is rendered in a few whole-array numpy passes
    (1-2 ms a clip); everything is a function of ``seed``, ``timing`` and the clip id, never of call order.
    ``timing`` (a preset name of ``dataset_builder.timing.TIMINGS`` or a ``SigningTiming``) sets how long signs
    and the gaps between them last.
    """

    def __init__(
        self, seed: int = 0, landmark_set: str = "body_hands", timing: str | SigningTiming = DEFAULT_TIMING
    ):
        self.seed = seed
        self.components = HOLISTIC.landmark_set(landmark_set)
        self.timing = signing_timing(timing)
        self._slices = HOLISTIC.component_slices(self.components)
        self._signs: dict[str, Sign] = {}
        self._signers: dict[str, Signer] = {}

    def sign(self, gloss: str) -> Sign:
        if gloss not in self._signs:
            self._signs[gloss] = make_sign(gloss, self.seed)
        return self._signs[gloss]

    def signer(self, name: str) -> Signer:
        if name not in self._signers:
            self._signers[name] = make_signer(name, self.seed)
        return self._signers[name]

    def clip(self, clip_id: str, glosses: Sequence[str]) -> SyntheticClip:
        """The pose clip of ``glosses`` signed by the signer named in ``clip_id`` (a GSL split path)."""
        if not glosses:
            raise ValueError(f"clip {clip_id!r}: no glosses to sign")
        _, signer_name, _ = parse_clip_path(clip_id)
        signer = self.signer(signer_name)
        rng = _rng(self.seed, "clip", clip_id)
        tempo = rng.uniform(0.93, 1.07)  # repetitions differ in tempo (used by the whole-frame timing)
        rest = _REST + np.concatenate(
            [rng.normal(0, 0.03, 3), np.zeros(9), rng.normal(0, 0.03, 3), np.zeros(9)]
        )
        if self.timing.whole_frames:
            states, spans, resting = self._whole_frame_states(
                glosses, signer, signer.speed * tempo, rest, rng
            )
            times = spans / FPS
        else:
            states, times = self._sampled_states(glosses, signer, rest, rng)
            spans = np.ceil(times * FPS)  # the frames whose time falls inside each gloss's interval
            resting = (0, len(states))  # the hands leave rest at the first frame and reach it after the last
        pose = self._render(states, signer, rng, resting)
        return SyntheticClip(pose, spans.astype(np.int32), FPS, times)

    def _whole_frame_states(
        self, glosses: Sequence[str], signer: Signer, speed: float, rest: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """The original generator's timing (``gsl``): (T, 24) hand states, the (G, 2) frame spans and the resting
        frames. Hands at rest, a transition in, each sign its citation duration at ``speed`` joined to the next by
        the signer's transition, a transition out and rest again, all in whole frames."""
        segments = [np.repeat(rest[None], rng.integers(4, 13), axis=0)]
        spans, frame, previous = [], len(segments[0]), rest
        for i, gloss in enumerate(glosses):
            sign = self.sign(gloss)
            frames = max(8, round(sign.duration / speed * rng.uniform(0.95, 1.05)))
            states = _sign_states(sign, signer, np.linspace(0.0, 1.0, frames), rng)
            gap = rng.integers(8, 12) if i == 0 else signer.transition + rng.integers(-1, 2)
            segments += [_transition(previous, states[0], _between(max(2, round(gap / speed)))), states]
            frame += len(segments[-2])
            spans.append((frame, frame + len(states)))
            frame, previous = spans[-1][1], states[-1]
        segments += [_transition(previous, rest, _between(round(rng.integers(8, 12) / speed)))]
        segments += [np.repeat(rest[None], rng.integers(4, 13), axis=0)]
        states = np.concatenate(segments)
        return states, np.asarray(spans), (len(segments[0]), len(states) - len(segments[-1]))

    def _sampled_states(
        self, glosses: Sequence[str], signer: Signer, rest: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """A sampled timing (``dataset_builder.timing``): (T, 24) hand states at the frame times and each gloss's
        (G, 2) ``[start, end)`` seconds. The hands rise from rest over the first margin, each sign's motion runs
        over its interval, eases into the next one's start over the gap, and falls back to rest over the last
        margin; every frame shows the state at its own time ``f / fps``."""
        timing = self.timing
        starts, ends, now = [], [], rng.uniform(*timing.margin)
        for i in range(len(glosses)):
            if i:
                now += timing.gap.sample(rng)
            starts.append(now)
            now += max(timing.sign.sample(rng), 1 / FPS)  # at least one frame: no span is empty
            ends.append(now)
        clip_end = now + rng.uniform(*timing.margin)

        def frame_times(start: float, end: float) -> np.ndarray:
            """The times of the frames inside ``[start, end)``: consecutive intervals tile the clip's frames."""
            return np.arange(math.ceil(start * FPS), math.ceil(end * FPS)) / FPS

        segments, previous, left = [], rest, 0.0  # the state the hands leave, and when
        for gloss, start, end in zip(glosses, starts, ends, strict=True):
            inside = frame_times(start, end)
            phases = np.concatenate([[0.0, 1.0], (inside - start) / (end - start)])
            states = _sign_states(self.sign(gloss), signer, phases, rng)  # its start, its end, its frames
            moving = frame_times(left, start)
            segments += [_transition(previous, states[0], (moving - left) / (start - left)), states[2:]]
            previous, left = states[1], end
        moving = frame_times(left, clip_end)
        segments.append(_transition(previous, rest, (moving - left) / (clip_end - left)))
        return np.concatenate(segments), np.array([starts, ends]).T

    def _render(
        self, states: np.ndarray, signer: Signer, rng: np.random.Generator, resting: tuple[int, int]
    ) -> np.ndarray:
        """(T, K, 3) float32 landmarks of the chosen components from (T, 24) hand states; the hands rest
        before frame ``resting[0]`` and from frame ``resting[1]`` on."""
        num = len(states)
        t = np.arange(num) / FPS
        sway = np.zeros((num, 1, 3))
        sway[:, 0, 0] = 0.02 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi))
        head = sway.copy()
        head[:, 0, 1] += 0.02 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 2 * np.pi))

        hands = _hand_points(states, signer.hand_size)
        right, left = hands[:, 0] + sway, hands[:, 1] + sway
        body = signer.skeleton + sway
        body[:, _HEAD] += head - sway
        body[:, 13] = _elbows(body[:, LEFT_SHOULDER], left[:, 0], outward=1.0)
        body[:, 14] = _elbows(body[:, RIGHT_SHOULDER], right[:, 0], outward=-1.0)
        body[:, 15:23:2] = left[:, [0, 17, 5, 2]]  # wrist, pinky, index, thumb knuckles
        body[:, 16:23:2] = right[:, [0, 17, 5, 2]]
        parts = {"POSE_LANDMARKS": body, "LEFT_HAND_LANDMARKS": left, "RIGHT_HAND_LANDMARKS": right}
        if "FACE_LANDMARKS" in self.components:
            parts["FACE_LANDMARKS"] = signer.face + head

        points = np.concatenate([parts[name] for name in self.components], axis=1)
        for name, where in self._slices.items():
            if name.endswith("HAND_LANDMARKS"):  # MediaPipe hand depth is relative to the wrist
                points[:, where, 2] -= points[:, where.start, None, 2]
        # Frame coordinates plus sensor noise, on (T, K * 3) rows: numpy is slow on a trailing axis of 3.
        flat = points.reshape(num, -1)
        scale = np.tile(signer.scale * np.array([1.0, ASPECT, 1.0]), flat.shape[1] // 3)
        offset = np.tile([*signer.center, 0.0], flat.shape[1] // 3)
        noise = np.tile(signer.noise * np.array([1.0, 1.0, 2.0]), flat.shape[1] // 3).astype(np.float32)
        flat = (flat * scale + offset).astype(np.float32)
        flat += rng.standard_normal(flat.shape, dtype=np.float32) * noise
        points = flat.reshape(points.shape)
        for name in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"):
            if name in self._slices:
                hand = points[:, self._slices[name]]
                points[self._dropouts(hand, signer, rng, resting), self._slices[name]] = np.nan
        return points

    @staticmethod
    def _dropouts(
        hand: np.ndarray, signer: Signer, rng: np.random.Generator, resting: tuple[int, int]
    ) -> np.ndarray:
        """(T,) mask of the frames where MediaPipe would miss this hand: short random losses, a hand out of
        the frame, and (sometimes) a hand resting low before/after the sentence."""
        num = len(hand)
        lost = hand[:, 0, 1] > 1.0
        for start in rng.integers(0, num, rng.poisson(signer.dropout_rate * num)):
            lost[start : start + rng.integers(2, 9)] = True
        if rng.random() < 0.3:
            lost[: resting[0]] = True
        if rng.random() < 0.3:
            lost[resting[1] :] = True
        return lost


RECOMBINATION_METHODS = ("random", "bigram")
RECOMBINED_SCENARIO = "recombined"
ISOLATED_SCENARIO = "isolated"
_START, _END = "<s>", "</s>"


def recombination_record(clips: int, method: str, isolated_signs: int = 0) -> dict | None:
    """How a dataset's extra training clips were made, as its card and ``hub_scripts.reproduce`` record it: None for
    none, else ``{"clips": N, "method": ...}`` plus ``"isolated_signs": M`` when there are isolated signs."""
    if not clips and not isolated_signs:
        return None
    return {"clips": clips, "method": method} | ({"isolated_signs": isolated_signs} if isolated_signs else {})


def recombine_sentences(
    sentences: Sequence[Sequence[str]], count: int, method: str = "random", seed: int = 0
) -> list[tuple[str, ...]]:
    """``count`` gloss sequences made from the glosses of ``sentences`` (a training split), none equal to one of them.

    * ``random``: a length drawn from the lengths of ``sentences`` (their distribution, clip by clip), then glosses
      drawn uniformly from their vocabulary: no gloss order is learnable, rare glosses are seen as often as common
      ones;
    * ``bigram``: a walk through the bigram model of ``sentences`` (start and end included) no longer than their
      longest one: every pair of neighbouring glosses occurred in training, so the sentences stay corpus-like.

    Sentences of the training split itself are drawn again (they are not novel); the same novel sentence may come
    twice (it is then signed twice). Deterministic in ``seed``.
    """
    if method not in RECOMBINATION_METHODS:
        raise ValueError(
            f"Unknown recombination method {method!r}; valid methods: {', '.join(RECOMBINATION_METHODS)}"
        )
    if count < 0:
        raise ValueError(f"recombine needs a non-negative number of sentences, got {count}")
    sentences = [tuple(sentence) for sentence in sentences]
    if count and not any(sentences):
        raise ValueError("recombination needs training sentences with glosses; got none")
    seen = set(sentences)
    rng = _rng(seed, "recombine", method)
    draw = _random_sentence if method == "random" else _bigram_sentence
    model = _random_model(sentences) if method == "random" else _bigram_model(sentences)
    novel: list[tuple[str, ...]] = []
    for _ in range(
        100 * count
    ):  # a corpus whose every possible sentence is a training one would loop forever
        if len(novel) == count:
            break
        sentence = draw(model, rng)
        if sentence not in seen:
            novel.append(sentence)
    if len(novel) < count:
        raise ValueError(
            f"{method} recombination found only {len(novel)} of {count} novel sentences in {100 * count} draws: "
            f"the {len(seen)} training sentences leave too few others"
        )
    return novel


def _random_model(sentences: list[tuple[str, ...]]) -> tuple[np.ndarray, list[str]]:
    lengths = np.array([len(sentence) for sentence in sentences if sentence])
    return lengths, sorted({gloss for sentence in sentences for gloss in sentence})


def _random_sentence(model: tuple[np.ndarray, list[str]], rng: np.random.Generator) -> tuple[str, ...]:
    lengths, vocabulary = model
    length = int(lengths[rng.integers(len(lengths))])
    return tuple(vocabulary[i] for i in rng.integers(len(vocabulary), size=length))


def _bigram_model(sentences: list[tuple[str, ...]]) -> tuple[dict, int]:
    """``{gloss: (next glosses, probabilities)}`` from the bigram counts (sorted: deterministic), longest length."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sentence in sentences:
        for previous, gloss in zip((_START, *sentence), (*sentence, _END), strict=True):
            counts[previous][gloss] += 1
    model = {}
    for previous, following in counts.items():
        glosses = sorted(following)
        weights = np.array([following[gloss] for gloss in glosses], dtype=np.float64)
        model[previous] = (glosses, weights / weights.sum())
    return model, max(len(sentence) for sentence in sentences)


def _bigram_sentence(model: tuple[dict, int], rng: np.random.Generator) -> tuple[str, ...]:
    transitions, longest = model
    while True:  # walks longer than any training sentence are redrawn
        sentence, gloss = [], _START
        while len(sentence) <= longest:
            glosses, probabilities = transitions[gloss]
            gloss = glosses[rng.choice(len(glosses), p=probabilities)]
            if gloss == _END:
                return tuple(sentence)
            sentence.append(gloss)


def recombined_clips(
    train_clips: Sequence[GSLClip], count: int, method: str = "random", seed: int = 0
) -> list[GSLClip]:
    """``count`` clips of novel sentences (``recombine_sentences``) from ``train_clips``, each signed by one of
    their signers drawn at random; ids ``recombined/recombined_<signer>_rep1_sentences/sentences<NNNNN>`` (so the
    renderer finds the signer), no Greek text (text-mode training skips them)."""
    sentences = recombine_sentences([clip.glosses for clip in train_clips], count, method, seed)
    return _signed_by_training_signers(sentences, train_clips, RECOMBINED_SCENARIO, seed, method)


def isolated_sign_clips(train_clips: Sequence[GSLClip], count: int, seed: int = 0) -> list[GSLClip]:
    """``count`` clips that each sign ONE gloss of ``train_clips``: the sorted vocabulary in turn (every gloss
    ``count / V`` times, give or take one), each signed by one of their signers drawn at random; ids
    ``isolated/isolated_<signer>_rep1_sentences/sentences<NNNNN>``, no Greek text.

    Why: on sentences the model must learn at once what each sign looks like and where it is in the clip; isolated
    signs teach the first alone, in short clips (``hub_scripts.train --isolated-sign-epochs`` trains on them first).
    Measured on the sentence-disjoint SD split: see README, "Sentence-disjoint setting".
    """
    if count < 0:
        raise ValueError(f"isolated signs need a non-negative number of clips, got {count}")
    vocabulary = sorted({gloss for clip in train_clips for gloss in clip.glosses})
    if count and not vocabulary:
        raise ValueError("isolated signs need training clips with glosses; got none")
    signs = [(vocabulary[index % len(vocabulary)],) for index in range(count)]
    return _signed_by_training_signers(signs, train_clips, ISOLATED_SCENARIO, seed, "isolated")


def _signed_by_training_signers(
    sentences: Sequence[tuple[str, ...]], train_clips: Sequence[GSLClip], scenario: str, seed: int, tag: str
) -> list[GSLClip]:
    """One clip per sentence, signed by a signer of ``train_clips`` drawn at random (seeded by ``seed`` and ``tag``)."""
    signers = sorted({clip.signer for clip in train_clips})
    rng = _rng(seed, "recombine signers", tag)
    clips = []
    for index, glosses in enumerate(sentences):
        signer = signers[rng.integers(len(signers))]
        clip_id = f"{scenario}/{scenario}_{signer}_rep1_sentences/sentences{index:05d}"
        clips.append(GSLClip(clip_id, scenario, signer, 1, glosses, ""))
    return clips


def timing_statistics(timing: str | SigningTiming, clips: Sequence[GSLClip], seed: int = 0) -> dict[str, Any]:
    """The timing of ``clips`` rendered at ``timing``: ``TimingStatistics`` of the drawn times
    (``gloss_times``) and of the frame spans (``gloss_spans``, what the dataset stores), and the seconds it took."""
    generator = SyntheticGSL(seed, timing=timing)
    started = time.perf_counter()
    rendered = [generator.clip(clip.id, clip.glosses) for clip in clips]
    seconds = time.perf_counter() - started
    clip_seconds = [len(clip.pose) / clip.fps for clip in rendered]
    return {
        "drawn times": TimingStatistics.measure([clip.gloss_times for clip in rendered], clip_seconds),
        "frame spans": TimingStatistics.measure(
            [clip.gloss_spans / clip.fps for clip in rendered], clip_seconds
        ),
        "seconds": seconds,
    }


def _milliseconds(percentiles: Sequence[float], mean: float | None) -> str:
    shown = " / ".join(f"{value * 1000:.0f}" for value in percentiles)
    return f"{shown} ({'-' if mean is None else f'{mean * 1000:.0f}'})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataset_builder.synthetic",
        description="Measure the synthetic corpus's timing presets on generated clips (docs/timing.md).",
    )
    parser.add_argument("--timing-stats", action="store_true", required=True, help="print the timing table")
    parser.add_argument(
        "--timing", nargs="+", choices=TIMINGS, default=list(TIMINGS), help="presets to measure"
    )
    parser.add_argument(
        "--clips", type=int, default=400, help="clips spread evenly over the SI training split (default: 400)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train = load_split("si", "train")
    clips = train[:: max(1, len(train) // args.clips)][: args.clips]
    print(
        "| timing | measured on | clips | signs | sign duration p10 / median / p90 (mean), ms "
        "| gap p10 / median / p90 (mean), ms | coverage |\n|---|---|---|---|---|---|---|"
    )
    for name in args.timing:
        measured = timing_statistics(name, clips, args.seed)
        for what in ("drawn times", "frame spans"):
            stats = measured[what]
            print(
                f"| {name} | {what} | {stats.clips} | {stats.signs} "
                f"| {_milliseconds(stats.duration, stats.duration_mean)} | {_milliseconds(stats.gap, stats.gap_mean)} "
                f"| {stats.coverage:.1%} |"
            )
        print(f"  {name}: {measured['seconds'] / len(clips) * 1000:.1f} ms a clip", file=sys.stderr)
    sign = _milliseconds((DGS_SIGN.p10, DGS_SIGN.median, DGS_SIGN.p90), DGS_SIGN_MEAN)
    gap = _milliseconds((DGS_GAP.p10, DGS_GAP.median, DGS_GAP.p90), None)
    sentences, glosses = DGS_MEASURED_ON
    print(
        f"| DGS Corpus (target) | annotations | {sentences} | {glosses} | {sign} | {gap} | {DGS_COVERAGE:.0%} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
