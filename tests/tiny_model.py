"""A tiny saved SignAttention model and run results, for the processing, Hub and Space tests.

The tests must not depend on a trained model being there, so they save a randomly initialised one, laid out
as ``python -m hub_scripts.reproduce`` lays out its run: ``RUN/model/`` (weights, config, code, tokenizer,
feature extractor), ``RUN/eval_results.json``, ``RUN/interpretability.json`` (scored by ``hub_scripts.interpret``
itself, so its format is the real one) a figure in ``RUN/interpretability/`` and ``RUN/report.html``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from environment import DEPRECATION_WORDS, ERROR_ON_DEPRECATION_FLAGS
from matplotlib.figure import Figure
from pose_format import Pose
from transformers import AutoTokenizer

from dataset_builder import EXAMPLE_POSE
from hub_scripts.interpret import json_safe, score_set
from modeling_signattention import (
    SignAttentionConfig,
    SignAttentionFeatureExtractor,
    SignAttentionForConditionalGeneration,
    build_gloss_tokenizer,
    save_pipeline,
)
from modeling_signattention.interpretability import translate_with_attention

GSL_TRAIN = (
    Path(__file__).resolve().parents[1] / "dataset_builder" / "data" / "gsl" / "gsl_split_SI_train.csv"
)
MAX_GLOSSES = 5

EVAL_RESULTS = {
    "data_source": "synthetic",
    "config": "si",
    "split": "test",
    "output_mode": "gloss",
    "wer": 0.61538,
    "substitutions": 5,
    "deletions": 2,
    "insertions": 1,
    "hits": 6,
    "num_sentences": 4,
    "num_reference_words": 13,
}
POSE_FILE = EXAMPLE_POSE

# Run first in the fresh process: the project is installed editable, so it would be importable from anywhere;
# this makes any import of it fail, as on a machine that only has the downloaded repository.
BLOCK_PROJECT = textwrap.dedent(
    """
    import sys

    class BlockProject:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"modeling_signattention", "dataset_builder", "hub_scripts"}:
                raise ImportError(f"{name} must not be needed to use the Hub repository")
            return None

    sys.meta_path.insert(0, BlockProject())
    try:
        import modeling_signattention
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker failed: the project is still importable")
    import torch

    torch.set_num_threads(1)
    """
)


def run_without_project(code: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh offline Python process where the project cannot be imported (``BLOCK_PROJECT``
    first); remote code is cached under ``cwd``, not in the user's cache. Fails the test with its stderr, and on a
    deprecation (a Python warning, or a library's log line) as the suite does in its own process."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(cwd / "hf_home"),
        "PYTHONPATH": "",
    }
    completed = subprocess.run(
        [sys.executable, *ERROR_ON_DEPRECATION_FLAGS, "-c", BLOCK_PROJECT + code],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    deprecations = [line for line in completed.stderr.splitlines() if DEPRECATION_WORDS.search(line)]
    assert not deprecations, "a library logged a deprecation:\n" + "\n".join(deprecations)
    return completed


def save_tiny_model(model_dir: Path) -> None:
    """Random weights, a vocabulary of real GSL glosses; decodes exactly ``MAX_GLOSSES`` glosses per clip.

    ``</s>`` gets a bias of -1e4, so untrained decoding never stops early and always shows glosses to look at.
    """
    sentences = [line.split("|")[1] for line in GSL_TRAIN.read_text(encoding="utf-8").splitlines()[:8]]
    tokenizer = build_gloss_tokenizer(sentences)
    torch.manual_seed(0)
    config = SignAttentionConfig(vocab_size=len(tokenizer), ffn_dim=64, embedder_width=32)
    model = SignAttentionForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.lm_head.bias[config.eos_token_id] = -1e4
    model.generation_config.max_length = MAX_GLOSSES + 1  # + the decoder start token
    save_pipeline(model, tokenizer, SignAttentionFeatureExtractor(), model_dir)


def interpretability_scores(model_dir: Path) -> dict:
    """``interpretability.json`` as ``hub_scripts.interpret`` writes it, for the model's translation of a real
    pose clip; no sentence counts as exactly translated (a random model), as on a badly trained run."""
    model = SignAttentionForConditionalGeneration.from_pretrained(model_dir)
    feature_extractor = SignAttentionFeatureExtractor.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    translations = translate_with_attention(
        model, feature_extractor, tokenizer, [Pose.read(POSE_FILE.read_bytes())]
    )
    scores = {
        **{key: EVAL_RESULTS[key] for key in ("data_source", "config", "split", "output_mode")},
        "num_sentences": len(translations),
        "num_correct": 0,
        "correct": score_set([], None, "exactly translated sentence"),
        "correct_with_gold_spans": score_set([], None, "exactly translated sentence with gold gloss spans"),
        "all": score_set(translations, None, "non-empty prediction"),
    }
    return json_safe(scores)


def save_tiny_run(run_dir: Path) -> Path:
    """A reproduce-style run folder around a tiny model; returns the model folder."""
    model_dir = run_dir / "model"
    save_tiny_model(model_dir)
    (run_dir / "eval_results.json").write_text(json.dumps(EVAL_RESULTS), encoding="utf-8")
    scores = interpretability_scores(model_dir)
    (run_dir / "interpretability.json").write_text(json.dumps(scores, ensure_ascii=False), encoding="utf-8")
    figure = Figure(figsize=(2, 2))  # no pyplot: no global state, no GUI backend
    figure.add_subplot().imshow([[0.0, 1.0], [1.0, 0.0]])
    (run_dir / "interpretability").mkdir()
    figure.savefig(run_dir / "interpretability" / "sample_cross_attention.png")
    (run_dir / "report.html").write_text("<html><body>report</body></html>", encoding="utf-8")
    return model_dir
