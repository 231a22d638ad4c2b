"""Metrics on hand-made inputs whose scores are known, plus their local ``evaluate`` modules loaded offline."""

from __future__ import annotations

from pathlib import Path

import jiwer
import numpy as np
import pytest
import sacrebleu

from modeling_signattention.interpretability import compute_attention_alignment, compute_decoder_contributions
from modeling_signattention.metrics import (
    ATTENTION_ALIGNMENT_PATH,
    GLOSS_WER_PATH,
    compute_gloss_wer,
    compute_text_scores,
)

METRICS_DIR = Path(__file__).resolve().parents[1] / "modeling_signattention" / "metrics"


def block_diagonal(n_tokens: int, frames_per_token: int) -> np.ndarray:
    """Token i attends uniformly to its own block of frames: the ideal diagonal, clustered alignment."""
    return np.kron(np.eye(n_tokens), np.full((1, frames_per_token), 1 / frames_per_token))


def uniform(n_tokens: int, n_frames: int) -> np.ndarray:
    return np.full((n_tokens, n_frames), 1 / n_frames)


# --- gloss WER and text scores ---------------------------------------------------------------------


def test_wer_matches_hand_count() -> None:
    # A B C -> A X C D: B substituted by X, D inserted: 2 errors over 3 reference glosses.
    scores = compute_gloss_wer(["A X C D"], ["A B C"])
    assert scores == {
        "wer": pytest.approx(2 / 3),
        "substitutions": 1,
        "deletions": 0,
        "insertions": 1,
        "hits": 2,
        "num_reference_words": 3,
        "num_sentences": 1,
    }


def test_wer_is_corpus_level_and_matches_jiwer() -> None:
    references = ["ΓΕΙΑ ΕΓΩ(1) ΜΠΟΡΩ ΒΟΗΘΩ", "ΑΠΟΤΕΛΕΣΜΑ ΤΙΠΟΤΑ", "A B C D E F"]
    predictions = ["ΓΕΙΑ ΕΓΩ(2) ΒΟΗΘΩ", "ΑΠΟΤΕΛΕΣΜΑ ΤΙΠΟΤΑ ΤΙΠΟΤΑ", "A C D E F G"]
    scores = compute_gloss_wer(predictions, references)
    assert scores["wer"] == pytest.approx(jiwer.wer(references, predictions))
    # Corpus level: (2 + 1 + 2) errors over 12 reference words, not the mean of the sentence WERs.
    assert scores["wer"] == pytest.approx(5 / 12)
    sentence_wers = [jiwer.wer(ref, hyp) for ref, hyp in zip(references, predictions, strict=True)]
    assert np.mean(sentence_wers) == pytest.approx(4 / 9)
    assert scores["num_reference_words"] == 12


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_prediction_is_all_deletions(empty: str) -> None:
    scores = compute_gloss_wer([empty, "D E"], ["A B C", "D E"])
    assert (scores["deletions"], scores["hits"], scores["insertions"]) == (3, 2, 0)
    assert scores["wer"] == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    ("predictions", "references", "message"),
    [
        (["A"], [" "], "sentence 0: the reference is empty"),
        (["A", "B"], ["A"], "2 predictions for 1 references"),
        ([], [], "no sentences"),
    ],
)
def test_wer_rejects_bad_input(predictions: list[str], references: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_gloss_wer(predictions, references)


def test_text_scores_hand_count_and_sacrebleu() -> None:
    # 3 of 4 unigrams match and the lengths are equal, so BLEU-1 = 75.
    scores = compute_text_scores(["A B C D"], ["A B X D"])
    assert scores["bleu1"] == pytest.approx(75.0)
    predictions, references = ["ΓΕΙΑ ΕΓΩ(1) ΜΠΟΡΩ ΒΟΗΘΩ", ""], ["ΓΕΙΑ ΕΓΩ(1) ΒΟΗΘΩ", "ΑΠΟΤΕΛΕΣΜΑ ΤΙΠΟΤΑ"]
    scores = compute_text_scores(predictions, references)
    assert scores["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(predictions, [references], tokenize="none").score
    )
    assert scores["chrf"] == pytest.approx(sacrebleu.corpus_chrf(predictions, [references]).score)
    assert scores["bleu1"] >= scores["bleu2"] >= scores["bleu3"] >= scores["bleu"]
    assert compute_text_scores(["A B C D"], ["A B C D"]) == pytest.approx(
        {"bleu1": 100, "bleu2": 100, "bleu3": 100, "bleu": 100, "chrf": 100}
    )


# --- attention alignment ---------------------------------------------------------------------------


def test_diagonal_and_reversed_attention() -> None:
    diagonal = compute_attention_alignment([block_diagonal(4, 3)])
    assert diagonal["diagonality"] == pytest.approx(1.0)
    assert diagonal["monotonicity"] == 1.0
    assert diagonal["cluster_score"] == pytest.approx(1.0)
    assert diagonal["cluster_fraction"] == 1.0

    reversed_ = compute_attention_alignment([block_diagonal(4, 3)[::-1]])
    assert reversed_["diagonality"] == pytest.approx(-1.0)
    assert reversed_["monotonicity"] == 0.0
    assert reversed_["monotonicity_num_pairs"] == 3


def test_diagonality_matches_scipy_spearman_with_ties() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    attention = rng.dirichlet(np.ones(20), size=6)
    attention[3] = attention[1]  # tied centroids
    centroids = attention @ np.arange(20)
    expected = stats.spearmanr(np.arange(6), centroids).statistic
    assert compute_attention_alignment([attention])["diagonality"] == pytest.approx(expected)


def test_uniform_attention_has_no_clusters_and_no_diagonal() -> None:
    scores = compute_attention_alignment([uniform(3, 12), uniform(5, 40)])
    assert scores["cluster_score"] == pytest.approx(0.0, abs=1e-12)
    assert scores["cluster_fraction"] == 0.0
    assert scores["diagonality"] == 0.0  # all centroids coincide: no temporal order
    assert scores["monotonicity"] == 0.0


def test_uniform_attention_is_not_clustered_even_with_a_half_video_window() -> None:
    # 2 tokens: the default window is half the video, which uniform attention fills to 50 %.
    scores = compute_attention_alignment([uniform(2, 10)])
    assert scores["cluster_fraction"] == 0.0


def test_contiguous_cluster_beats_isolated_frames() -> None:
    window = 4
    contiguous = np.zeros((1, 16))
    contiguous[0, 4:8] = 0.25
    isolated = np.zeros((1, 16))
    isolated[0, ::4] = 0.25  # the same mass on every 4th frame
    scores = {
        name: compute_attention_alignment([matrix], window=window)["cluster_score"]
        for name, matrix in {"contiguous": contiguous, "isolated": isolated}.items()
    }
    assert scores["contiguous"] == pytest.approx(1.0)
    assert scores["isolated"] == pytest.approx(0.0, abs=1e-12)


def test_gold_alignment_accuracy() -> None:
    attention = block_diagonal(4, 3)  # peaks at frames 0, 3, 6, 9; centroids 1, 4, 7, 10
    spans = [(0, 3), (3, 6), (6, 9), (0, 3)]  # the last token's true span misses its attention
    scores = compute_attention_alignment([attention], [spans])
    assert scores["gold_peak_accuracy"] == 0.75
    assert scores["gold_centroid_accuracy"] == 0.75
    assert scores["gold_span_mass"] == pytest.approx(0.75)
    # A centroid counts as inside when its nearest frame is: 1.4 is nearest frame 1, in [0, 2); 1.6 is not.
    near_edge = np.array([[0.0, 0.6, 0.4, 0.0], [0.0, 0.4, 0.6, 0.0]])
    edge = compute_attention_alignment([near_edge], [[(0, 2), (0, 2)]])
    assert edge["gold_centroid_accuracy"] == 0.5
    assert "gold_peak_accuracy" not in compute_attention_alignment([attention])


def test_scores_are_also_reported_per_sentence_length() -> None:
    long_reversed = block_diagonal(3, 2)[::-1]
    samples = [block_diagonal(2, 5), block_diagonal(3, 4), long_reversed]
    scores = compute_attention_alignment(samples)
    assert list(scores["by_length"]) == [2, 3]
    assert scores["by_length"][2]["num_samples"] == 1
    assert scores["by_length"][3]["num_samples"] == 2
    assert scores["by_length"][3]["num_tokens"] == 6
    assert scores["by_length"][3]["diagonality"] == pytest.approx(0.0)  # (1 + -1) / 2
    alone = compute_attention_alignment(samples[1:])
    assert scores["by_length"][3] == {key: value for key, value in alone.items() if key != "by_length"}
    assert scores["diagonality"] == pytest.approx(1 / 3)


def test_single_token_samples_are_excluded_and_counted_not_zero() -> None:
    scores = compute_attention_alignment([np.array([[0.2, 0.8]]), block_diagonal(2, 2)])
    assert scores["diagonality_num_excluded"] == 1
    assert scores["diagonality_num_samples"] == 1
    assert scores["diagonality"] == pytest.approx(1.0)
    assert scores["cluster_num_excluded"] == 1  # the default window covers the whole 1-token video
    only_single = compute_attention_alignment([np.array([[0.2, 0.8]])])
    assert only_single["diagonality"] is None
    assert only_single["monotonicity"] is None
    assert only_single["cluster_score"] is None


def test_any_non_negative_map_is_normalised_row_by_row() -> None:
    # An attribution map is scored like attention: only where each row's mass goes counts, not how much there is.
    scaled = block_diagonal(3, 2) * np.array([[0.5], [7.0], [1e-3]])
    assert compute_attention_alignment([scaled]) == compute_attention_alignment([block_diagonal(3, 2)])
    with pytest.raises(ValueError, match="sample 0: token 1 has no attention mass"):
        compute_attention_alignment([np.array([[1.0, 0.0], [0.0, 0.0]])])


def test_tied_peaks_count_as_a_random_pick_and_the_one_frame_tolerance() -> None:
    # Flat row over 10 frames, span of 3 frames: a random peak lands inside 3 times in 10.
    flat = compute_attention_alignment([uniform(1, 10)], [[(2, 5)]])
    assert flat["gold_peak_accuracy"] == pytest.approx(0.3)
    assert flat["gold_peak_accuracy_1frame"] == pytest.approx(0.5)  # frames 1..5
    # Peaks one frame before and one frame after their spans, and one two frames away.
    peaks = np.eye(8)[[1, 6, 0]]
    scores = compute_attention_alignment([peaks], [[(2, 4), (4, 6), (2, 5)]])
    assert scores["gold_peak_accuracy"] == 0.0
    assert scores["gold_peak_accuracy_1frame"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("attentions", "spans", "message"),
    [
        ([], None, "no attention matrices"),
        ([block_diagonal(2, 2), np.full((2, 4), np.nan)], None, "sample 1: attention contains NaN"),
        ([np.ones(4) / 4], None, "sample 0: attention must be 2-D"),
        ([-block_diagonal(2, 2)], None, "sample 0: attention has negative weights"),
        ([block_diagonal(2, 2)], [[(0, 2)]], "sample 0: 1 spans given for 2 tokens"),
        (
            [block_diagonal(2, 2)],
            [[(0, 2), (2, 5)]],
            r"sample 0: span \(2, 5\) of token 1 is empty or outside",
        ),
        ([block_diagonal(2, 2)], [[(0, 2), (2, 2)]], r"span \(2, 2\) of token 1 is empty"),
        ([block_diagonal(2, 2)], [[(0, 2), (2.0, 4.0)]], "integer frame indices"),
        ([block_diagonal(2, 2)] * 2, [[(0, 2), (2, 4)], None], "sample 1: spans missing"),
        ([block_diagonal(2, 2)] * 2, [[(0, 2), (2, 4)]], "spans for 1 samples but 2"),
    ],
)
def test_alignment_rejects_bad_input(attentions: list, spans: list | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_attention_alignment(attentions, spans)


# --- decoder contributions -------------------------------------------------------------------------


def test_contribution_on_constructed_blocks() -> None:
    self_block = np.array([[3.0, 4.0], [3.0, 4.0], [0.0, 0.0]])  # norms 5, 5, 0
    cross_block = np.array([[0.0, 0.0], [4.0, 3.0], [1.0, 1.0]])  # norms 0, 5, sqrt(2)
    scores = compute_decoder_contributions([self_block], [cross_block])
    assert scores["per_sample"][0]["norm_ratio"] == pytest.approx([0.0, 0.5, 1.0])
    assert scores["per_sample"][0]["self_minus_cross"] == pytest.approx([3.5, 0.0, -1.0])
    assert scores["norm_ratio"] == pytest.approx(0.5)
    assert scores["num_steps"] == 3


def test_contribution_curves_per_step_and_per_length() -> None:
    zeros, ones = np.zeros((1, 2)), np.ones((1, 2))
    # Sample A (2 steps): video only, then previous tokens only. Sample B (1 step): both equally.
    self_blocks = [np.vstack([zeros, ones]), ones]
    cross_blocks = [np.vstack([ones, zeros]), ones]
    scores = compute_decoder_contributions(self_blocks, cross_blocks)
    assert scores["by_step"]["norm_ratio"] == pytest.approx([0.75, 0.0])
    assert scores["by_step"]["self_minus_cross"] == pytest.approx([-0.5, 1.0])
    assert scores["by_step"]["num_samples"] == [2, 1]
    assert list(scores["by_length"]) == [1, 2]
    assert scores["by_length"][1] == {"norm_ratio": [0.5], "self_minus_cross": [0.0], "num_samples": 1}
    assert scores["by_length"][2]["norm_ratio"] == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize(
    ("self_blocks", "cross_blocks", "message"),
    [
        ([], [], "no decoder blocks"),
        ([np.ones((2, 3))], [], "1 self_blocks but 0 cross_blocks"),
        (
            [np.ones((2, 3)), np.ones((2, 3))],
            [np.ones((2, 3)), np.full((2, 3), np.nan)],
            "sample 1: cross_block",
        ),
        ([np.ones((2, 3))], [np.ones((3, 3))], "sample 0: self_block .* differ in shape"),
        ([np.zeros((2, 3))], [np.vstack([np.ones(3), np.zeros(3)])], "both blocks are zero at step 1"),
    ],
)
def test_contribution_rejects_bad_input(self_blocks: list, cross_blocks: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_decoder_contributions(self_blocks, cross_blocks)


# --- the local evaluate modules --------------------------------------------------------------------


@pytest.fixture(scope="module")
def offline_evaluate():
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_EVALUATE_OFFLINE"):
            patch.setenv(variable, "1")
        import evaluate

        yield evaluate


def test_exported_paths_are_the_module_folders() -> None:
    assert Path(GLOSS_WER_PATH) == METRICS_DIR / "gloss_wer"
    assert Path(ATTENTION_ALIGNMENT_PATH) == METRICS_DIR / "attention_alignment"


def test_gloss_wer_module_gives_the_function_numbers(offline_evaluate) -> None:
    metric = offline_evaluate.load(str(METRICS_DIR / "gloss_wer"), keep_in_memory=True)
    predictions, references = ["A X C D", ""], ["A B C", "D E"]
    assert metric.compute(predictions=predictions, references=references) == compute_gloss_wer(
        predictions, references
    )
    scores = metric.compute(predictions=predictions, references=references, with_text_scores=True)
    assert scores == compute_gloss_wer(predictions, references) | compute_text_scores(predictions, references)

    from modeling_signattention.metrics import GlossWER

    direct = GlossWER(keep_in_memory=True).compute(predictions=predictions, references=references)
    assert direct == compute_gloss_wer(predictions, references)


def test_attention_alignment_module_gives_the_function_numbers(offline_evaluate) -> None:
    metric = offline_evaluate.load(str(METRICS_DIR / "attention_alignment"), keep_in_memory=True)
    attentions = [block_diagonal(4, 3), block_diagonal(2, 5)[::-1], uniform(3, 7)]
    spans = [[(0, 3), (3, 6), (6, 9), (0, 3)], [(5, 10), (0, 5)], [(0, 2), (2, 4), (4, 7)]]
    assert metric.compute(predictions=attentions, references=spans) == compute_attention_alignment(
        attentions, spans
    )
    assert metric.compute(predictions=attentions, window=2) == compute_attention_alignment(
        attentions, window=2
    )
    with pytest.raises(ValueError, match="sample 1: attention contains NaN"):
        metric.compute(predictions=[attentions[0], np.full((2, 3), np.nan)])

    from modeling_signattention.metrics import AttentionAlignment

    assert AttentionAlignment(keep_in_memory=True).compute(
        predictions=attentions
    ) == compute_attention_alignment(attentions)
