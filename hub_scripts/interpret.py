"""The paper's interpretability analysis of a trained model on one split: scores, figures and raw attention.

    python -m hub_scripts.interpret --model-dir outputs/reproduce/si/model --dataset-dir outputs/reproduce/si/dataset \
        --output-dir outputs/reproduce/si/interpretability [--split test] [--num-beams 1]

As in the paper (arXiv 2410.14506), the attention is read on the sentences the model translated *exactly*:
only there does row k of the cross-attention belong to the gloss that is really signed k-th, so only there can
it be checked against where that gloss is (``gold_*`` scores, from the dataset's ``gloss_spans``). The scores
that need no gold alignment (diagonality, clusters, video-vs-tokens contributions) are also reported on every
non-empty prediction. Writes to ``--output-dir``:

* ``interpretability.json``: every score, overall and per sentence length; a set with no sentence says
  ``"status": "no data"`` and a score with nothing to average is ``"no data"``, never a silent 0;
* ``mean_cross_attention_{correct,all}.png`` (per sentence length, relative time), ``sample_cross_attention.png``
  (one sentence, gold spans boxed), ``encoder_self_attention.png``, ``contributions_{correct,all}.png``;
* ``attention.npz``: every translation's raw maps and block outputs (``interpretability.load_translations`` reads it).

``interpretability.json`` starts with ``memorization``: the share of clips whose sentence occurs in the training split
and WER on seen vs unseen sentences, because a memorised sentence needs no reading of signs. ``attribution`` (method ->
scores) and ``baselines`` (``uniform``, ``diagonal_prior`` -> the same scores) then say whether any map can be trusted:
every attribution method of ``interpretability.attribution`` scored on every predicted gloss that the WER alignment
matches to a reference gloss, next to maps that never look at the model, also split by seen and unseen sentences
(``interpretability.leaderboard``); ``best_method_{seen,unseen}.png`` draw the best method's map. The best method is
picked on another split (``--select-on``, the validation split by default), among the methods and each cross-attention
head of ``attention`` and ``value_norm`` where that split has gold spans, and only then scored on this one:
``method_selection`` holds every candidate's score on the split it was picked on.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dataset_builder.gsl import SPLITS
from dataset_builder.loading import PoseSplit, dataset_metadata, load_pose_splits, load_targets
from hub_scripts.evaluate import score, torch_threads, write_json
from modeling_signattention.interpretability import (
    Translation,
    compute_attention_alignment,
    compute_decoder_contributions,
    mean_attention_by_length,
    plot_contributions,
    plot_cross_attention,
    plot_encoder_attention,
    plot_mean_attention_grid,
    save_translations,
    spans_to_model_frames,
    translate_with_attention,
)
from modeling_signattention.interpretability.attribution import METHODS, head_methods
from modeling_signattention.interpretability.leaderboard import (
    ScoredClips,
    ScoringOptions,
    TrustResult,
    method_selection,
    trust_scores,
)
from modeling_signattention.interpretability.matching import memorization, seen_sentences
from modeling_signattention.interpretability.results import MethodPick
from modeling_signattention.interpretability.schema import (
    INTERPRETABILITY_FILE,
    NO_DATA,
    SAME_SENTENCES_AS,
    TOKEN_NAMES,
    figure_file,
)
from modeling_signattention.loading import load_pretrained


def json_safe(value: Any) -> Any:
    """Plain JSON: numpy numbers -> Python, int keys -> str, None / NaN -> "no data" (explicitly, never 0)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return NO_DATA
    return value


def score_set(
    translations: Sequence[Translation], spans: Sequence[list[tuple[int, int]]] | None, description: str
) -> dict[str, Any]:
    """Alignment (with gold spans when given) and contribution scores of a set of non-empty translations."""
    if not translations:
        return {"status": NO_DATA, "num_sentences": 0, "reason": f"no {description}"}
    contributions = compute_decoder_contributions(
        [t.self_block for t in translations], [t.cross_block for t in translations]
    )
    contributions.pop("per_sample")  # one curve per sentence: kept in attention.npz (self_block, cross_block)
    return {
        "num_sentences": len(translations),
        "attention_alignment": compute_attention_alignment([t.cross_attention for t in translations], spans),
        "contribution": contributions,
    }


def score_sets(
    translations: Sequence[Translation],
    correct: Sequence[int],
    non_empty: Sequence[int],
    gold: dict[int, list[tuple[int, int]] | None],
) -> dict[str, Any]:
    """The score sets of ``interpretability.json`` (``schema.SCORE_SETS``): exactly translated sentences, those of
    them with gold spans, and every non-empty prediction.

    On synthetic data every exactly translated sentence has gold spans: the first two sets are then the same
    sentences, scored once with their spans, and the gold set says so (``SAME_SENTENCES_AS``) so that tables show
    one column, never "no data" next to the same sentences' gold scores.
    """
    with_spans = [i for i in correct if gold.get(i) is not None]
    all_have_spans = bool(correct) and list(with_spans) == list(correct)
    correct_scores = score_set(
        [translations[i] for i in correct],
        [gold[i] for i in correct] if all_have_spans else None,
        "exactly translated sentence",
    )
    gold_scores = (
        {**correct_scores, SAME_SENTENCES_AS: "correct"}
        if all_have_spans
        else score_set(
            [translations[i] for i in with_spans],
            [gold[i] for i in with_spans],
            "exactly translated sentence with gold gloss spans (real data has none)",
        )
    )
    return {
        "correct": correct_scores,
        "correct_with_gold_spans": gold_scores,
        "all": score_set([translations[i] for i in non_empty], None, "non-empty prediction"),
    }


def gold_model_spans(
    translation: Translation, spans: np.ndarray, sample_rate: int
) -> list[tuple[int, int]] | None:
    """The gold spans on the model's frames, or None when they cannot be matched to the predicted glosses."""
    if len(spans) != len(translation.glosses):
        return None
    return spans_to_model_frames(spans.tolist(), sample_rate, translation.cross_attention.shape[1])


def wer_by_seen(
    predictions: Sequence[str], references: Sequence[str], seen: Sequence[bool], output_mode: str
) -> dict[str, Any]:
    """WER on all clips, on the clips whose sentence occurs in training and on the others ("no data" if none)."""
    subsets = {"all": [True] * len(seen), "seen": list(seen), "unseen": [not s for s in seen]}
    result: dict[str, Any] = {}
    for name, keep in subsets.items():
        chosen = [i for i, k in enumerate(keep) if k]
        result[name] = (
            score([predictions[i] for i in chosen], [references[i] for i in chosen], output_mode)
            if chosen
            else {"status": NO_DATA, "num_sentences": 0}
        )
    return result


@dataclass(frozen=True)
class InterpretOptions:
    """How :func:`interpret` runs; each default is here once (the command line's are these)."""

    split: str = "test"  # the split scored
    num_beams: int = 1
    batch_size: int = 64
    max_samples: int | None = None  # only the first N clips of each split read
    progress: bool = True
    methods: Sequence[str] = METHODS  # the attribution methods scored
    threads: int | None = 1  # intra-op threads for decoding and attribution (:func:`torch_threads`)
    select_on: str | None = "validation"  # the split the best method is picked on; None: the scored clips


@dataclass
class LoadedRun:
    """The model under analysis with its preprocessing, and the dataset it is read on."""

    model: Any
    feature_extractor: Any
    tokenizer: Any
    dataset_dir: Path
    input_components: Sequence[str] | None
    output_mode: str

    @classmethod
    def load(cls, model_dir: str | Path, dataset_dir: str | Path) -> LoadedRun:
        model, feature_extractor, tokenizer = load_pretrained(model_dir)
        return cls(
            model,
            feature_extractor,
            tokenizer,
            Path(dataset_dir),
            dataset_metadata(dataset_dir)["input_components"],
            getattr(model.config, "output_mode", "gloss"),
        )


def trust_section(
    run: LoadedRun,
    data: PoseSplit,
    translations: Sequence[Translation],
    seen: Sequence[bool],
    scoring: ScoringOptions,
    selection: dict[str, Any] | None = None,
) -> tuple[TrustResult, list[int]]:
    """Every attribution method and baseline scored on the non-empty predictions (``interpretability.leaderboard``;
    ``selection`` goes to ``trust_scores``); also returns the clips scored, in the order of the maps.

    Gold spans mean something only for glosses; text output is scored by deletion only.
    """
    references = data.targets(run.output_mode)
    non_empty = [i for i, t in enumerate(translations) if t.glosses]
    # Occlusion removes 3-frame windows and a map over 1 frame says nothing: such clips are left out, and counted.
    too_short = [
        i for i in non_empty if len(run.feature_extractor.sample_frames(len(data.poses[i]), False)) <= 3
    ]
    non_empty = [i for i in non_empty if i not in set(too_short)]
    if not non_empty:
        # the keys trust_scores gives, so that a split where the model says nothing (an undertrained variant of a
        # study) is scored as "no data", not a KeyError in method_selection
        empty = {"num_clips": 0, "num_glosses": 0, "num_gold_glosses": 0, "attribution": {}, "baselines": {}}
        return TrustResult(empty | {"best_method": None, "num_too_short": len(too_short)}), []
    no_spans = np.zeros((0, 2), dtype=np.int64)
    clips = ScoredClips(
        poses=[data.poses[i] for i in non_empty],
        token_ids=[translations[i].token_ids for i in non_empty],
        predictions=[translations[i].glosses for i in non_empty],
        references=[references[i].split() for i in non_empty],
        reference_spans=[data.gloss_spans[i] if run.output_mode == "gloss" else no_spans for i in non_empty],
        seen=[seen[i] for i in non_empty],
        clip_ids=[data.ids[i] for i in non_empty],
    )
    result = trust_scores(run.model, run.feature_extractor, clips, scoring, selection)
    result.scores["num_too_short"] = len(too_short)
    return result, non_empty


def decode_split(
    run: LoadedRun, split: str, options: InterpretOptions
) -> tuple[PoseSplit, list[Translation]]:
    """A split's clips (the first ``max_samples`` of them) and the model's translations, attentions included."""
    data = load_pose_splits(run.dataset_dir, [split])[split]
    if options.max_samples is not None:
        data = data.select(range(min(options.max_samples, len(data))))
    translations = translate_with_attention(
        run.model,
        run.feature_extractor,
        run.tokenizer,
        data.poses,
        options.num_beams,
        options.batch_size,
        run.input_components,
        options.progress,
    )
    return data, translations


def scoring_options(run: LoadedRun, options: InterpretOptions, methods: Sequence[str]) -> ScoringOptions:
    """The leaderboard's options for ``methods``, batched and shown as ``options`` say."""
    return ScoringOptions(
        methods=methods,
        input_components=run.input_components,
        batch_size=options.batch_size,
        progress=options.progress,
    )


def select_method(run: LoadedRun, train_targets: Sequence[str], options: InterpretOptions) -> dict[str, Any]:
    """The best attribution method, picked on the split ``options.select_on`` (``leaderboard.method_selection``).

    With gold spans the candidates are ``methods`` and every head of the head-reading methods, ranked by gold peak
    accuracy (attention maps of a head cost one forward pass, so they add little); without gold spans only
    ``methods``, ranked by deletion drop, which needs the deletion passes.
    """
    split = options.select_on
    data, translations = decode_split(run, split, options)
    references = data.targets(run.output_mode)
    has_gold = run.output_mode == "gloss" and any(len(spans) for spans in data.gloss_spans)
    methods = list(options.methods)
    candidates = [*methods, *head_methods(run.model.config.num_heads)] if has_gold else methods
    scoring = replace(scoring_options(run, options, candidates), deletion=not has_gold)
    trust, _ = trust_section(run, data, translations, seen_sentences(train_targets, references), scoring)
    return method_selection(trust.scores, split)


def draw_best_method(
    trust: TrustResult,
    translations: Sequence[Translation],
    scored: Sequence[int],
    correct: Sequence[int],
    seen: Sequence[bool],
    data: PoseSplit,
    split: str,
    feature_extractor: Any,
    output_dir: Path,
) -> dict[str, str]:
    """The best method's map on one seen and one unseen sentence, gold spans boxed where the sentence is exact."""
    pick = MethodPick.from_json(trust.scores | {"split": split})
    method = pick.method
    figures: dict[str, str] = {}
    for subset in ("seen", "unseen"):
        key = f"best_method_{subset}"
        candidates = [k for k, clip in enumerate(scored) if seen[clip] == (subset == "seen")]
        if method is None or not candidates:
            figures[key] = NO_DATA
            continue
        exact = [k for k in candidates if scored[k] in set(correct)]
        k = pick_sample([translations[i] for i in scored], exact or candidates)
        clip = scored[k]
        clip_map = trust.maps[method][k]
        spans = None
        if scored[k] in set(correct) and len(data.gloss_spans[clip]) == len(translations[clip].glosses):
            spans = spans_to_model_frames(
                data.gloss_spans[clip].tolist(), feature_extractor.sample_rate, clip_map.shape[1]
            )
        status = "exactly translated" if spans is not None else "not exactly translated"
        plot_cross_attention(
            clip_map,
            translations[clip].glosses,
            output_dir / figure_file(key),
            spans,
            f"Best method: {method} (picked on {pick.picked_on})\n{data.ids[clip]}\n{subset} sentence, {status}",
        )
        figures[key] = figure_file(key)
    return figures


def pick_sample(translations: Sequence[Translation], candidates: Sequence[int]) -> int:
    """A representative sentence to draw: the candidate whose length is closest to the median (then the first)."""
    lengths = [len(translations[i].glosses) for i in candidates]
    median = float(np.median(lengths))
    return min(candidates, key=lambda i: (abs(len(translations[i].glosses) - median), i))


def interpret(
    model_dir: str | Path,
    dataset_dir: str | Path,
    output_dir: str | Path,
    options: InterpretOptions = InterpretOptions(),
) -> dict[str, Any]:
    """Run the analysis (see module docstring); return what was written to ``interpretability.json``.

    The best method is picked on the split ``options.select_on`` (:func:`select_method`); with ``None``, or the
    scored split itself, it is picked on the scored clips, and the scores say so.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    run = LoadedRun.load(model_dir, dataset_dir)
    split, output_mode, feature_extractor = options.split, run.output_mode, run.feature_extractor
    metadata = dataset_metadata(dataset_dir)
    with torch_threads(options.threads):
        data, translations = decode_split(run, split, options)
    references = data.targets(output_mode)
    correct = [
        i
        for i, (t, ref) in enumerate(zip(translations, references, strict=True))
        if t.glosses and t.text == ref
    ]
    non_empty = [i for i, t in enumerate(translations) if t.glosses]
    train_targets = load_targets(dataset_dir, "train", output_mode)
    seen = seen_sentences(train_targets, references)
    with torch_threads(options.threads):
        selection = None
        if options.select_on not in (None, split):
            selection = select_method(run, train_targets, options)
        scoring = scoring_options(run, options, options.methods)
        trust, scored = trust_section(run, data, translations, seen, scoring, selection)

    # Gold spans exist for synthetic data (real GSL has no gloss timing) and only mean something in gloss mode.
    gold = {
        i: gold_model_spans(translations[i], data.gloss_spans[i], feature_extractor.sample_rate)
        for i in correct
        if output_mode == "gloss"
    }
    with_spans = [i for i in correct if gold.get(i) is not None]
    results: dict[str, Any] = {
        # First, because it changes how every score below must be read (a memorised sentence needs no reading).
        "memorization": memorization(train_targets, references)
        | {"wer": wer_by_seen([t.text for t in translations], references, seen, output_mode)},
        "data_source": metadata["data_source"],
        "config": metadata["config"],
        "timing": metadata[
            "timing"
        ],  # the gold spans' timing (synthetic): every gold-span score depends on it
        "split": split,
        "output_mode": output_mode,
        "num_beams": options.num_beams,
        "num_sentences": len(translations),
        "num_correct": len(correct),
        "num_empty_predictions": len(translations) - len(non_empty),
        "sentence_accuracy": len(correct) / len(translations) if translations else None,
        "num_correct_with_gold_spans": len(with_spans),
        **score_sets(translations, correct, non_empty, gold),
    }
    gold_scores = results["correct_with_gold_spans"].get("attention_alignment", {})
    results["gold_alignment_accuracy"] = gold_scores.get("gold_peak_accuracy")
    results.update(trust.scores)

    results["figures"] = draw_figures(translations, correct, non_empty, gold, output_dir, output_mode)
    results["figures"].update(
        draw_best_method(
            trust, translations, scored, correct, seen, data, split, feature_extractor, output_dir
        )
    )
    save_translations(
        output_dir / "attention.npz",
        translations,
        ids=np.array(data.ids, dtype=str),
        correct=np.isin(np.arange(len(translations)), correct),
    )
    results = json_safe(results)
    write_json(output_dir / INTERPRETABILITY_FILE, results)
    return results


def draw_figures(
    translations: Sequence[Translation],
    correct: Sequence[int],
    non_empty: Sequence[int],
    gold: dict[int, list[tuple[int, int]] | None],
    output_dir: Path,
    output_mode: str = "gloss",
) -> dict[str, str]:
    """Draw what there is data for (tokens named as ``output_mode``'s: glosses or words); the returned mapping
    (figure -> file, or "no data") goes into the JSON."""
    figures: dict[str, str] = {}
    for name, indices, label in (
        ("correct", correct, "exactly translated"),
        ("all", non_empty, "all non-empty"),
    ):
        if not indices:
            figures[f"mean_cross_attention_{name}"] = figures[f"contributions_{name}"] = NO_DATA
            continue
        means = mean_attention_by_length([translations[i].cross_attention for i in indices])
        path = output_dir / figure_file(f"mean_cross_attention_{name}")
        title = f"Mean cross-attention by sentence length ({label} sentences)"
        plot_mean_attention_grid(means, path, title, TOKEN_NAMES[output_mode])
        figures[f"mean_cross_attention_{name}"] = path.name
        contributions = compute_decoder_contributions(
            [translations[i].self_block for i in indices], [translations[i].cross_block for i in indices]
        )
        path = output_dir / figure_file(f"contributions_{name}")
        plot_contributions(
            contributions["by_step"], path, f"Video vs previous tokens ({label})", TOKEN_NAMES[output_mode]
        )
        figures[f"contributions_{name}"] = path.name

    candidates = list(correct) or list(non_empty)
    if not candidates:
        figures["sample_cross_attention"] = figures["encoder_self_attention"] = NO_DATA
        return figures
    sample = pick_sample(translations, candidates)
    translation = translations[sample]
    status = "exactly translated" if sample in correct else "not exactly translated"
    plot_cross_attention(
        translation.cross_attention,
        translation.glosses,
        output_dir / figure_file("sample_cross_attention"),
        gold.get(sample),
        f"Sentence {sample} ({status})",
    )
    plot_encoder_attention(
        translation.encoder_attention,
        output_dir / figure_file("encoder_self_attention"),
        f"Encoder self-attention, sentence {sample}",
    )
    figures["sample_cross_attention"] = figure_file("sample_cross_attention")
    figures["encoder_self_attention"] = figure_file("encoder_self_attention")
    figures["sample_index"] = str(sample)
    return figures


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (0 beams, clips or threads would fail deep inside, or score nothing)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--dataset-dir", type=Path, required=True)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--split", default=InterpretOptions.split, choices=SPLITS)
    parser.add_argument("--num-beams", type=positive_int, default=InterpretOptions.num_beams)
    parser.add_argument("--batch-size", type=positive_int, default=InterpretOptions.batch_size)
    parser.add_argument("--max-samples", type=positive_int, help="only the first N clips of the split")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(InterpretOptions.methods),
        choices=METHODS,
        help="attribution methods to score",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=InterpretOptions.threads,
        help="intra-op threads for decoding and attribution",
    )
    parser.add_argument(
        "--select-on",
        default=InterpretOptions.select_on,
        choices=[*SPLITS, "none"],
        help="split on which the best attribution method is picked (none: on the scored clips themselves)",
    )
    args = parser.parse_args(argv)
    options = InterpretOptions(
        split=args.split,
        num_beams=args.num_beams,
        batch_size=args.batch_size,
        max_samples=args.max_samples,
        methods=args.methods,
        threads=args.threads,
        select_on=None if args.select_on == "none" else args.select_on,
    )
    results = interpret(args.model_dir, args.dataset_dir, args.output_dir, options)
    headline = {
        key: results[key]
        for key in ("num_sentences", "num_correct", "sentence_accuracy", "gold_alignment_accuracy")
    }
    print(json.dumps(headline, ensure_ascii=False, indent=2))
    print(f"[interpret] scores, figures and attention.npz in {args.output_dir}")
    return results


if __name__ == "__main__":
    main()
