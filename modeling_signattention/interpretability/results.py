"""``interpretability.json`` read back as data: the one reader of a run's analysis.

``hub_scripts.interpret`` writes the file (as plain JSON, "no data" where nothing was measured); the report, the
model card, the Space, the pipeline's reliability file (:func:`.timestamps.timestamp_reliability`) and
``hub_scripts.reproduce`` read it with :func:`read_results` or :meth:`RunScores.from_json` and ask it questions
instead of walking the dict themselves. Where the best method was picked is data (:class:`MethodPick`: a split, or
the scored clips themselves) and is phrased for people once, by :attr:`MethodPick.picked_on`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .schema import NO_DATA

# ``best_method_chosen_on`` when no held-out split was given: the pick was made on the clips it is then scored on.
PICKED_ON_SCORED_CLIPS = "the scored clips themselves (no held-out split to pick on)"


def measurement(value: Any) -> float | None:
    """A number that was measured, else ``None`` ("no data", a missing key or a string is no measurement)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _name(value: Any) -> str | None:
    """A method's name, else ``None`` (a run with nothing to pick from says "no data" there)."""
    return value if isinstance(value, str) and value != NO_DATA else None


@dataclass(frozen=True)
class MethodPick:
    """Which attribution method a run shows, by which score, and where it was picked.

    Why a type: a pick made on the clips it is then scored on flatters its score, and every page must say which it
    was in the same words (:attr:`picked_on`).
    """

    method: str | None
    chosen_by: str | None = None
    # The held-out split the pick was made on; ``None``: on the scored clips themselves (as every run did before
    # the held-out pick, whose files do not say).
    split: str | None = None
    scored_split: str | None = None  # the split every score of the run was measured on
    timestamp_method: str | None = None

    @classmethod
    def from_json(cls, scores: dict[str, Any]) -> MethodPick:
        chosen_on = scores.get("best_method_chosen_on")
        return cls(
            method=_name(scores.get("best_method")),
            chosen_by=scores.get("best_method_chosen_by"),
            split=chosen_on if isinstance(chosen_on, str) and chosen_on != PICKED_ON_SCORED_CLIPS else None,
            scored_split=scores.get("split"),
            timestamp_method=_name(scores.get("timestamp_method")),
        )

    @property
    def held_out(self) -> bool:
        """Picked on another split than the one scored: its scores are not flattered by the pick."""
        return self.split is not None and self.split != self.scored_split

    @property
    def picked_on(self) -> str:
        """Where the pick was made, for people: ``the validation split`` or ``the test clips themselves, which
        flatters it``."""
        if self.split is not None and self.split != self.scored_split:
            return f"the {self.split} split"
        return f"the {self.scored_split or 'scored'} clips themselves, which flatters it"


@dataclass(frozen=True)
class RunScores:
    """A run's ``interpretability.json``: the fields readers use, typed; ``raw`` keeps the whole file for the score
    tables, which walk it by the names of :mod:`.schema`."""

    pick: MethodPick
    attribution: dict[str, dict[str, Any]] = field(default_factory=dict)  # method -> scores
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # baseline -> scores
    selection: dict[str, Any] | None = None  # every candidate's score on the split the pick was made on
    memorization: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    data_source: str | None = None
    config: str | None = None
    num_clips: int | None = None
    num_glosses: int | None = None
    num_gold_glosses: int | None = None
    sentence_accuracy: float | None = None
    gold_alignment_accuracy: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, scores: dict[str, Any]) -> RunScores:
        selection = scores.get("method_selection")
        return cls(
            pick=MethodPick.from_json(scores),
            attribution=scores.get("attribution") or {},
            baselines=scores.get("baselines") or {},
            selection=selection if isinstance(selection, dict) else None,
            memorization=scores.get("memorization") or {},
            split=scores.get("split"),
            data_source=scores.get("data_source"),
            config=scores.get("config"),
            num_clips=scores.get("num_clips"),
            num_glosses=scores.get("num_glosses"),
            num_gold_glosses=scores.get("num_gold_glosses"),
            sentence_accuracy=measurement(scores.get("sentence_accuracy")),
            gold_alignment_accuracy=measurement(scores.get("gold_alignment_accuracy")),
            raw=scores,
        )

    def entry(self, name: str | None) -> dict[str, Any]:
        """The scores of a method or a baseline (empty when it was not scored)."""
        if name is None:
            return {}
        return self.attribution.get(name) or self.baselines.get(name) or {}

    def score(self, name: str | None, key: str, subset: str | None = None) -> float | None:
        """One measured score of a method or baseline, on every scored clip or on the ``seen`` / ``unseen``
        sentences only (``leaderboard.SUBSETS``); ``None`` where there is none."""
        entry = self.entry(name)
        if subset is not None:
            entry = entry.get(subset) or {}
        return measurement(entry.get(key))

    def alignment(self, key: str, score_set: str = "all") -> float | None:
        """One ``attention_alignment`` score (``schema.ALIGNMENT_SCORES``: diagonality, cluster score...) of a score
        set (``schema.SCORE_SETS``), ``None`` where the set has no sentence or the score nothing to average."""
        return measurement(self._score_set(score_set).get("attention_alignment", {}).get(key))

    def video_share(self, score_set: str = "all") -> float | None:
        """The mean share of a decoding step that comes from the video (``schema.VIDEO_SHARE``) in a score set."""
        return measurement(self._score_set(score_set).get("contribution", {}).get("norm_ratio"))

    def wer_on(self, subset: str) -> float | None:
        """Test WER on ``all`` clips, or on those whose sentence was ``seen`` / ``unseen`` in training."""
        return measurement(self.memorization.get("wer", {}).get(subset, {}).get("wer"))

    def _score_set(self, score_set: str) -> dict[str, Any]:
        entry = self.raw.get(score_set)
        return entry if isinstance(entry, dict) else {}

    def measured(self, key: str) -> dict[str, float]:
        """Method -> ``key`` for every attribution method where it was measured."""
        values = {name: measurement(entry.get(key)) for name, entry in self.attribution.items()}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def best_accuracy(self) -> float | None:
        """The picked method's gold peak accuracy on the scored split."""
        return self.score(self.pick.method, "gold_peak_accuracy")

    @property
    def prior_accuracy(self) -> float | None:
        """The diagonal prior's gold peak accuracy: what a map must beat to say anything about the model."""
        return self.score("diagonal_prior", "gold_peak_accuracy")

    @property
    def seen_sentence_share(self) -> float | None:
        return measurement(self.memorization.get("seen_sentence_share"))


def read_results(path: str | Path) -> RunScores | None:
    """A run's ``interpretability.json``, or ``None`` when the run has none."""
    path = Path(path)
    if not path.is_file():
        return None
    return RunScores.from_json(json.loads(path.read_text(encoding="utf-8")))


__all__ = ["PICKED_ON_SCORED_CLIPS", "MethodPick", "RunScores", "measurement", "read_results"]
