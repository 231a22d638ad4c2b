"""Maps that never look at the model, scored next to every attribution method on the same clips.

A gold score means something only against what a map gets without reading the model:

* ``uniform``: every frame alike. Its peak is a tie over all frames, which the scores count as a random pick, so
  its peak accuracy is the share of the clip the gold span covers; its deletion order is a random order.
* ``diagonal_prior``: gloss k of n peaks at the centre of the k-th n-th of the clip, as if glosses were signed
  back to back at one pace. The row is a triangle one n-th of the clip wide on each side of that centre, so most of
  its mass lies in the k-th n-th.

On synthetic GSL the diagonal prior already puts the peak inside the gold span for most glosses: a method that
scores below it has not found where the glosses are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _check_shape(num_glosses: int, num_frames: int) -> None:
    if num_glosses < 1 or num_frames < 1:
        raise ValueError(f"a map needs at least one gloss and one frame, got {num_glosses} x {num_frames}")


def uniform_map(num_glosses: int, num_frames: int) -> np.ndarray:
    """`(num_glosses, num_frames)`, every entry ``1 / num_frames``."""
    _check_shape(num_glosses, num_frames)
    return np.full((num_glosses, num_frames), 1.0 / num_frames)


def diagonal_prior_centres(num_glosses: int, num_frames: int) -> np.ndarray:
    """Frame coordinate of the centre of the k-th n-th of the clip (frame j covers ``[j, j + 1)``, centre j)."""
    _check_shape(num_glosses, num_frames)
    return (np.arange(num_glosses) + 0.5) * num_frames / num_glosses - 0.5


def diagonal_prior_map(num_glosses: int, num_frames: int) -> np.ndarray:
    """`(num_glosses, num_frames)`: row k a triangle peaking at the frame nearest the k-th n-th's centre.

    Half-width: one n-th of the clip, at least one frame, so the nearest frame always carries weight.
    """
    centres = diagonal_prior_centres(num_glosses, num_frames)
    half_width = max(num_frames / num_glosses, 1.0)
    distance = np.abs(np.arange(num_frames)[None, :] - centres[:, None])
    return np.clip(1.0 - distance / half_width, 0.0, None)


BASELINES: dict[str, Callable[[int, int], np.ndarray]] = {
    "uniform": uniform_map,
    "diagonal_prior": diagonal_prior_map,
}


def baseline_maps(name: str, shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """The maps of baseline ``name`` for clips of the given `(glosses, frames)` shapes."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; known: {list(BASELINES)}")
    return [BASELINES[name](glosses, frames) for glosses, frames in shapes]


__all__ = [
    "BASELINES",
    "baseline_maps",
    "diagonal_prior_centres",
    "diagonal_prior_map",
    "uniform_map",
]
