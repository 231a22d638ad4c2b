"""Load a saved SignAttention model with what it needs to run: the one loader of the scripts and the Space."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def looks_like_hub_id(source: str | Path) -> bool:
    """``owner/name`` that is not a local path: worth asking the Hub (or its cache) for."""
    text = str(source)
    return not Path(text).exists() and text.count("/") == 1 and not text.startswith((".", "/"))


def load_pretrained(source: str | Path) -> tuple[Any, Any, Any]:
    """Model (in eval mode), feature extractor and tokenizer of a saved folder or a Hub model id.

    The package's Auto classes are registered first, so a folder saved by it loads without a custom-code prompt.
    A local folder without ``config.json`` (or a path that is neither a folder nor a Hub id) raises
    ``FileNotFoundError`` naming it; a Hub id that cannot be fetched raises the ``OSError`` of ``from_pretrained``,
    and so, as an ``OSError`` naming the folder, does a model whose files do not load (a half-copied
    ``model.safetensors`` raises safetensors' own error type): the model is broken, not whatever it was asked to read.
    """
    from transformers import AutoFeatureExtractor, AutoModelForSeq2SeqLM, AutoTokenizer

    from modeling_signattention import register

    register()  # the Auto classes

    if not looks_like_hub_id(source) and not (Path(source) / "config.json").is_file():
        raise FileNotFoundError(
            f"No saved model in {source} (config.json missing): train one with hub_scripts.train"
        )
    try:
        return (
            AutoModelForSeq2SeqLM.from_pretrained(source).eval(),
            AutoFeatureExtractor.from_pretrained(source),
            AutoTokenizer.from_pretrained(source),
        )
    except OSError:
        raise
    except Exception as error:  # safetensors, torch and json each raise their own type for a damaged file
        raise OSError(
            f"the model in {source} does not load ({type(error).__name__}: {error}): an incomplete or damaged "
            "copy; copy or download it again"
        ) from error
