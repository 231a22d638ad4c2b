"""Input checks shared by the metrics: bad input must fail loudly, never turn into a silent 0."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike


def require_samples(samples: Sequence[object], what: str) -> None:
    """Raise if there is nothing to score: an average over no samples is undefined, not 0."""
    if len(samples) == 0:
        raise ValueError(f"no {what} given: there is nothing to score")


def finite_matrix(array: ArrayLike, what: str, sample: int) -> np.ndarray:
    """Return ``array`` as a 2-D float64 matrix, naming the sample when it is not 2-D or holds NaN/inf."""
    matrix = np.asarray(array, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"sample {sample}: {what} must be 2-D, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError(f"sample {sample}: {what} contains NaN or infinite values")
    return matrix
