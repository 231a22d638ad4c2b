"""A single-file HTML report of a reproduction run: scores, training curves, attention figures (embedded).

    python -m hub_scripts.report RUN_DIR    # writes RUN_DIR/report.html

Reads what ``hub_scripts.reproduce`` leaves in ``RUN_DIR``: ``eval_results.json``, ``interpretability.json``,
``training_log.json``, ``timings.json`` (optional) and the PNGs of ``interpretability/``. Figures are embedded as
base64, so the report can be mailed or attached to a model card on its own. A reproduce output folder with
``settings.json`` (several settings, one run folder each) gets one report with the settings side by side first.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
from pathlib import Path
from typing import Any

from dataset_builder.timing import describe_timing
from modeling_signattention.interpretability.figures import plot_training_curves
from modeling_signattention.interpretability.results import RunScores
from modeling_signattention.interpretability.schema import (
    ALIGNMENT_SCORES,
    ATTRIBUTION_SCORES,
    BASELINE_LABELS,
    EVAL_RESULTS_FILE,
    FIGURE_CAPTIONS,
    INTERPRETABILITY_FILE,
    NO_DATA,
    SCORE_SETS,
    SETTINGS_FILE,
    TOKEN_NAMES,
    TRAINING_CURVES_FIGURE,
    TRAINING_LOG_FILE,
    VIDEO_SHARE,
    figure_file,
    shown_score_sets,
)
from modeling_signattention.metrics.recognition import BLEU_ORDERS, bleu_key

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
.table { overflow-x: auto; margin: 0.5em 0 1.5em; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.nodata { color: #999; font-style: italic; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""


def _cell(value: Any, percent: bool = False) -> str:
    if value is None or value == NO_DATA:
        return f'<td class="nodata">{NO_DATA}</td>'
    if isinstance(value, float):
        return f"<td>{value:.2%}</td>" if percent else f"<td>{value:.3f}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    return (
        f'<div class="table"><table><tr>{head}</tr>{body}</table></div>'  # scrolls, never wider than the page
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def recognition_section(results: dict[str, Any]) -> str:
    keys = ["wer", "substitutions", "deletions", "insertions", "hits", "num_reference_words", "num_sentences"]
    keys += [key for key in (*map(bleu_key, BLEU_ORDERS), "chrf") if key in results]
    rows = [[f"<td>{key}</td>", _cell(results[key], percent=key == "wer")] for key in keys if key in results]
    where = f"{results.get('data_source')} / {results.get('config')} / {results.get('split')} ({results.get('output_mode')})"
    return f"<h2>Recognition</h2><p>Data / config / split: <b>{html.escape(where)}</b></p>" + _table(
        ["score", "value"], rows
    )


def interpretability_section(scores: dict[str, Any]) -> str:
    parts = [
        "<h2>Interpretability</h2>",
        f"<p>{scores['num_correct']} of {scores['num_sentences']} sentences translated exactly "
        f"({_fraction(scores['sentence_accuracy'])}); {scores['num_empty_predictions']} empty predictions.</p>",
    ]
    sets = shown_score_sets(scores)
    header = ["score", *(SCORE_SETS[name] for name in sets)]
    rows = [
        [f"<td>{html.escape(score.label)}</td>"] + [_set_score(scores[name], key) for name in sets]
        for key, score in ALIGNMENT_SCORES.items()
    ]
    rows.append(
        [f"<td>{html.escape(VIDEO_SHARE.label)}</td>"]
        + [_cell(scores[name].get("contribution", {}).get("norm_ratio")) for name in sets]
    )
    rows.append(["<td>sentences</td>"] + [_cell(scores[name]["num_sentences"]) for name in sets])
    parts.append(_table(header, rows))

    name = next((name for name in sets if "attention_alignment" in scores[name]), None)
    if name is not None:
        # One column per length and one row per score, as in the table above: lengths are few, scores are long.
        by_length = scores[name]["attention_alignment"]["by_length"]
        keys = [key for key in ALIGNMENT_SCORES if key in next(iter(by_length.values()))]
        rows = [["<td>sentences</td>"] + [_cell(entry["num_samples"]) for entry in by_length.values()]]
        rows += [
            [f"<td>{html.escape(ALIGNMENT_SCORES[key].label)}</td>"]
            + [_cell(entry[key], percent=ALIGNMENT_SCORES[key].percent) for entry in by_length.values()]
            for key in keys
        ]
        parts.append(f"<h3>Per sentence length ({html.escape(SCORE_SETS[name])})</h3>")
        tokens = TOKEN_NAMES[scores.get("output_mode", "gloss")][1]
        parts.append(_table([f"{tokens} in the sentence", *by_length], rows))
    return "".join(parts)


def memorization_section(scores: dict[str, Any]) -> str:
    """How much of the test split signs training sentences, and WER on seen vs unseen sentences: read first."""
    memo = scores.get("memorization")
    if not memo:
        return ""
    wer = memo.get("wer", {})
    rows = [
        [
            f"<td>{name}</td>",
            _cell(entry.get("num_sentences")),
            _cell(entry.get("wer", NO_DATA), percent=True),
        ]
        for name, entry in wer.items()
    ]
    return (
        "<h2>Read this first: memorization</h2>"
        f"<p><b>{_fraction(memo['seen_sentence_share'])}</b> of the {memo['num_clips']} evaluated clips sign a "
        f"sentence that occurs in the training split ({memo['num_distinct_seen_sentences']} of their "
        f"{memo['num_distinct_sentences']} distinct sentences). A model can translate those by recognising the whole "
        "sentence rather than reading each sign, so every score below is also given on unseen sentences.</p>"
        + _table(["sentences", "clips", "WER"], rows)
    )


def _method_rows(scores: dict[str, Any], keys: list[str], subset: str | None = None) -> list[list[str]]:
    """One row per method and per baseline: the given scores, of all clips or of one subset (seen / unseen)."""
    rows = []
    entries = [(name, entry) for name, entry in scores.get("attribution", {}).items()]
    entries += [(BASELINE_LABELS[name], entry) for name, entry in scores.get("baselines", {}).items()]
    for name, entry in entries:
        entry = entry.get(subset, {}) if subset else entry
        rows.append(
            [f"<td>{html.escape(name)}</td>"]
            + [
                _cell(
                    entry.get(key, NO_DATA),
                    percent=ATTRIBUTION_SCORES[key].percent if key in ATTRIBUTION_SCORES else False,
                )
                for key in keys
            ]
        )
    return rows


TRUST_INTRO = (
    "<p>Each method gives, for every predicted gloss, a map over the clip's frames. Gold scores are computed on "
    "every predicted gloss that the WER alignment matches to a reference gloss (its gold span is then known), "
    "deletion scores on every predicted gloss (no gold needed: the drop in log p(gloss) when the top 10 % / 20 % "
    "frames of the map are removed; the uniform baseline's drop is that of a random order). A method is worth "
    "showing only where it beats the diagonal prior, which never looks at the model.</p>"
)


def trust_section(scores: dict[str, Any]) -> str:
    """ "Can the attention be trusted?" for one run: every attribution method next to the uniform and diagonal-prior
    baselines on the same glosses, on all, seen and unseen sentences (``interpretability.json``)."""
    heading = "<h2>Can the attention be trusted?</h2>"
    if not scores.get("attribution"):
        return heading + f'<p class="nodata">{NO_DATA}: no attribution method was scored</p>'
    run = RunScores.from_json(scores)
    pick = run.pick
    keys = list(ATTRIBUTION_SCORES)
    parts = [
        heading,
        TRUST_INTRO,
        f"<p>{run.num_clips} clips, {run.num_glosses} predicted glosses, "
        f"{run.num_gold_glosses} of them matched to a reference gloss with a gold span. Best method "
        f"(by {html.escape(str(pick.chosen_by))}, picked on {html.escape(pick.picked_on)}): "
        f"<b>{html.escape(str(pick.method))}</b>, peak inside the gold span for {_fraction(run.best_accuracy)} of "
        f"glosses here; diagonal prior: {_fraction(run.prior_accuracy)}. Time stamps (best time-stamp IoU there): "
        f"<b>{html.escape(str(pick.timestamp_method))}</b>. Gold spans measured under the "
        f"<b>{html.escape(describe_timing(scores.get('timing'), scores.get('data_source')))}</b>.</p>",
        _table(
            ["method", *(ATTRIBUTION_SCORES[key].label for key in keys), "seconds"],
            _method_rows(scores, [*keys, "seconds"]),
        ),
        selection_table(run.selection),
    ]
    split_keys = ["gold_peak_accuracy", "gold_span_mass", "deletion_drop_10"]
    seen_rows = _method_rows(scores, split_keys, "seen")
    unseen_rows = _method_rows(scores, split_keys, "unseen")
    rows = [seen + unseen[1:] for seen, unseen in zip(seen_rows, unseen_rows, strict=True)]
    header = ["method"] + [f"seen: {ATTRIBUTION_SCORES[k].label}" for k in split_keys]
    header += [f"unseen: {ATTRIBUTION_SCORES[k].label}" for k in split_keys]
    parts.append(_table(header, rows))
    return "".join(parts)


def selection_table(selection: dict[str, Any] | None) -> str:
    """Every candidate method's (each cross-attention head included) score on the split the best one was picked on,
    so a reader sees how far apart the heads are and how much the pick stood out there."""
    if not selection:
        return ""
    by = selection["chosen_by"]
    if by not in ATTRIBUTION_SCORES:
        return f'<p class="nodata">{NO_DATA}: no candidate method could be scored on the {selection["split"]} split</p>'

    rows = [
        [f"<td>{html.escape(BASELINE_LABELS.get(name, name))}</td>"]
        + [
            _cell(entry.get(key, NO_DATA), percent=ATTRIBUTION_SCORES[key].percent)
            for key in (by, "timestamp_mean_iou")
        ]
        for name, entry in selection["scores"].items()
    ]
    return (
        f"<p>How the best method was picked: every candidate on the {html.escape(selection['split'])} split "
        f"({selection['num_gold_glosses']} glosses with gold spans), before any score on this split was seen. "
        f"Picked: <b>{html.escape(str(selection['best_method']))}</b> by {html.escape(by)}, "
        f"<b>{html.escape(str(selection['timestamp_method']))}</b> for time stamps.</p>"
        + _table(
            ["candidate", ATTRIBUTION_SCORES[by].label, ATTRIBUTION_SCORES["timestamp_mean_iou"].label], rows
        )
    )


def trust_side_by_side(settings: dict[str, dict[str, Any]]) -> str:
    """Each setting's (label -> interpretability.json) gold peak accuracy and 10 % deletion drop per method and
    baseline, as columns: the paper setting next to the sentence-disjoint one."""
    settings = {label: scores for label, scores in settings.items() if scores.get("attribution")}
    if not settings:
        return ""
    first = next(iter(settings.values()))
    names = [*first["attribution"], *first.get("baselines", {})]
    rows = []
    for name in names:
        row = [f"<td>{html.escape(BASELINE_LABELS.get(name, name))}</td>"]
        for scores in settings.values():
            entry = scores["attribution"].get(name) or scores.get("baselines", {}).get(name, {})
            for subset in (entry, entry.get("unseen", {})):
                row += [
                    _cell(subset.get("gold_peak_accuracy", NO_DATA), percent=True),
                    _cell(subset.get("deletion_drop_10", NO_DATA)),
                ]
        rows.append(row)
    columns = ("peak in span", "drop 10 %", "unseen: peak in span", "unseen: drop 10 %")
    header = ["method"] + [f"{label}: {column}" for label in settings for column in columns]
    return "<h2>Can the attention be trusted? Settings side by side</h2>" + TRUST_INTRO + _table(header, rows)


def _set_score(entry: dict[str, Any], key: str) -> str:
    return _cell(
        entry.get("attention_alignment", {}).get(key, NO_DATA), percent=ALIGNMENT_SCORES[key].percent
    )


def _fraction(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, float) else NO_DATA


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/report.html`` from the run's JSON files and figures; return its path. A reproduce output
    folder (``settings.json``) gets the settings side by side (``write_settings_report``)."""
    run_dir = Path(run_dir)
    if (run_dir / SETTINGS_FILE).is_file():
        return write_settings_report(run_dir)
    return _write_page(run_dir / "report.html", run_sections(run_dir))


def write_settings_report(output_dir: str | Path) -> Path:
    """``OUTPUT/report.html`` of a reproduce run with several settings (``settings.json``): a table of the
    settings side by side, then each setting's own report sections."""
    output_dir = Path(output_dir)
    index = _read_json(output_dir / SETTINGS_FILE)
    if index is None:
        raise FileNotFoundError(f"{output_dir / SETTINGS_FILE} is missing: run hub_scripts.reproduce first")
    settings = index["settings"]
    scores = {
        name: _read_json(output_dir / entry["dir"] / INTERPRETABILITY_FILE) or {}
        for name, entry in settings.items()
    }
    parts = [
        settings_section(output_dir, settings),
        seed_spread_section(settings),
        *text_vs_gloss_sections(output_dir, settings),
        trust_side_by_side(scores),
    ]
    for name, entry in settings.items():
        parts.append(
            f'<h2 id="setting-{html.escape(name)}">Setting {html.escape(name)}: {html.escape(entry["description"])}</h2>'
        )
        parts += [_demote(part) for part in run_sections(output_dir / entry["dir"])]
    return _write_page(output_dir / "report.html", parts)


def settings_section(output_dir: Path, settings: dict[str, dict[str, Any]]) -> str:
    """Settings as columns: the data each trained on, what it writes, test WER (BLEU and chrF where one writes text),
    exact sentences, gold alignment, wall time."""
    runs = {name: output_dir / entry["dir"] for name, entry in settings.items()}
    results = {name: _read_json(run / EVAL_RESULTS_FILE) or {} for name, run in runs.items()}
    scores = {name: _read_json(run / INTERPRETABILITY_FILE) or {} for name, run in runs.items()}

    def data(entry: dict[str, Any]) -> str:
        recombination = entry.get("recombination")
        extra = f" + {recombination['clips']:,} {recombination['method']} recombined" if recombination else ""
        timing = f", {describe_timing(entry['timing'])}" if entry.get("timing") else ""
        return f"<td>GSL {html.escape(entry['config'])}{html.escape(extra + timing)}, {entry['epochs']} epochs</td>"

    text_rows = [
        [f"<td>test {label}</td>"] + [_cell(results[name].get(key)) for name in settings]
        for key, label in TEXT_SCORES.items()
        if any(_writes(entry) == "text" for entry in settings.values())
    ]
    rows = [
        ["<td>what it measures</td>"]
        + [f"<td>{html.escape(entry['description'])}</td>" for entry in settings.values()],
        ["<td>the model writes</td>"] + [_cell(_writes(entry)) for entry in settings.values()],
        ["<td>training data</td>"] + [data(entry) for entry in settings.values()],
        ["<td>test clips whose sentence occurs in training (read first)</td>"]
        + [
            _cell(scores[name].get("memorization", {}).get("seen_sentence_share"), percent=True)
            for name in settings
        ],
        ["<td>test WER</td>"] + [_cell(results[name].get("wer"), percent=True) for name in settings],
        *text_rows,
        ["<td>test sentences</td>"] + [_cell(results[name].get("num_sentences")) for name in settings],
        ["<td>WER on 300 fresh random sentences of training glosses (reads signs?)</td>"]
        + [_cell(entry.get("fresh_sentence_wer"), percent=True) for entry in settings.values()],
        ["<td>exactly translated</td>"]
        + [_cell(scores[name].get("sentence_accuracy"), percent=True) for name in settings],
        ["<td>gold alignment accuracy (peak in true span)</td>"]
        + [_cell(scores[name].get("gold_alignment_accuracy"), percent=True) for name in settings],
        ["<td>wall time, minutes</td>"]
        + [f"<td>{entry['seconds'] / 60:.1f}</td>" for entry in settings.values()],
        ["<td>CPU time, minutes</td>"]
        + [
            f"<td>{entry['cpu_seconds'] / 60:.1f}</td>" if "cpu_seconds" in entry else _cell(None)
            for entry in settings.values()
        ],
    ]
    return "<h2>Settings side by side</h2>" + _table(["", *settings], rows)


def _mean_and_sd(summary: dict[str, Any], percent: bool) -> str:
    """``1.13% ± 0.33% (3 seeds)`` from a study summary's ``{"mean", "sd", "n"}`` (no sd from one seed)."""
    shown = f"{summary['mean']:.2%}" if percent else f"{summary['mean']:.3f}"
    if summary["sd"] is not None:
        shown += f" ± {summary['sd']:.2%}" if percent else f" ± {summary['sd']:.3f}"
    return f"{shown} ({summary['n']} seeds)"


def seed_spread_section(settings: dict[str, dict[str, Any]]) -> str:
    """Each setting's headline scores, this one run, next to their mean +- sd over seeds in a documented study of
    the same recipe on the same data (the entry's ``seed_spread``, ``hub_scripts.seed_spread``); nothing when no
    setting has one."""
    spreads = {name: entry["seed_spread"] for name, entry in settings.items() if entry.get("seed_spread")}
    if not spreads:
        return ""
    rows = []
    for key, shown_as in next(iter(spreads.values()))["labels"].items():
        if not any(
            key in settings[name] and spread["scores"].get(key, {}).get("n")
            for name, spread in spreads.items()
        ):
            continue
        percent = shown_as["percent"]
        row = [f"<td>{html.escape(shown_as['label'])}</td>"]
        for name, spread in spreads.items():
            summary = spread["scores"].get(key, {"n": 0})
            row.append(_cell(settings[name].get(key), percent=percent))
            row.append(
                f"<td>{html.escape(_mean_and_sd(summary, percent))}</td>" if summary["n"] else _cell(None)
            )
        rows.append(row)
    sources = "; ".join(
        f"{html.escape(name)}: <code>{html.escape(spread['study'])}</code>, variant {html.escape(spread['variant'])}"
        for name, spread in spreads.items()
    )
    header = ["score"] + [f"{name}: {column}" for name in spreads for column in ("this run", "over seeds")]
    return (
        "<h2>One run against the seed spread</h2><p>This report is one training seed. A documented study trained the "
        "same recipe on the same data with several seeds (mean ± standard deviation, sd with ddof 1); a score of "
        f"this run far outside that spread is worth a second look. Studies: {sources}.</p>"
        + _table(header, rows)
    )


def _writes(entry: dict[str, Any]) -> str:
    """What a setting's model writes (``settings.json`` before the text setting recorded none: glosses)."""
    return entry.get("output_mode", "gloss")


# The paper's text setting, in its words: "clusters remain, the diagonal does not" (the report sets its numbers
# beside them); the alignment scores the claims are about, from ``ALIGNMENT_SCORES``.
PAPER_TEXT_CLAIMS = {
    "diagonality": "no diagonal for text",
    "monotonicity": "no diagonal for text",
    "cluster_score": "clusters of frames remain",
    "cluster_fraction": "clusters of frames remain",
}
# eval_results.json's text scores (hub_scripts.evaluate.score), as the report names them.
TEXT_SCORES = {"bleu": "BLEU (sacreBLEU, 4-gram)", "chrf": "chrF (sacreBLEU)"}
# Decoding steps shown one row each in the text-vs-gloss table (later steps are few sentences long).
VIDEO_SHARE_STEPS = 6


def text_vs_gloss_sections(output_dir: Path, settings: dict[str, dict[str, Any]]) -> list[str]:
    """Each text setting next to the gloss setting on the same clips (same config): ``text_vs_gloss_section``."""
    parts = []
    for text_name, text_entry in settings.items():
        if _writes(text_entry) != "text":
            continue
        gloss_name = next(
            (
                name
                for name, entry in settings.items()
                if _writes(entry) == "gloss" and entry["config"] == text_entry["config"]
            ),
            None,
        )
        if gloss_name is not None:
            runs = {name: output_dir / settings[name]["dir"] for name in (gloss_name, text_name)}
            parts.append(text_vs_gloss_section(runs))
    return parts


def text_vs_gloss_section(runs: dict[str, Path]) -> str:
    """A gloss run and a text run on the same clips (name -> run folder, gloss first): recognition, memorization,
    and each of the paper's attention claims as the text number beside the gloss number, on the exactly translated
    sentences (what the paper reads) and on every prediction; then their mean cross-attention per length."""
    results = {name: _read_json(run / EVAL_RESULTS_FILE) or {} for name, run in runs.items()}
    scores = {name: _read_json(run / INTERPRETABILITY_FILE) or {} for name, run in runs.items()}
    gloss, text = runs

    def row(label: str, values: dict[str, Any], percent: bool = False, paper: str = "") -> list[str]:
        return (
            [f"<td>{html.escape(label)}</td>"]
            + [_cell(values[name], percent=percent) for name in runs]
            + [f"<td>{html.escape(paper)}</td>"]
        )

    def memorization(name: str, subset: str) -> Any:
        return scores[name].get("memorization", {}).get("wer", {}).get(subset, {}).get("wer")

    rows = [
        row(
            "test clips whose sentence occurs in training",
            {name: scores[name].get("memorization", {}).get("seen_sentence_share") for name in runs},
            percent=True,
        ),
        row("test WER (glosses / words)", {name: results[name].get("wer") for name in runs}, percent=True),
        row("WER on sentences seen in training", {name: memorization(name, "seen") for name in runs}, True),
        row(
            "WER on sentences never seen in training",
            {name: memorization(name, "unseen") for name in runs},
            True,
        ),
        *(
            row(f"test {label}", {name: results[name].get(key) for name in runs})
            for key, label in TEXT_SCORES.items()
        ),
        row(
            "exactly translated", {name: scores[name].get("sentence_accuracy") for name in runs}, percent=True
        ),
    ]
    for score_set in ("correct", "all"):
        where = SCORE_SETS[score_set]
        alignment = {name: scores[name].get(score_set, {}).get("attention_alignment", {}) for name in runs}
        contribution = {name: scores[name].get(score_set, {}).get("contribution", {}) for name in runs}
        for key, paper in PAPER_TEXT_CLAIMS.items():
            score = ALIGNMENT_SCORES[key]
            values = {name: alignment[name].get(key) for name in runs}
            rows.append(row(f"{score.label}, {where}", values, score.percent, paper))
        rows.append(
            row(
                f"{VIDEO_SHARE.label}, {where}", {name: contribution[name].get("norm_ratio") for name in runs}
            )
        )
        by_step = {name: contribution[name].get("by_step", {}).get("norm_ratio", []) for name in runs}
        for step in range(VIDEO_SHARE_STEPS):
            values = {name: by_step[name][step] if step < len(by_step[name]) else None for name in runs}
            rows.append(row(f"video share at decoding step {step + 1}, {where}", values))
    header = ["", f"{gloss} (glosses)", f"{text} (text)", "the paper, for text"]
    figures = []
    for name, run in runs.items():
        drawn = [
            run / "interpretability" / figure_file(f"mean_cross_attention_{subset}")
            for subset in ("correct", "all")
        ]
        path = next((path for path in drawn if path.is_file()), None)
        figures.append(
            _figure(path, f"{name}: {FIGURE_CAPTIONS[path.name]}")
            if path
            else f'<p class="nodata">{NO_DATA}</p>'
        )
    return (
        f"<h2>Text next to glosses: {html.escape(gloss)} and {html.escape(text)}</h2>"
        "<p>The same clips, the same model, two targets: the gloss sequence and the Greek translation. The paper "
        "finds that for text the clusters of frames remain but the diagonal does not; each of its claims is "
        "measured here on both.</p>"
        + _table(header, rows)
        + '<div style="display: flex; gap: 1em">'
        + "".join(f'<div style="flex: 1">{figure}</div>' for figure in figures)
        + "</div>"
    )


def _figure(path: Path, caption: str) -> str:
    """A PNG embedded as base64, with its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def run_sections(run_dir: Path) -> list[str]:
    """The HTML sections of one run folder: recognition, wall time, interpretability, figures."""
    results = _read_json(run_dir / EVAL_RESULTS_FILE)
    scores = _read_json(run_dir / INTERPRETABILITY_FILE)
    log = _read_json(run_dir / TRAINING_LOG_FILE)
    timings = _read_json(run_dir / "timings.json")
    if results is None:
        raise FileNotFoundError(f"{run_dir / EVAL_RESULTS_FILE} is missing: run hub_scripts.reproduce first")
    if log is not None:
        plot_training_curves(log["log_history"], run_dir / TRAINING_CURVES_FIGURE)

    parts = [memorization_section(scores or {}), recognition_section(results)]
    if timings is not None:
        rows = [
            [f"<td>{html.escape(stage)}</td>", f"<td>{seconds:.0f}</td>"]
            for stage, seconds in timings.items()
        ]
        parts.append(
            "<h2>Time</h2><p>Seconds per stage: wall clock, and the CPU time of the process (CPU), about what the "
            "stage takes alone on an idle core.</p>" + _table(["stage", "seconds"], rows)
        )
    parts.append(
        interpretability_section(scores) if scores is not None else "<h2>Interpretability</h2><p>not run</p>"
    )
    if scores is not None:
        parts.append(trust_section(scores))
    parts.append("<h2>Figures</h2>")
    for name, caption in FIGURE_CAPTIONS.items():
        path = next((p for p in (run_dir / name, run_dir / "interpretability" / name) if p.is_file()), None)
        if path is None:
            parts.append(f'<p class="nodata">{html.escape(caption)}: {NO_DATA}</p>')
            continue
        parts.append(_figure(path, caption))
    return parts


def _demote(part: str) -> str:
    """One heading level down (h2 -> h3, h3 -> h4): a run's sections nested under its setting's heading."""
    for level in (3, 2):
        part = part.replace(f"<h{level}>", f"<h{level + 1}>").replace(f"</h{level}>", f"</h{level + 1}>")
    return part


def _write_page(report: Path, sections: list[str]) -> Path:
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>SignAttention reproduction</title><style>{STYLE}</style>",
        "</head><body><h1>SignAttention reproduction</h1>",
        "<p>Pose-to-gloss transformer of <i>SignAttention: On the Interpretability of Transformer Models for Sign "
        "Language Translation</i> (arXiv 2410.14506), trained and analysed by <code>hub_scripts.reproduce</code>.</p>",
        *sections,
        "</body></html>",
    ]
    report.write_text("\n".join(parts), encoding="utf-8")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    print(f"[report] {write_report(parser.parse_args().run_dir)}")


if __name__ == "__main__":
    main()
