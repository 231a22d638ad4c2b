"""``evaluate`` metric: corpus WER of gloss sequences, optionally with BLEU-1..4 and chrF.

Load it with ``evaluate.load("modeling_signattention/metrics/gloss_wer")`` (or the absolute path
:data:`modeling_signattention.metrics.GLOSS_WER_PATH`). ``evaluate`` copies this file into its module cache,
so it imports the installed package absolutely; the computation is
:func:`modeling_signattention.metrics.recognition.compute_gloss_wer` and ``compute_text_scores``.
"""

import datasets
import evaluate

from modeling_signattention.metrics.recognition import compute_gloss_wer, compute_text_scores

_CITATION = """\
@article{dalbianco2024signattention,
  title={SignAttention: On the Interpretability of Transformer Models for Sign Language Translation},
  author={Dal Bianco, Pedro Alejandro and Stanchi, Oscar Agust{\\'\\i}n and Quiroga, Facundo Manuel and
          Ronchetti, Franco and Ferrante, Enzo},
  journal={arXiv preprint arXiv:2410.14506},
  year={2024}
}
"""

_DESCRIPTION = """\
Word error rate of predicted gloss sequences against the gold ones, at corpus level (total substitutions,
deletions and insertions over total reference glosses), computed with jiwer, with the edit counts. An empty
prediction counts all its reference glosses as deletions; an empty reference is an error. Optionally also
sacreBLEU's BLEU (4-gram), BLEU-1..3 and chrF (0-100 scale).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): predicted gloss sequences, glosses separated by whitespace (may be empty).
    references (list of str): gold gloss sequences (none may be empty).
    with_text_scores (bool): also return bleu (4-gram), bleu1..bleu3 and chrf. Default False.
    tokenize (str): sacreBLEU tokenizer for BLEU, "none" (whitespace, right for glosses; default) or "13a"
        (for spoken-language text).
Returns:
    wer, substitutions, deletions, insertions, hits, num_reference_words, num_sentences
    (+ bleu, bleu1, bleu2, bleu3, chrf with with_text_scores=True).
Examples:
    >>> gloss_wer = evaluate.load("modeling_signattention/metrics/gloss_wer")
    >>> gloss_wer.compute(predictions=["A X C D"], references=["A B C"])["wer"]
    0.6666666666666666
"""


class GlossWER(evaluate.Metric):
    """Thin ``evaluate`` wrapper around :func:`compute_gloss_wer` and :func:`compute_text_scores`."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            reference_urls=["https://arxiv.org/abs/2410.14506", "https://github.com/jitsi/jiwer"],
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str],
        with_text_scores: bool = False,
        tokenize: str = "none",
    ) -> dict[str, float | int]:
        scores = compute_gloss_wer(predictions, references)
        if with_text_scores:
            scores |= compute_text_scores(predictions, references, tokenize=tokenize)
        return scores
