"""Sharing on the Hub: the assembled model repository loads and translates without this project, its card is
valid Hub metadata with the run's real numbers, and its usage snippet runs; dataset/Space assembly and the
upload calls (against a recording stand-in: nothing here touches the network)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from environment import unless_extra
from huggingface_hub import ModelCard
from pose_format import Pose
from tiny_model import EVAL_RESULTS, MAX_GLOSSES, run_without_project, save_tiny_run
from transformers import AutoTokenizer

from dataset_builder import EXAMPLE_POSE
from dataset_builder.timing import signing_timing
from hub_scripts import push_to_hub
from hub_scripts.model_card import render_model_card
from modeling_signattention import SignAttentionFeatureExtractor, SignAttentionForConditionalGeneration

POSE_FILE = EXAMPLE_POSE
REPO_ID = "signattention-test/tiny-gsl"

DUMP_OUTPUT = textwrap.dedent(
    """
    import numpy as np

    np.savez(
        "remote_output.npz",
        sequences=output.sequences.numpy(),
        cross_attention=np.stack([step[-1].numpy() for step in output.cross_attentions]),
    )
    """
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    save_tiny_run(run_dir)
    return run_dir


@pytest.fixture(scope="module")
def repo_dir(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dry run's folder, as the CLI assembles it."""
    local_dir = tmp_path_factory.mktemp("assembled") / "repo"
    argv = [
        "--model-dir",
        str(run_dir / "model"),
        "--repo-id",
        REPO_ID,
        "--dry-run",
        "--local-dir",
        str(local_dir),
    ]
    assert push_to_hub.main(argv) == 0
    return local_dir


def card_snippet(card_text: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", card_text, flags=re.DOTALL)
    assert len(blocks) == 1, "the card should have exactly one Python usage snippet"
    return blocks[0]


@pytest.fixture(scope="module")
def remote_output(repo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Run the card's own snippet on a copy of the repository, in a fresh offline process without the project."""
    work = tmp_path_factory.mktemp("fresh")
    downloaded = work / "downloaded"
    shutil.copytree(repo_dir, downloaded)
    shutil.copy2(POSE_FILE, work / "example.pose")
    snippet = card_snippet((repo_dir / "README.md").read_text(encoding="utf-8"))
    assert f'repo_id = "{REPO_ID}"' in snippet
    script = snippet.replace(f'"{REPO_ID}"', repr(str(downloaded))) + DUMP_OUTPUT
    completed = run_without_project(script, work, timeout=120)
    printed = completed.stdout.strip().splitlines()
    assert printed, "the snippet should print the decoded glosses"
    with np.load(work / "remote_output.npz") as output:
        # the snippet's first print is the glosses (then the time stamps)
        return {"printed": printed[0], **{name: output[name] for name in output.files}}


def test_dry_run_assembles_a_complete_repository(repo_dir: Path) -> None:
    expected = {
        *push_to_hub.MODEL_FILES,
        "README.md",
        "eval_results.json",
        "interpretability.json",
        "report.html",
    }
    assert expected <= {path.name for path in repo_dir.iterdir()}
    assert (repo_dir / "figures" / "sample_cross_attention.png").is_file()
    config = json.loads((repo_dir / "config.json").read_text())
    assert (
        config["auto_map"]["AutoModelForSeq2SeqLM"]
        == "modeling_signattention.SignAttentionForConditionalGeneration"
    )
    assert (
        "AutoFeatureExtractor" in json.loads((repo_dir / "preprocessor_config.json").read_text())["auto_map"]
    )
    assert config["custom_pipelines"]["sign-language-translation"]["impl"] == (
        "pipeline_signattention.SignLanguageTranslationPipeline"
    )


def test_dry_run_lists_files_with_sizes(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["--model-dir", str(run_dir / "model"), "--repo-id", REPO_ID, "--dry-run"]
    assert push_to_hub.main(argv) == 0
    listing = capsys.readouterr().out
    size = (run_dir / "model" / "model.safetensors").stat().st_size
    assert re.search(rf"model\.safetensors\s+{size / 1024:.1f} KB", listing)
    assert "figures/sample_cross_attention.png" in listing
    assert "dry run: nothing uploaded" in listing


def test_fresh_process_translates_exactly_like_the_local_model(run_dir: Path, remote_output: dict) -> None:
    torch.set_num_threads(1)  # as in the fresh process: same reduction order, bit-identical results
    model_dir = run_dir / "model"
    model = SignAttentionForConditionalGeneration.from_pretrained(model_dir).eval()
    feature_extractor = SignAttentionFeatureExtractor.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    inputs = feature_extractor(Pose.read(POSE_FILE.read_bytes()))
    with torch.no_grad():
        output = model.generate(**inputs, output_attentions=True, return_dict_in_generate=True)
    np.testing.assert_array_equal(remote_output["sequences"], output.sequences.numpy())
    assert output.sequences.shape[1] == MAX_GLOSSES + 1
    local_cross = np.stack([step[-1].numpy() for step in output.cross_attentions])
    np.testing.assert_array_equal(remote_output["cross_attention"], local_cross)
    # the pipeline's glosses, printed by the snippet, are the same decoding (an <unk> gloss kept)
    assert remote_output["printed"] == " ".join(
        tokenizer.convert_ids_to_tokens(output.sequences[0, 1:].tolist())
    )


def test_card_metadata_parses_and_matches_the_results(repo_dir: Path) -> None:
    card = ModelCard.load(repo_dir / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "transformers"
    assert data["pipeline_tag"] == "translation"
    assert data["license"] == "mit"
    assert data["language"] == ["gss", "el"]
    assert {"sign-language-translation", "gsl", "pose", "interpretability", "custom_code"} <= set(
        data["tags"]
    )
    assert data["metrics"] == ["wer"]
    assert data["datasets"]
    (result,) = card.data.eval_results
    assert result.metric_type == "wer"
    assert result.metric_value == pytest.approx(EVAL_RESULTS["wer"], abs=1e-4)
    assert (result.dataset_config, result.dataset_split) == ("si", "test")
    assert "synthetic" in result.dataset_name
    body = card.text
    assert f"{100 * EVAL_RESULTS['wer']:.2f} %" in body
    assert f"{EVAL_RESULTS['num_sentences']} sentences" in body
    assert "arXiv:2410.14506" in body and "On the Interpretability of Transformer Models" in body
    scores = json.loads((repo_dir / "interpretability.json").read_text(encoding="utf-8"))
    diagonality = scores["all"]["attention_alignment"]["diagonality"]
    assert re.search(
        rf"\| diagonality \(Spearman, 1 = diagonal\) \| no data \| no data \| {diagonality:.3f} \|", body
    )
    assert "One sentence: cross-attention and gold gloss spans" in body
    assert "[report.html](report.html)" in body
    for link in re.findall(r"\]\(([^)]+)\)", body):
        if link.startswith("http"):
            continue
        assert (repo_dir / link).is_file(), f"the card links {link}, which is not in the repository"
    assert "{{" not in body and "}}" not in body


def test_card_says_how_far_the_best_map_can_be_trusted(run_dir: Path, tmp_path: Path) -> None:
    measured = tmp_path / "run"
    shutil.copytree(run_dir, measured)
    scores = json.loads((measured / "interpretability.json").read_text(encoding="utf-8"))
    assert (
        "Can the attention be trusted?" not in render_model_card(measured / "model", REPO_ID).text
    )  # no gold
    scores |= {
        "memorization": {"seen_sentence_share": 0.001},
        "num_gold_glosses": 3776,
        "attribution": {
            "attention": {"gold_peak_accuracy": 0.791},
            "value_norm_head1": {"gold_peak_accuracy": 0.824},
        },
        "baselines": {
            "diagonal_prior": {"gold_peak_accuracy": 0.67},
            "uniform": {"gold_peak_accuracy": 0.156},
        },
        "best_method": "value_norm_head1",
        "best_method_chosen_on": "validation",
        "timestamp_method": "rollout",
    }
    (measured / "interpretability.json").write_text(json.dumps(scores), encoding="utf-8")
    body = " ".join(render_model_card(measured / "model", REPO_ID).text.split())
    assert (
        "scored on the 3776 test glosses whose true frames are known (gsl timing: synthetic signs of 0.5-1.1 s "
        "(median 0.8 s), about 4x as long as real conversational signs; at conversational speed the sentence-disjoint "
        "maps fell below the diagonal prior). The best, `value_norm_head1` (picked on the "
        "validation split), peaks inside the gloss's true frames for **82.4%** of them; a diagonal prior that never "
        "looks at the model scores **67.0%**, uniform attention 15.6%. 0.1% of the test clips"
    ) in body
    assert "Time stamps (`return_timestamps=True`) use `rollout`" in body
    # the gold spans of a conversational corpus: the card says so next to the numbers
    scores["timing"] = signing_timing("conversational").record()
    (measured / "interpretability.json").write_text(json.dumps(scores), encoding="utf-8")
    body = " ".join(render_model_card(measured / "model", REPO_ID).text.split())
    assert (
        "whose true frames are known (conversational timing: synthetic signs of 60-480 ms (median 180 ms)"
        in body
    )
    scores["best_method_chosen_on"] = "the scored clips themselves (no held-out split to pick on)"
    (measured / "interpretability.json").write_text(json.dumps(scores), encoding="utf-8")
    assert "(picked on the test clips themselves, which flatters it)" in " ".join(
        render_model_card(measured / "model", REPO_ID).text.split()
    )


def test_rendering_without_eval_results_fails_clearly(run_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(run_dir / "model", model_dir)
    with pytest.raises(FileNotFoundError, match="eval_results.json"):
        render_model_card(model_dir, REPO_ID)
    assert push_to_hub.main(["--model-dir", str(model_dir), "--repo-id", REPO_ID, "--dry-run"]) == 1


def test_missing_model_files_are_named(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(run_dir / "model", model_dir)
    shutil.copy2(run_dir / "eval_results.json", tmp_path / "eval_results.json")
    (model_dir / "model.safetensors").unlink()
    (model_dir / "tokenizer.json").unlink()
    assert push_to_hub.main(["--model-dir", str(model_dir), "--repo-id", REPO_ID, "--dry-run"]) == 1
    error = capsys.readouterr().err
    assert "missing model.safetensors, tokenizer.json" in error


def test_dataset_folder_needs_a_card_and_parquet_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    argv = ["--repo-type", "dataset", "--dataset-dir", str(tmp_path), "--repo-id", "me/poses", "--dry-run"]
    assert push_to_hub.main(argv) == 1
    assert "missing README.md (the dataset card), Parquet shards (*.parquet)" in capsys.readouterr().err
    (tmp_path / "README.md").write_text("---\nlicense: mit\n---\n# Poses\n", encoding="utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train-00000-of-00001.parquet").write_bytes(b"PAR1")
    assert push_to_hub.main(argv) == 0
    listing = capsys.readouterr().out
    assert "data/train-00000-of-00001.parquet" in listing and "2 files" in listing


class RecordingApi:
    """Stands in for ``HfApi``: records the calls instead of making them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return f"https://huggingface.co/{args[0]}" if name == "create_repo" else None

        return record


def test_upload_creates_the_repo_and_branch_then_uploads_the_folder(repo_dir: Path) -> None:
    api = RecordingApi()
    assembled = push_to_hub.Assembled(repo_dir, {})
    url = push_to_hub.upload(assembled, REPO_ID, "model", private=True, revision="v1", api=api)
    assert url == f"https://huggingface.co/{REPO_ID}"
    assert [name for name, _, _ in api.calls] == ["create_repo", "create_branch", "upload_folder"]
    create, branch, upload = (kwargs for _, _, kwargs in api.calls)
    assert create["private"] is True and create["exist_ok"] is True and create["repo_type"] == "model"
    assert branch == {"branch": "v1", "repo_type": "model", "exist_ok": True}
    assert upload["folder_path"] == repo_dir and upload["revision"] == "v1" and upload["repo_id"] == REPO_ID


def test_upload_refuses_to_run_offline(repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push_to_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(RuntimeError, match="HF_HUB_OFFLINE"):
        push_to_hub.upload(push_to_hub.Assembled(repo_dir, {}), REPO_ID, "model")


@unless_extra("space", "gradio", "mediapipe", "cv2")  # the bundled app is imported in a fresh process
def test_space_folder_bundles_the_app_its_packages_and_the_example(tmp_path: Path, capsys) -> None:
    space = tmp_path / "space"
    argv = [
        "--repo-type",
        "space",
        "--repo-id",
        "me/demo",
        "--model-id",
        REPO_ID,
        "--dry-run",
        "--local-dir",
        str(space),
    ]
    assert push_to_hub.main(argv) == 0
    assert f"Space variable SIGNATTENTION_MODEL={REPO_ID}" in capsys.readouterr().out
    front_matter = yaml.safe_load((space / "README.md").read_text(encoding="utf-8").split("---")[1])
    assert (front_matter["sdk"], front_matter["app_file"]) == ("gradio", "app.py")
    assert not list(space.rglob("__pycache__"))
    # In the Space the app must use the bundled packages and example, not an installed project.
    probe = (
        "import app, dataset_builder.extract, modeling_signattention.metrics; "
        "print(app.IN_SPACE_LAYOUT, app.EXAMPLE_CLIP.is_file(), modeling_signattention.__file__)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=space,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == ["True", "True", str(space / "modeling_signattention" / "__init__.py")]


def test_installed_package_renders_the_model_card(run_dir: Path, tmp_path: Path) -> None:
    """A non-editable install (the wheel setup.cfg builds) ships the card template: the card renders from it with
    the repository out of reach, and says what the card rendered here says."""
    repo = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"  # a clean copy: building in the checkout would leave build/ behind
    ignored = (
        ".git",
        ".gl",
        ".venv",
        ".*_cache",
        "outputs",
        "runs",
        "build",
        "dist",
        "__pycache__",
        "*.egg-info",
    )
    shutil.copytree(repo, source, ignore=shutil.ignore_patterns(*ignored))
    wheel_dir, target = tmp_path / "wheel", tmp_path / "installed"
    run_python("-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", wheel_dir, source)
    shutil.rmtree(source)
    (wheel,) = wheel_dir.glob("*.whl")
    run_python("-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel)
    render = (
        "import sys; from hub_scripts.model_card import TEMPLATE_PATH, render_model_card; "
        f"assert TEMPLATE_PATH.is_relative_to({str(target)!r}), TEMPLATE_PATH; "
        f"sys.stdout.write(render_model_card({str(run_dir / 'model')!r}, {REPO_ID!r}).content)"
    )
    installed_only = {**os.environ, "PYTHONPATH": str(target)}  # the installed copy, not the checkout
    card = run_python("-c", render, cwd=tmp_path, env=installed_only)
    assert card == render_model_card(run_dir / "model", REPO_ID).content


def run_python(*arguments: str | Path, **options: Any) -> str:
    """Run this Python with ``arguments``; its stdout, or a failure showing the end of its stderr."""
    completed = subprocess.run(
        [sys.executable, *map(str, arguments)], capture_output=True, text=True, timeout=300, **options
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout
