"""Assemble a Hub repository folder (model, dataset or Space), list it, and upload it.

Model (the default)::

    python -m hub_scripts.push_to_hub --model-dir outputs/reproduce/si/model --repo-id OWNER/NAME \\
        [--dataset-id OWNER/DATASET] [--private] [--revision BRANCH] [--dry-run --local-dir DIR]

  The folder holds what ``save_pipeline`` wrote (weights, config with ``auto_map`` and ``custom_pipelines``,
  the custom-code files including the pipeline's, tokenizer, ``preprocessor_config.json``), the model card as
  ``README.md`` rendered from the run's ``eval_results.json`` / ``interpretability.json`` (see
  ``hub_scripts.model_card``), those two JSON files,
  ``report.html`` and the run's PNG figures under ``figures/``. A missing required file stops it, named.

Dataset::

    python -m hub_scripts.push_to_hub --repo-type dataset --dataset-dir DIR --repo-id OWNER/DATASET [...]

  ``DIR`` must hold a dataset card ``README.md`` and at least one Parquet shard; it is uploaded as it is
  (shards can be large, so nothing is copied and ``--local-dir`` does not apply).

Space (the demo in ``hub_scripts/space``)::

    python -m hub_scripts.push_to_hub --repo-type space --repo-id OWNER/SPACE --model-id OWNER/NAME [...]

  The Space gets the app, its README/requirements/packages files, a copy of the two project packages the app
  imports (``modeling_signattention``, ``dataset_builder``: a Space installs only ``requirements.txt``), and
  the example clips (``dataset_builder/data/examples``); ``SIGNATTENTION_MODEL`` is set to ``--model-id`` as a Space variable.

``--dry-run`` assembles and lists the files with their sizes, uploads nothing and needs no token or network.
Otherwise the token comes from ``HF_TOKEN`` or ``hf auth login``; the repository is created if missing
(``--private`` only applies then), and ``--revision`` names a branch, created if missing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, constants, get_token

from dataset_builder import EXAMPLES, SPACE_EXAMPLES
from hub_scripts.model_card import find_run_results, render_model_card
from modeling_signattention.interpretability.schema import (
    EVAL_RESULTS_FILE,
    INTERPRETABILITY_FILE,
    TIMESTAMP_RELIABILITY_FILE,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SPACE_DIR = Path(__file__).resolve().parent / "space"

MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "configuration_signattention.py",
    "modeling_signattention.py",
    "cpu_kernels.py",
    "feature_extraction_signattention.py",
    "pipeline_signattention.py",
    "layouts.py",
    "attention_maps.py",
    "holistic_video.py",
    "time_stamps.py",
    "tokenizer.json",
    "tokenizer_config.json",
    "preprocessor_config.json",
)
# Written by some tokenizer versions, and by the main job (the time stamps' measured accuracy); copied when present.
OPTIONAL_MODEL_FILES = ("special_tokens_map.json", "added_tokens.json", TIMESTAMP_RELIABILITY_FILE)
SPACE_FILES = ("app.py", "README.md", "requirements.txt", "packages.txt")
SPACE_PACKAGES = ("modeling_signattention", "dataset_builder")


class MissingFilesError(FileNotFoundError):
    """A source folder lacks files the repository needs; the message names every one of them."""


@dataclass
class Assembled:
    """A folder ready to upload, and Space variables to set (Spaces only)."""

    folder: Path
    space_variables: dict[str, str]


def _require(folder: Path, names: Sequence[str], what: str) -> None:
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise MissingFilesError(f"{folder} is not a complete {what}: missing {', '.join(missing)}")


def _prepare_target(local_dir: Path) -> None:
    if local_dir.exists() and any(local_dir.iterdir()):
        raise FileExistsError(f"--local-dir {local_dir} exists and is not empty; give a new or empty folder")
    local_dir.mkdir(parents=True, exist_ok=True)


def assemble_model(model_dir: Path, repo_id: str, local_dir: Path, dataset_id: str = "gsl") -> Assembled:
    """Copy the model files, render the card from the run's results and copy the figures into ``local_dir``."""
    if not model_dir.is_dir():
        raise MissingFilesError(
            f"--model-dir {model_dir} is not a folder (python -m hub_scripts.reproduce writes one)"
        )
    _require(model_dir, MODEL_FILES, "saved SignAttention model")
    config_text = (model_dir / "config.json").read_text(encoding="utf-8")
    if '"auto_map"' not in config_text:
        raise ValueError(
            f"{model_dir / 'config.json'} has no auto_map: save the model after importing modeling_signattention, "
            "or it will not load with trust_remote_code"
        )
    results = find_run_results(model_dir)  # fails, naming eval_results.json, before anything is written
    _prepare_target(local_dir)
    for name in MODEL_FILES + OPTIONAL_MODEL_FILES:
        if (model_dir / name).is_file():
            shutil.copy2(model_dir / name, local_dir / name)
    shutil.copy2(results.eval_results_path, local_dir / EVAL_RESULTS_FILE)
    if results.interpretability_path is not None:
        shutil.copy2(results.interpretability_path, local_dir / INTERPRETABILITY_FILE)
    if results.report is not None:
        shutil.copy2(results.report, local_dir / "report.html")
    figure_paths: dict[Path, str] = {}
    if results.figures:
        (local_dir / "figures").mkdir()
        for figure in results.figures:
            figure_paths[figure] = f"figures/{figure.name}"
            shutil.copy2(figure, local_dir / figure_paths[figure])
    card = render_model_card(model_dir, repo_id, dataset_id, figure_paths=figure_paths, results=results)
    card.save(local_dir / "README.md")
    return Assembled(local_dir, {})


def assemble_dataset(dataset_dir: Path) -> Assembled:
    """Check that ``dataset_dir`` has a card and Parquet shards; it is uploaded in place (shards can be large)."""
    if not dataset_dir.is_dir():
        raise MissingFilesError(f"--dataset-dir {dataset_dir} is not a folder")
    missing = []
    if not (dataset_dir / "README.md").is_file():
        missing.append("README.md (the dataset card)")
    if not any(dataset_dir.rglob("*.parquet")):
        missing.append("Parquet shards (*.parquet)")
    if missing:
        raise MissingFilesError(f"{dataset_dir} is not a dataset folder: missing {', '.join(missing)}")
    return Assembled(dataset_dir, {})


def assemble_space(space_dir: Path, local_dir: Path, model_id: str) -> Assembled:
    """The Space folder: the app files, the project packages it imports, and the example clips."""
    _require(space_dir, SPACE_FILES, "Space folder")
    _prepare_target(local_dir)
    for name in SPACE_FILES:
        shutil.copy2(space_dir / name, local_dir / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "data")
    for package in SPACE_PACKAGES:
        shutil.copytree(REPO_ROOT / package, local_dir / package, ignore=ignore)
    shutil.copytree(EXAMPLES, local_dir / SPACE_EXAMPLES)  # the clips and their attribution
    return Assembled(local_dir, {"SIGNATTENTION_MODEL": model_id})


def list_files(folder: Path) -> list[tuple[str, int]]:
    """``(path in repo, size in bytes)`` of every file that would be uploaded, hidden files excluded."""
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            files.append((relative.as_posix(), path.stat().st_size))
    return files


def format_listing(files: list[tuple[str, int]]) -> str:
    width = max(len(name) for name, _ in files)
    lines = [f"  {name:<{width}}  {_human_size(size):>9}" for name, size in files]
    lines.append(f"  {len(files)} files, {_human_size(sum(size for _, size in files))}")
    return "\n".join(lines)


def _human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def upload(
    assembled: Assembled,
    repo_id: str,
    repo_type: str,
    private: bool = False,
    revision: str | None = None,
    api: Any | None = None,
) -> str:
    """Create the repository (and branch) if needed, upload the folder, set Space variables; return the URL."""
    if api is None:
        if constants.HF_HUB_OFFLINE:
            raise RuntimeError(
                "HF_HUB_OFFLINE is set: nothing can be uploaded (use --dry-run to only assemble)"
            )
        token = get_token()
        if token is None:
            raise RuntimeError(
                "No Hugging Face token: set HF_TOKEN or run `hf auth login` (or use --dry-run)"
            )
        api = HfApi(token=token)
    url = api.create_repo(
        repo_id,
        repo_type=repo_type,
        private=private,
        exist_ok=True,
        space_sdk="gradio" if repo_type == "space" else None,
    )
    if revision is not None:
        api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
    api.upload_folder(
        repo_id=repo_id,
        repo_type=repo_type,
        folder_path=assembled.folder,
        revision=revision,
        ignore_patterns=[".*", "**/.*"],
        commit_message=f"Upload {repo_type} with hub_scripts.push_to_hub",
    )
    for key, value in assembled.space_variables.items():
        api.add_space_variable(repo_id, key, value)
    return str(url)


def hub_repo_id(text: str) -> str:
    """An argparse type: ``OWNER/NAME`` as the Hub accepts it (``huggingface_hub``'s own check), so a dry run
    refuses what the upload would."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Hub repository id: {error}") from error
    if text.count("/") != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a Hub repository id: expected OWNER/NAME")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hub_scripts.push_to_hub",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--repo-id", type=hub_repo_id, required=True, help="OWNER/NAME of the repository to create or update"
    )
    parser.add_argument("--repo-type", choices=("model", "dataset", "space"), default="model")
    parser.add_argument("--model-dir", type=Path, help="saved model folder (model repos)")
    parser.add_argument(
        "--dataset-dir", type=Path, help="folder with README.md and Parquet shards (dataset repos)"
    )
    parser.add_argument(
        "--space-dir", type=Path, default=SPACE_DIR, help="Space sources (default: %(default)s)"
    )
    parser.add_argument(
        "--model-id", type=hub_repo_id, help="model the Space serves: a Hub repo id (space repos)"
    )
    parser.add_argument("--dataset-id", default="gsl", help="the model card's datasets entry (model repos)")
    parser.add_argument("--dry-run", action="store_true", help="assemble and list, upload nothing")
    parser.add_argument("--local-dir", type=Path, help="where to assemble (default: a temporary folder)")
    parser.add_argument("--private", action="store_true", help="create the repository private")
    parser.add_argument("--revision", help="branch to upload to (created if missing)")
    return parser


def run(args: argparse.Namespace) -> Assembled:
    """Assemble according to ``args`` (``local_dir`` must be set for model and Space repos)."""
    if args.repo_type == "model":
        if args.model_dir is None:
            raise ValueError("--model-dir is required for a model repository")
        return assemble_model(args.model_dir, args.repo_id, args.local_dir, args.dataset_id)
    if args.repo_type == "dataset":
        if args.dataset_dir is None:
            raise ValueError("--dataset-dir is required with --repo-type dataset")
        return assemble_dataset(args.dataset_dir)
    if args.model_id is None:
        raise ValueError(
            "--model-id (the Hub id of the model the Space serves) is required with --repo-type space"
        )
    return assemble_space(args.space_dir, args.local_dir, args.model_id)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="push_to_hub_") as scratch:
        if args.local_dir is None:
            args.local_dir = Path(scratch) / "repo"
        try:
            assembled = run(args)
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{args.repo_type} repository {args.repo_id} from {assembled.folder}:")
        print(format_listing(list_files(assembled.folder)))
        for key, value in assembled.space_variables.items():
            print(f"  Space variable {key}={value}")
        if args.dry_run:
            print("dry run: nothing uploaded")
            return 0
        try:
            url = upload(assembled, args.repo_id, args.repo_type, args.private, args.revision)
        except Exception as error:  # network, auth or permission: one readable line, not a traceback
            print(f"error: upload to {args.repo_id} failed: {error}", file=sys.stderr)
            return 1
        print(f"uploaded: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
