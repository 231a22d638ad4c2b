"""``evaluate`` metric: diagonality, clustering and gold alignment of gloss-to-frame cross-attention.

Load it with ``evaluate.load("modeling_signattention/metrics/attention_alignment")`` (or the absolute path
:data:`modeling_signattention.metrics.ATTENTION_ALIGNMENT_PATH`). ``evaluate`` copies this file into its
module cache, so it imports the installed package absolutely; the computation and the definition of every
score are in :func:`modeling_signattention.interpretability.alignment.compute_attention_alignment`.
"""

import datasets
import evaluate

from modeling_signattention.interpretability.alignment import compute_attention_alignment

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
Turns the SignAttention paper's findings about the decoder's cross-attention into numbers: how diagonal the
gloss-to-frame alignment is (Spearman correlation of token position with the attention centroid, and share
of forward centroid moves), how much attention falls in contiguous clusters of frames rather than isolated
frames, and, given gold gloss spans, how often the attention peak / centroid lies in the right span. Every
score is also reported per sentence length, as the paper finds alignment fading in longer sentences.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of 2-D float arrays): per sample, a non-negative map (n_tokens, n_frames), predicted gloss
        tokens without BOS/EOS by real frames: cross-attention or any attribution map; each row is divided by
        its sum before scoring.
    references (list of lists of (start, end), optional): gold frame span per token, end exclusive. Omit
        them (or pass None for every sample) to skip the gold scores.
    window (int, optional): cluster window width in frames; default ceil(n_frames / n_tokens) per sample.
Returns:
    num_samples, num_tokens, diagonality, diagonality_num_samples, diagonality_num_excluded, monotonicity,
    monotonicity_num_pairs, cluster_score, cluster_fraction, cluster_num_tokens, cluster_num_excluded,
    (with references) gold_peak_accuracy, gold_peak_accuracy_1frame, gold_centroid_accuracy, gold_span_mass, and by_length: the same
    per number of tokens. Undefined scores are None, never 0.
Examples:
    >>> alignment = evaluate.load("modeling_signattention/metrics/attention_alignment")
    >>> alignment.compute(predictions=[[[1.0, 0.0], [0.0, 1.0]]])["diagonality"]
    1.0
"""


class AttentionAlignment(evaluate.Metric):
    """Thin ``evaluate`` wrapper around :func:`compute_attention_alignment`; gold spans are optional."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Sequence(datasets.Value("float64"))),
                    "references": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
                }
            ),
            reference_urls=["https://arxiv.org/abs/2410.14506"],
        )

    def add_batch(self, *, predictions=None, references=None, **kwargs) -> None:
        """Add a batch of attention matrices and (optionally) their gold spans.

        ``evaluate`` cannot store a missing column, so samples without spans are stored with null spans.
        """
        if references is None and predictions is not None:
            references = [None] * len(predictions)
        super().add_batch(predictions=predictions, references=references, **kwargs)

    def _compute(
        self,
        predictions: list[list[list[float]]],
        references: list[list[list[int]] | None],
        window: int | None = None,
    ) -> dict:
        spans = None if all(sample_spans is None for sample_spans in references) else references
        return compute_attention_alignment(predictions, spans, window=window)
