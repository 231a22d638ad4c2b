"""How fast the synthetic signers sign: timing presets of the synthetic corpus, and the statistics to check them.

Why: every trust number of this package (does attention peak inside a gloss's true frames?) is measured on
synthetic poses, whose timing we chose. The original generator gives each sign 15-35 frames at 30 fps
(0.50-1.17 s): about five times longer than signs in conversation. A timing is a parameter of the corpus
(``python -m dataset_builder.build --source synthetic --timing conversational``), recorded in the dataset card, so a
finding can be checked under realistic timing:

* ``gsl`` (the default): the original generator's timing, in whole frames, kept bit for bit so that every dataset and
  number made before timings existed stays reproducible. Each sign lasts its lexicon entry's citation duration
  (``Sign.duration``) scaled by the signer's and the clip's tempo; transitions last the signer's habit
  (``Signer.transition``); a clip starts and ends with the hands at rest (``SyntheticGSL.clip``).
* ``conversational``: durations measured on 32 sentences of the DGS Corpus (conversational German Sign Language,
  190 glosses with per-gloss annotations): gloss duration median 180 ms (10th-90th percentile 60-480 ms, mean 237 ms),
  gaps between consecutive glosses median 170 ms (60-382 ms), glosses covering 50 % of the sentence time.

A sampled timing (any but ``gsl``) draws each sign's duration and each gap in seconds, independently, from a
``SkewedLogNormal`` fitted to a median and 10th / 90th percentiles. A plain log-normal cannot fit the gaps: their
percentiles are skewed (60 ms is 2.8 times below the median, 382 ms 2.2 times above), and no single spread puts
both within 10 %. Durations are per token, not per gloss, and the signer's tempo is not applied on top: the DGS
statistics are of tokens pooled over many signers, and seven virtual signers' mean tempo would shift them (the SI
training signers are 5 % faster than speed 1).

Frames: a sign occupies a continuous interval ``[start, end)`` in seconds (``SyntheticClip.gloss_times``) and its
motion is rendered at continuous times; frame ``f`` (at time ``f / fps``) belongs to it when that time falls inside,
so its ``gloss_spans`` entry is ``[ceil(start * fps), ceil(end * fps))``. A span has as many frames as the sign
lasts, give or take one (a 60 ms sign, 1.8 frames at 30 fps, gets 1 or 2), and the same on average. The renderer
makes every sign last at least one frame, so that no span is empty (2.5 % of ``conversational`` draws are shorter:
below the 10th percentile, they move no percentile).

Coverage ("glosses cover 50 % of the sentence time") is measured as the issue measured our corpus (65 % under
``gsl``): the glosses' total time over the clips' total time. A clip's margins (from its first frame to the first
sign, from the last sign to its end: the hands rise from and fall back to rest) are the one free parameter, tuned
so that coverage is 50 % at GSL's sentence lengths (4 glosses on average; DGS's 5.9).

``python -m dataset_builder.synthetic --timing-stats`` prints each preset's statistics on generated clips against
these targets (docs/timing.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

_Z90 = NormalDist().inv_cdf(0.9)  # the 90th percentile of the standard normal: 1.2816


@dataclass(frozen=True)
class SkewedLogNormal:
    """Durations in seconds whose logarithm is normal, with one spread below the median and another above it.

    Why: fitted to a measured median and 10th / 90th percentiles it matches all three exactly, where a log-normal
    (one spread) cannot match skewed percentiles.
    """

    median: float
    p10: float
    p90: float

    def __post_init__(self) -> None:
        if not 0 < self.p10 < self.median < self.p90:
            raise ValueError(
                f"a duration distribution needs 0 < p10 < median < p90 (seconds), got p10 {self.p10}, "
                f"median {self.median}, p90 {self.p90}"
            )

    @property
    def spreads(self) -> tuple[float, float]:
        """Standard deviations of the log below and above the median."""
        return math.log(self.median / self.p10) / _Z90, math.log(self.p90 / self.median) / _Z90

    def sample(self, rng: np.random.Generator) -> float:
        z = rng.standard_normal()
        below, above = self.spreads
        return self.median * math.exp(z * (below if z < 0 else above))

    def mean(self) -> float:
        """The expected draw: ``median * (e^(b^2/2) Phi(-b) + e^(a^2/2) Phi(a))``."""
        below, above = self.spreads
        phi = NormalDist().cdf
        return self.median * (math.exp(below**2 / 2) * phi(-below) + math.exp(above**2 / 2) * phi(above))


@dataclass(frozen=True)
class SigningTiming:
    """How long signs, the gaps between them and a clip's margins last (module docstring).

    ``sign``, ``gap`` and ``margin`` are all None for the whole-frame timing of the original generator (``gsl``), or
    all given for a sampled timing: each sign's and each gap's duration drawn from ``sign`` / ``gap``, each margin
    (from the clip's first frame to the first sign's start, and from the last sign's end to the clip's end) drawn
    uniformly from ``margin`` (seconds: the hands rise from rest, or fall back to it, meanwhile).
    """

    name: str
    sign: SkewedLogNormal | None = None
    gap: SkewedLogNormal | None = None
    margin: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        given = [value is not None for value in (self.sign, self.gap, self.margin)]
        if any(given) and not all(given):
            raise ValueError(
                f"timing {self.name!r}: give sign, gap and margin (a sampled timing) or none of them (whole frames)"
            )
        if self.margin is not None and not 0 <= self.margin[0] <= self.margin[1]:
            raise ValueError(
                f"timing {self.name!r}: margin {self.margin} must be (low, high) seconds, 0 <= low <= high"
            )

    @property
    def whole_frames(self) -> bool:
        """True for the original generator's timing (``gsl``): durations in whole frames, from lexicon and signer."""
        return self.sign is None

    def record(self) -> dict:
        """The timing as the dataset card's YAML holds it (and ``loading.dataset_metadata`` returns it): its name and
        the parameters of a sampled timing, as plain JSON values (so a record read back compares equal)."""
        return json.loads(
            json.dumps({key: value for key, value in asdict(self).items() if value is not None})
        )


# Measured on the DGS Corpus (module docstring).
DGS_SIGN = SkewedLogNormal(median=0.180, p10=0.060, p90=0.480)
DGS_GAP = SkewedLogNormal(median=0.170, p10=0.060, p90=0.382)
DGS_SIGN_MEAN = 0.237  # seconds: a check of the fit (SkewedLogNormal.mean), not a parameter
DGS_COVERAGE = 0.50  # glosses' share of the sentence time
DGS_MEASURED_ON = (32, 190)  # sentences, glosses

TIMINGS = {
    timing.name: timing
    for timing in (
        SigningTiming("gsl"),
        # margins: mean 0.175 s each, tuned to DGS_COVERAGE at GSL's sentence lengths (docs/timing.md)
        SigningTiming("conversational", sign=DGS_SIGN, gap=DGS_GAP, margin=(0.100, 0.250)),
    )
}
DEFAULT_TIMING = "gsl"


# Each timing in a few words, for the pages that show numbers measured under it (report, model card, README): how
# long its signs last, measured with `python -m dataset_builder.synthetic --timing-stats` (docs/timing.md).
TIMING_SUMMARIES = {
    # docs/timing.md, "Does the finding survive real timing?": what a gsl-timed trust number does not promise
    "gsl": "synthetic signs of 0.5-1.1 s (median 0.8 s), about 4x as long as real conversational signs; at "
    "conversational speed the sentence-disjoint maps fell below the diagonal prior",
    "conversational": "synthetic signs of 60-480 ms (median 180 ms) with 60-380 ms between them, as annotated "
    "conversational signing (DGS Corpus)",
}


def describe_timing(record: dict | None, data_source: str | None = "synthetic") -> str:
    """The timing a dataset's clips were signed at (``SigningTiming.record``), for people: every gold-span number
    depends on it, so every page shows it next to them. No record: real poses, or synthetic clips from before
    timings were recorded, which were all signed at the default timing (as ``loading.dataset_metadata`` reads them).
    ``interpretability.json`` writes a missing record as "no data": that is no record either."""
    if not isinstance(record, dict):
        record = None
    if record is None and data_source == "synthetic":
        record = {"name": DEFAULT_TIMING}
    if record is None:
        return "real poses, signed at their own pace"
    name = record.get("name")
    return f"{name} timing: {TIMING_SUMMARIES.get(name, 'a timing this version does not know')}"


def signing_timing(timing: str | SigningTiming) -> SigningTiming:
    """The preset named ``timing`` (``TIMINGS``), or ``timing`` itself when it is a ``SigningTiming``."""
    if isinstance(timing, SigningTiming):
        return timing
    if timing not in TIMINGS:
        raise ValueError(f"Unknown timing {timing!r}; valid timings: {', '.join(TIMINGS)}")
    return TIMINGS[timing]


@dataclass(frozen=True)
class TimingStatistics:
    """Timing of a set of clips, in seconds: percentiles (10, 50, 90) and mean of sign durations and of the gaps
    between consecutive signs of a clip, and coverage (signs' total time / clips' total time)."""

    clips: int
    signs: int
    duration: tuple[float, float, float]
    duration_mean: float
    gap: tuple[float, float, float]
    gap_mean: float
    coverage: float

    @classmethod
    def measure(cls, gloss_times: Sequence[np.ndarray], clip_seconds: Sequence[float]) -> TimingStatistics:
        """From each clip's ``(signs, 2)`` ``[start, end)`` times and its length, all in seconds (frame spans divided
        by the frame rate measure the frames; ``SyntheticClip.gloss_times`` the continuous timing)."""
        durations = np.concatenate([times[:, 1] - times[:, 0] for times in gloss_times])
        gaps = np.concatenate([times[1:, 0] - times[:-1, 1] for times in gloss_times])
        percentiles = (10, 50, 90)
        return cls(
            clips=len(gloss_times),
            signs=len(durations),
            duration=tuple(np.percentile(durations, percentiles).tolist()),
            duration_mean=float(durations.mean()),
            gap=tuple(np.percentile(gaps, percentiles).tolist()),
            gap_mean=float(gaps.mean()),
            coverage=float(durations.sum() / np.sum(clip_seconds)),
        )
