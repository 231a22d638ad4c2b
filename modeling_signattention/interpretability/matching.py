"""Which predicted glosses can be checked against gold spans: the hits of the WER alignment, and seen sentences.

Scoring maps only on exactly translated sentences leaves nothing to score where the model is mostly wrong (on the
sentence-disjoint SD test, 0 of 1,043 sentences are exact). A predicted gloss that the word-level alignment behind
WER (jiwer's Levenshtein alignment) matches to an identical reference gloss, a *hit*, is the gloss signed at that
reference position: its gold span is known even in a sentence with other errors.

A model can also translate a clip right by recognising a sentence it was trained on rather than reading each sign.
:func:`memorization` says how many clips of a split sign a sentence of the training split, so every score can be
split into seen and unseen sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import jiwer


def matched_glosses(prediction: Sequence[str], reference: Sequence[str]) -> list[tuple[int, int]]:
    """`(predicted index, reference index)` of every hit of the WER alignment of two gloss sequences."""
    if not prediction or not reference:
        return []
    alignment = jiwer.process_words(" ".join(reference), " ".join(prediction)).alignments[0]
    pairs = []
    for chunk in alignment:
        if chunk.type == "equal":
            length = chunk.ref_end_idx - chunk.ref_start_idx
            pairs.extend((chunk.hyp_start_idx + i, chunk.ref_start_idx + i) for i in range(length))
    return pairs


def normalise_sentence(sentence: str) -> str:
    """Glosses separated by single spaces: how two sentences are compared."""
    return " ".join(sentence.split())


def seen_sentences(train_sentences: Iterable[str], sentences: Sequence[str]) -> list[bool]:
    """Per sentence: does it occur, gloss for gloss, in the training sentences?"""
    known = {normalise_sentence(sentence) for sentence in train_sentences}
    return [normalise_sentence(sentence) in known for sentence in sentences]


def memorization(train_sentences: Sequence[str], sentences: Sequence[str]) -> dict[str, Any]:
    """How much of an evaluation split signs training sentences (read this before any other score).

    Returns ``seen_sentence_share`` (share of clips whose sentence occurs in training), ``num_clips``,
    ``num_seen_clips``, ``num_unseen_clips``, ``num_distinct_sentences`` and ``num_distinct_seen_sentences`` of the
    split, and ``num_distinct_train_sentences``.
    """
    if not sentences:
        raise ValueError("no evaluation sentences given: there is nothing to compare with training")
    seen = seen_sentences(train_sentences, sentences)
    distinct = {normalise_sentence(sentence) for sentence in sentences}
    distinct_seen = {normalise_sentence(s) for s, is_seen in zip(sentences, seen, strict=True) if is_seen}
    return {
        "seen_sentence_share": sum(seen) / len(seen),
        "num_clips": len(seen),
        "num_seen_clips": sum(seen),
        "num_unseen_clips": len(seen) - sum(seen),
        "num_distinct_sentences": len(distinct),
        "num_distinct_seen_sentences": len(distinct_seen),
        "num_distinct_train_sentences": len({normalise_sentence(s) for s in train_sentences}),
    }


__all__ = ["matched_glosses", "memorization", "normalise_sentence", "seen_sentences"]
