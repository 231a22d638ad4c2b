"""Metrics for SignAttention: gloss WER and the paper's interpretability scores (arXiv:2410.14506).

The computations are plain functions (numpy or strings in, dicts out):

* :func:`compute_gloss_wer`, :func:`compute_text_scores` (``wer``): recognition / translation quality;
* :func:`compute_attention_alignment` (``alignment``): diagonality, clusters, gold alignment of the
  cross-attention, overall and per sentence length;
* :func:`compute_decoder_contributions` (``contribution``): video versus previous-token share per step.

The first two are also local ``evaluate`` modules, ``evaluate.load(GLOSS_WER_PATH)`` and
``evaluate.load(ATTENTION_ALIGNMENT_PATH)``, whose classes :class:`GlossWER` and :class:`AttentionAlignment`
are imported from here on first access only: ``evaluate`` pulls in ``datasets``, which takes seconds, and
model code importing e.g. ``contribution`` should not pay for it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from modeling_signattention.metrics.alignment import compute_attention_alignment
from modeling_signattention.metrics.contribution import compute_decoder_contributions
from modeling_signattention.metrics.wer import compute_gloss_wer, compute_text_scores

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
    "compute_attention_alignment",
    "compute_decoder_contributions",
    "compute_gloss_wer",
    "compute_text_scores",
]


def __getattr__(name: str) -> type:
    """Import the ``evaluate`` metric classes lazily (PEP 562)."""
    if name in _EVALUATE_CLASSES:
        return getattr(importlib.import_module(_EVALUATE_CLASSES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
