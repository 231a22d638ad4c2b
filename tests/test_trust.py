"""Scoring maps honestly: WER hits, seen/unseen sentences, time stamps and the leaderboard, on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_builder.timing import signing_timing
from modeling_signattention.interpretability.baselines import diagonal_prior_map, uniform_map
from modeling_signattention.interpretability.leaderboard import (
    best_method,
    gold_glosses,
    method_selection,
    score_with_subsets,
)
from modeling_signattention.interpretability.matching import matched_glosses, memorization, seen_sentences
from modeling_signattention.interpretability.results import (
    PICKED_ON_SCORED_CLIPS,
    MethodPick,
    RunScores,
    read_results,
)
from modeling_signattention.interpretability.schema import NO_DATA
from modeling_signattention.interpretability.timestamps import (
    map_to_spans,
    spans_to_seconds,
    timestamp_accuracy,
)


def test_hits_of_the_wer_alignment() -> None:
    # A B C D -> A X C D E: B substituted, E inserted; A, C, D are hits at their reference positions.
    assert matched_glosses(["A", "X", "C", "D", "E"], ["A", "B", "C", "D"]) == [(0, 0), (2, 2), (3, 3)]
    # A deletion shifts the positions: predicted gloss 0 is reference gloss 1.
    assert matched_glosses(["B", "C"], ["A", "B", "C"]) == [(0, 1), (1, 2)]
    assert matched_glosses([], ["A"]) == []


def test_seen_and_unseen_counts_on_a_constructed_corpus() -> None:
    train = ["A B", "C D", "A B", "E F G"]
    evaluation = ["A B", "A  B", "D C", "E F", "C D"]  # word order and length matter; spacing does not
    assert seen_sentences(train, evaluation) == [True, True, False, False, True]
    assert memorization(train, evaluation) == {
        "seen_sentence_share": 0.6,
        "num_clips": 5,
        "num_seen_clips": 3,
        "num_unseen_clips": 2,
        "num_distinct_sentences": 4,
        "num_distinct_seen_sentences": 2,
        "num_distinct_train_sentences": 3,
    }
    with pytest.raises(ValueError, match="no evaluation sentences"):
        memorization(train, [])


def test_half_maximum_spans_and_their_accuracy() -> None:
    clip_map = np.array([[0.0, 1.0, 3.0, 4.0, 2.0, 0.5, 0.0], [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    assert map_to_spans(clip_map) == [(2, 5), (0, 1)]  # frames reaching half the peak, around the peak
    assert spans_to_seconds([(2, 5)], sample_rate=3, fps=30.0) == [(0.2, 0.5)]
    # Model frame 4 stands for clip frames 12-14, but a 13-frame clip ends at frame 13: the span ends there.
    assert spans_to_seconds([(2, 5)], sample_rate=3, fps=30.0, num_frames=13) == [(0.2, 13 / 30)]
    accuracy = timestamp_accuracy([[(2, 5), (0, 1)]], [[(3, 6), (0, 1)]])
    # IoU 2/4 and 1; boundary errors (1 + 1) / 2 and 0.
    assert accuracy == {
        "timestamp_mean_iou": 0.75,
        "timestamp_boundary_error": 0.5,
        "timestamp_num_glosses": 2,
    }
    with pytest.raises(ValueError, match="clip 1: 1 predicted spans for 2 gold spans"):
        timestamp_accuracy([[(0, 1)], [(0, 1)]], [[(0, 1)], [(0, 1), (1, 2)]])
    with pytest.raises(ValueError, match="clip 'x': map has NaN"):
        map_to_spans(np.array([[np.nan, 1.0]]), "clip 'x'")
    with pytest.raises(ValueError, match="negative"):
        map_to_spans(-clip_map)


def test_gold_glosses_keep_only_hits_with_their_spans_on_model_frames() -> None:
    # Reference A B C signed at clip frames [0, 30), [30, 60), [60, 90); the model keeps 1 frame in 3.
    spans = np.array([[0, 30], [30, 60], [60, 90]])
    gold = gold_glosses([["A", "X", "C"]], [["A", "B", "C"]], [spans], num_frames=[30], sample_rate=3)
    assert gold.rows == [[0, 2]] and gold.spans == [[(0, 10), (20, 30)]] and gold.num_glosses == 2
    real_data = gold_glosses([["A"]], [["A"]], [np.zeros((0, 2))], num_frames=[30], sample_rate=3)
    assert real_data.num_glosses == 0  # no gold spans: nothing to check, not an error
    with pytest.raises(ValueError, match="clip 0: 2 gold spans for 3 reference glosses"):
        gold_glosses([["A"]], [["A", "B", "C"]], [spans[:2]], num_frames=[30], sample_rate=3)


def test_at_sample_rate_1_model_frames_are_clip_frames() -> None:
    """Issue 24: a model reading every frame (``sample_rate`` 1) is scored on the clip's own frames: gold spans map
    to themselves, a 1-frame sign keeps its frame, and time stamps are those frames in seconds. At 3 the same sign
    shares a model frame with the next one."""
    from modeling_signattention import SignAttentionFeatureExtractor
    from modeling_signattention.interpretability.decoding import spans_to_model_frames

    spans = [[0, 4], [4, 5], [5, 12]]
    for training in (False, True):  # one frame per window of 1: every frame, in order, even when training
        frames = SignAttentionFeatureExtractor(sample_rate=1).sample_frames(12, training)
        np.testing.assert_array_equal(frames, np.arange(12))
    assert spans_to_model_frames(spans, 1, 12) == [(0, 4), (4, 5), (5, 12)]
    assert spans_to_model_frames(spans, 3, 4) == [(0, 2), (2, 3), (2, 4)]
    gold = gold_glosses(
        [["A", "B", "C"]], [["A", "B", "C"]], [np.array(spans)], num_frames=[12], sample_rate=1
    )
    assert gold.spans == [[(0, 4), (4, 5), (5, 12)]]
    assert spans_to_seconds([(4, 5)], sample_rate=1, fps=30.0) == [(4 / 30, 5 / 30)]


def test_scores_are_split_by_seen_and_unseen_and_none_when_empty() -> None:
    # Clip 0 (seen): both glosses hit, spans of the two halves. Clip 1 (unseen): 3 glosses, only the last hits.
    maps = [diagonal_prior_map(2, 10), uniform_map(3, 12)]
    gold = gold_glosses(
        [["A", "B"], ["X", "Y", "C"]],
        [["A", "B"], ["P", "Q", "C"]],
        [np.array([[0, 15], [15, 30]]), np.array([[0, 12], [12, 24], [24, 36]])],
        num_frames=[10, 12],
        sample_rate=3,
    )
    drops = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [0.0, 0.0], [0.5, 0.5]])]
    scores = score_with_subsets(maps, gold, drops, seen=[True, False])
    assert scores["num_gold_glosses"] == 3
    assert scores["seen"]["gold_peak_accuracy"] == 1.0  # the prior peaks at frames 2 and 7
    assert scores["unseen"]["gold_peak_accuracy"] == pytest.approx(4 / 12)  # a random frame of 12 in [8, 12)
    assert scores["gold_peak_accuracy"] == pytest.approx((2 + 4 / 12) / 3)
    assert scores["seen"]["deletion_drop_10"] == 2.0 and scores["unseen"][
        "deletion_drop_20"
    ] == pytest.approx(1 / 6)
    assert scores["deletion_num_glosses"] == 5
    nothing = score_with_subsets(maps, gold, drops, seen=[True, True])["unseen"]
    assert (
        nothing["num_clips"] == 0
        and nothing["gold_peak_accuracy"] is None
        and nothing["deletion_drop_10"] is None
    )


def test_best_method_is_picked_by_gold_accuracy_else_by_deletion() -> None:
    table = {
        "attention": {"gold_peak_accuracy": 0.3, "deletion_drop_10": 2.0},
        "occlusion": {"gold_peak_accuracy": 0.4, "deletion_drop_10": 1.0},
    }
    assert best_method(table) == ("occlusion", "gold_peak_accuracy")
    for scores in table.values():
        scores["gold_peak_accuracy"] = None  # real data: no gold spans
    assert best_method(table) == ("attention", "deletion_drop_10")


def test_method_selection_picks_on_its_split_and_time_stamps_only_from_pipeline_methods() -> None:
    def entry(peak: float | None, iou: float | None) -> dict:
        return {"gold_peak_accuracy": peak, "timestamp_mean_iou": iou, "deletion_drop_10": 1.0}

    validation = {
        "num_gold_glosses": 300,
        "attribution": {
            "attention": entry(0.79, 0.58),
            "rollout": entry(0.78, 0.62),
            "value_norm_head1": entry(0.82, 0.49),
            "occlusion": entry(0.40, 0.70),  # best IoU, but the pipeline cannot compute it
        },
        "baselines": {"diagonal_prior": entry(0.67, 0.47)},
    }
    selection = method_selection(validation, "validation")
    assert selection["best_method"] == "value_norm_head1" and selection["chosen_by"] == "gold_peak_accuracy"
    assert selection["timestamp_method"] == "rollout"
    assert selection["scores"]["diagonal_prior"] == {"gold_peak_accuracy": 0.67, "timestamp_mean_iou": 0.47}
    assert selection["split"] == "validation" and selection["num_gold_glosses"] == 300
    # Real data: no gold spans, so the pick is by deletion drop and no time-stamp method is measured.
    for scores in validation["attribution"].values():
        scores["gold_peak_accuracy"] = scores["timestamp_mean_iou"] = None
    validation["attribution"]["rollout"]["deletion_drop_10"] = 2.0
    real = method_selection(validation, "validation")
    assert (real["best_method"], real["chosen_by"], real["timestamp_method"]) == (
        "rollout",
        "deletion_drop_10",
        None,
    )


def test_report_shows_methods_next_to_baselines_and_settings_side_by_side() -> None:
    from hub_scripts.report import memorization_section, trust_section, trust_side_by_side

    def entry(peak: float, drop: float) -> dict:
        scores = {"gold_peak_accuracy": peak, "gold_span_mass": 0.2, "deletion_drop_10": drop}
        return scores | {
            "seen": dict(scores),
            "unseen": {"gold_peak_accuracy": None, "deletion_drop_10": None},
        }

    scores = {
        "memorization": {
            "seen_sentence_share": 0.998,
            "num_clips": 881,
            "num_distinct_seen_sentences": 290,
            "num_distinct_sentences": 291,
            "wer": {"all": {"num_sentences": 881, "wer": 0.0252}},
        },
        "num_clips": 881,
        "num_glosses": 3500,
        "num_gold_glosses": 3400,
        "attribution": {"attention": entry(0.279, 0.5), "occlusion": entry(0.355, 1.5)},
        "baselines": {"uniform": entry(0.16, 0.1), "diagonal_prior": entry(0.79, 0.2)},
        "best_method": "occlusion",
        "best_method_chosen_by": "gold_peak_accuracy",
    }
    page = trust_section(scores)
    assert (
        "<b>occlusion</b>, peak inside the gold span for 35.5% of glosses here; diagonal prior: 79.0%" in page
    )
    for label in (
        "attention",
        "diagonal prior (gloss k of n",
        "uniform (every frame alike",
        "27.90%",
        "79.00%",
    ):
        assert label in page
    # a file from before timings were recorded, of synthetic clips: the default timing, said next to the numbers
    assert "Gold spans measured under the <b>gsl timing: synthetic signs of 0.5-1.1 s" in trust_section(
        scores | {"data_source": "synthetic"}
    )
    conversational = trust_section(scores | {"timing": signing_timing("conversational").record()})
    assert "<b>conversational timing: synthetic signs of 60-480 ms (median 180 ms)" in conversational
    assert "real poses, signed at their own pace" in trust_section(scores | {"data_source": "gsl"})
    # real poses as interpret writes them: the timing it has no record of is "no data"
    assert "real poses, signed at their own pace" in trust_section(
        scores | {"data_source": "manifest", "timing": "no data"}
    )
    assert "99.8%</b> of the 881 evaluated clips" in memorization_section(scores)
    both = trust_side_by_side({"si": scores, "sd": {**scores, "attribution": {"attention": entry(0.6, 2.0)}}})
    assert "si: peak in span" in both and "sd: unseen: drop 10 %" in both and "60.00%" in both
    assert "no attribution method was scored" in trust_section({})
    selection = {
        "split": "validation",
        "best_method": "value_norm_head1",
        "chosen_by": "gold_peak_accuracy",
        "timestamp_method": "rollout",
        "num_gold_glosses": 3825,
        "scores": {
            "value_norm_head1": {"gold_peak_accuracy": 0.8193, "timestamp_mean_iou": 0.49},
            "diagonal_prior": {"gold_peak_accuracy": 0.6464, "timestamp_mean_iou": 0.47},
        },
    }
    picked = trust_section(scores | {"method_selection": selection, "best_method_chosen_on": "validation"})
    assert (
        "picked on the validation split" in picked
        and "every candidate on the validation split (3825 glosses" in picked
    )
    assert "81.93%" in picked and "64.64%" in picked


def test_where_the_pick_was_made_is_read_as_data_and_phrased_once(tmp_path) -> None:
    held_out = RunScores.from_json(
        {"split": "test", "best_method": "rollout", "best_method_chosen_on": "validation"}
    )
    assert held_out.pick.split == "validation" and held_out.pick.held_out
    assert held_out.pick.picked_on == "the validation split"
    same = MethodPick.from_json({"split": "test", "best_method_chosen_on": PICKED_ON_SCORED_CLIPS})
    assert same.split is None and not same.held_out
    assert same.picked_on == "the test clips themselves, which flatters it"
    # A run from before the held-out pick says nothing: it picked on the clips it scored.
    assert MethodPick.from_json({"split": "test"}).picked_on == same.picked_on
    run = RunScores.from_json(
        {
            "best_method": "rollout",
            "attribution": {
                "rollout": {"gold_peak_accuracy": 0.5},
                "attention": {"gold_peak_accuracy": NO_DATA},
            },
            "baselines": {"diagonal_prior": {"gold_peak_accuracy": 0.25}},
        }
    )
    assert (run.best_accuracy, run.prior_accuracy) == (0.5, 0.25)
    assert run.measured("gold_peak_accuracy") == {"rollout": 0.5}
    assert read_results(tmp_path / "interpretability.json") is None
