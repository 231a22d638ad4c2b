"""Recognition scores for predicted gloss sequences: word error rate and, for text, BLEU (1..4-grams) and chrF.

WER is the standard score of continuous sign language recognition (and the one the SignAttention paper,
arXiv:2410.14506, reports for its pose-to-gloss model); BLEU and chrF are the usual translation scores.
All scores are corpus-level: errors and n-gram counts are summed over sentences before dividing, so long
sentences weigh more, as in the literature.
"""

from __future__ import annotations

from collections.abc import Sequence

import jiwer
from sacrebleu.metrics import BLEU, CHRF

BLEU_ORDERS = (1, 2, 3, 4)
# sacreBLEU's tokenizer per output: glosses are whole signs split on whitespace only ("13a" would split ``ΕΓΩ(1)``
# into ``ΕΓΩ ( 1 )`` and reward a wrong gloss variant with partial n-gram matches); text gets sacreBLEU's default,
# so its BLEU is the one other translation papers report.
BLEU_TOKENIZERS = {"gloss": "none", "text": "13a"}


def bleu_key(order: int) -> str:
    """The score's name for BLEU up to ``order``-grams: ``bleu`` for 4-grams, sacreBLEU's and the literature's BLEU
    (and the Hub's), ``bleu1``..``bleu3`` for the lower orders sign language papers also give."""
    return "bleu" if order == max(BLEU_ORDERS) else f"bleu{order}"


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    """Reject inputs whose scores would be undefined or misaligned.

    An empty *prediction* is valid (every reference word is a deletion), but an empty *reference* is not:
    WER divides by the number of reference words, and a sentence with none has no defined error rate.
    """
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions for {len(references)} references")
    if len(references) == 0:
        raise ValueError("no sentences given: there is nothing to score")
    for index, (prediction, reference) in enumerate(zip(predictions, references, strict=True)):
        if not isinstance(prediction, str) or not isinstance(reference, str):
            raise TypeError(f"sentence {index}: predictions and references must be strings of glosses")
        if not reference.split():
            raise ValueError(f"sentence {index}: the reference is empty, so its error rate is undefined")


def compute_gloss_wer(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float | int]:
    """Corpus word error rate of whitespace-separated gloss sequences, with its edit counts.

    Args:
        predictions: one predicted gloss sequence per sentence, glosses separated by whitespace; may be
            empty (all of its reference glosses then count as deletions).
        references: the gold gloss sequences, same order; none may be empty.

    Returns:
        ``wer`` = (substitutions + deletions + insertions) / reference words, summed over the corpus
        (can exceed 1 when there are many insertions); ``substitutions``, ``deletions``, ``insertions``,
        ``hits``, ``num_reference_words`` and ``num_sentences``.
    """
    _check_pairs(predictions, references)
    alignment = jiwer.process_words(list(references), list(predictions))
    num_reference_words = alignment.hits + alignment.substitutions + alignment.deletions
    errors = alignment.substitutions + alignment.deletions + alignment.insertions
    return {
        "wer": errors / num_reference_words,
        "substitutions": alignment.substitutions,
        "deletions": alignment.deletions,
        "insertions": alignment.insertions,
        "hits": alignment.hits,
        "num_reference_words": num_reference_words,
        "num_sentences": len(references),
    }


def compute_text_scores(
    predictions: Sequence[str], references: Sequence[str], tokenize: str = BLEU_TOKENIZERS["gloss"]
) -> dict[str, float]:
    """Corpus BLEU (4-gram), BLEU-1..3 and chrF with sacreBLEU, on sacreBLEU's 0-100 scale.

    BLEU-n is the usual cumulative score (geometric mean of the 1..n-gram precisions times the brevity
    penalty), as reported in sign language translation papers.

    Args:
        predictions: one hypothesis per sentence (may be empty).
        references: one reference per sentence (none may be empty).
        tokenize: sacreBLEU tokenizer (``BLEU_TOKENIZERS``): by default whitespace only, right for glosses;
            ``BLEU_TOKENIZERS["text"]`` (sacreBLEU's default, ``"13a"``) for spoken-language text.

    Returns:
        ``bleu`` (BLEU-4), ``bleu1``, ``bleu2``, ``bleu3`` (``bleu_key``) and ``chrf``.
    """
    _check_pairs(predictions, references)
    hypotheses, reference_streams = list(predictions), [list(references)]
    scores = {
        bleu_key(order): BLEU(max_ngram_order=order, tokenize=tokenize)
        .corpus_score(hypotheses, reference_streams)
        .score
        for order in BLEU_ORDERS
    }
    scores["chrf"] = CHRF().corpus_score(hypotheses, reference_streams).score
    return scores
