"""Recognition metrics for SignAttention, and the local ``evaluate`` modules.

* :func:`compute_gloss_wer`, :func:`compute_text_scores` (``recognition``): recognition / translation quality;
* ``evaluate.load(GLOSS_WER_PATH)`` (``gloss_wer/``) wraps them, ``evaluate.load(ATTENTION_ALIGNMENT_PATH)``
  (``attention_alignment/``) wraps the interpretability layer's alignment scores
  (``modeling_signattention.interpretability``). ``evaluate.load("wer")`` would need the Hub, so these ship locally.

Their classes :class:`GlossWER` and :class:`AttentionAlignment` are imported from here on first access only:
``evaluate`` pulls in ``datasets``, which takes seconds, and code importing the plain functions should not pay for it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from modeling_signattention.metrics.recognition import compute_gloss_wer, compute_text_scores

GLOSS_WER_PATH = str(Path(__file__).parent / "gloss_wer")
ATTENTION_ALIGNMENT_PATH = str(Path(__file__).parent / "attention_alignment")

_EVALUATE_CLASSES = {
    "GlossWER": "modeling_signattention.metrics.gloss_wer.gloss_wer",
    "AttentionAlignment": "modeling_signattention.metrics.attention_alignment.attention_alignment",
}

__all__ = [
    "ATTENTION_ALIGNMENT_PATH",
    "GLOSS_WER_PATH",
    "AttentionAlignment",
    "GlossWER",
    "compute_gloss_wer",
    "compute_text_scores",
]


def __getattr__(name: str) -> type:
    """Import the ``evaluate`` metric classes lazily (PEP 562)."""
    if name in _EVALUATE_CLASSES:
        return getattr(importlib.import_module(_EVALUATE_CLASSES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
