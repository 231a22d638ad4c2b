"""Translations (``decoding.Translation``) to and from one ``.npz``, without pickles.

Each translation has matrices of its own shape. An object array would make ``np.savez`` pickle them, and a pickle
is code to whoever loads it; so every field is stored as one flat float array plus the shape of each piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .decoding import Translation

RAGGED_FIELDS = {  # field -> number of dimensions of one piece
    "cross_attention": 2,
    "encoder_attention": 2,
    "self_block": 2,
    "cross_block": 2,
    "token_ids": 1,
    "frame_indices": 1,
}


def save_translations(path: str | Path, translations: Sequence[Translation], **extra: np.ndarray) -> None:
    """Write every field of ``translations`` to one ``.npz`` (loadable with ``allow_pickle=False``).

    Field ``f`` becomes ``f_values`` (all pieces, flattened and concatenated) and ``f_shapes`` (one row per
    translation). ``extra`` adds per-translation arrays of plain dtypes (ids as ``str``, correctness flags, ...).
    """
    arrays: dict[str, np.ndarray] = {}
    for name, ndim in RAGGED_FIELDS.items():
        pieces = [np.asarray(getattr(translation, name)) for translation in translations]
        arrays[f"{name}_values"] = (
            np.concatenate([piece.ravel() for piece in pieces]) if pieces else np.zeros(0)
        )
        arrays[f"{name}_shapes"] = np.array([piece.shape for piece in pieces], dtype=np.int64).reshape(
            -1, ndim
        )
    for name, values in extra.items():
        values = np.asarray(values)
        if values.dtype == object:
            raise TypeError(f"extra array {name!r} has dtype object, which np.savez would pickle")
        arrays[name] = values
    np.savez_compressed(path, **arrays)


def load_translations(path: str | Path) -> dict[str, list[np.ndarray] | np.ndarray]:
    """Read a ``save_translations`` file: each ragged field as a list of arrays, each extra array as is."""
    with np.load(path, allow_pickle=False) as archive:
        loaded: dict[str, list[np.ndarray] | np.ndarray] = {}
        for name in RAGGED_FIELDS:
            values, shapes = archive[f"{name}_values"], archive[f"{name}_shapes"]
            ends = np.cumsum(shapes.prod(axis=1))
            pieces = np.split(values, ends[:-1]) if len(shapes) else []
            loaded[name] = [piece.reshape(tuple(shape)) for piece, shape in zip(pieces, shapes, strict=True)]
        for name in archive.files:
            if not name.endswith(("_values", "_shapes")):
                loaded[name] = archive[name]
    return loaded
