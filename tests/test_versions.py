"""The package on the versions its users have: the cache name of the installed transformers, deprecations caught by
the suite, the declared floors, and a core that works without its extras.

CI runs this file twice: with the newest releases (transformers >= 5.25, which renamed ``past_key_values`` to
``cache``) and at the floors setup.cfg declares (transformers 5.4, which knows only ``past_key_values``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import torch
import transformers
from packaging.version import Version
from tiny_model import POSE_FILE, save_tiny_model

from modeling_signattention import SignAttentionConfig, SignAttentionForConditionalGeneration
from modeling_signattention.modeling_signattention import CACHE_NAME

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
RENAMED_IN = Version("5.25.0")  # transformers' release notes: past_key_values -> cache

pytest_plugins = ["pytester"]


def tiny_model() -> SignAttentionForConditionalGeneration:
    torch.manual_seed(0)
    config = SignAttentionConfig(vocab_size=9, ffn_dim=16, embedder_width=8)
    return SignAttentionForConditionalGeneration(config).eval()


def test_the_model_speaks_the_installed_transformers_cache_name() -> None:
    installed = Version(transformers.__version__)
    assert CACHE_NAME == ("cache" if installed >= RENAMED_IN else "past_key_values")


def test_either_cache_name_decodes_alike_and_only_the_renamed_one_warns() -> None:
    """One decoding step on a cache filled by the first: the same logits under both names; the old name warns
    exactly where the installed transformers has renamed it (as transformers' own models do)."""
    model = tiny_model()
    features = torch.randn(2, 7, model.config.num_features)
    steps = {}
    for name in ("cache", "past_key_values"):
        first = model(input_features=features, decoder_input_ids=torch.full((2, 1), 2), use_cache=True)
        cache = getattr(first, CACHE_NAME)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            output = model(input_features=features, decoder_input_ids=torch.full((2, 1), 5), **{name: cache})
        steps[name] = output.logits
        renamed = name == "past_key_values" and CACHE_NAME == "cache"
        assert [str(w.message) for w in caught if w.category is FutureWarning] == (
            ["past_key_values is deprecated since transformers 5.25 (removed in 5.40): pass cache"]
            if renamed
            else []
        )
    torch.testing.assert_close(steps["cache"], steps["past_key_values"], rtol=0, atol=0)
    # ... and both read the cache: the step equals the second position of the two-token sequence, no cache
    whole = model(input_features=features, decoder_input_ids=torch.tensor([[2, 5], [2, 5]]), use_cache=False)
    torch.testing.assert_close(steps["cache"][:, 0], whole.logits[:, 1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="Pass the cache once"):
        model(
            input_features=features,
            decoder_input_ids=torch.full((2, 1), 5),
            cache=cache,
            past_key_values=cache,
        )


def test_generate_beam_search_with_attentions_on_the_installed_version() -> None:
    """generate() drives the cache under the installed name: greedy and beam give the no-cache loop's tokens."""
    model = tiny_model()
    features = torch.randn(2, 9, model.config.num_features)
    with torch.no_grad():
        for num_beams in (1, 3):
            cached = model.generate(
                input_features=features,
                num_beams=num_beams,
                max_length=6,
                output_attentions=True,
                return_dict_in_generate=True,
            )
            uncached = model.generate(
                input_features=features, num_beams=num_beams, max_length=6, use_cache=False
            )
            torch.testing.assert_close(cached.sequences, uncached)
            assert len(cached.cross_attentions) == cached.sequences.shape[1] - 1


DEPRECATED_CALL = textwrap.dedent(
    """
    import logging
    import warnings


    def test_a_logged_deprecation():
        logging.getLogger("transformers.generation.utils").warning("`foo` is deprecated. Use `bar` instead.")


    def test_a_future_warning():
        warnings.warn("`foo` will be removed in v6", FutureWarning)


    def test_a_plain_warning_passes():
        logging.getLogger("transformers").warning("something unrelated")
        warnings.warn("a user warning", UserWarning)
    """
)


def test_a_deprecation_fails_the_test_that_triggers_it(pytester: pytest.Pytester) -> None:
    """The suite's own settings (conftest.py, pyproject.toml's filterwarnings) on three tests with known answers."""
    for name in ("conftest.py", "environment.py"):
        pytester.makepyfile(**{name.removesuffix(".py"): (TESTS / name).read_text(encoding="utf-8")})
    pytester.makepyprojecttoml((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pytester.makepyfile(test_deprecated=DEPRECATED_CALL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["a library logged a deprecation during call:", "*: `foo` is deprecated*"])


def test_ci_floors_are_the_ones_setup_cfg_declares() -> None:
    printed = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "floors.py")], capture_output=True, text=True, check=True
    ).stdout.split()
    pins = dict(line.split("==") for line in printed)
    assert set(pins) == {"torch", "transformers", "huggingface_hub", "datasets", "accelerate", "evaluate"}
    setup_cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    for name, version in pins.items():
        assert f"    {name}>={version}" in setup_cfg


LIGHT_CORE = textwrap.dedent(
    """
    import sys

    sys.modules["mediapipe"] = None  # as without the 'extract' extra (a no-op where it is not installed)
    sys.modules["cv2"] = None
    sys.modules["gradio"] = None
    from transformers import pipeline

    from dataset_builder import EXAMPLE_VIDEO
    from dataset_builder.extract import create_holistic, load_pose_file
    from modeling_signattention import SignLanguageTranslationPipeline

    translate = pipeline(
        "sign-language-translation", model=sys.argv[1], pipeline_class=SignLanguageTranslationPipeline
    )
    print("pose:", translate(sys.argv[2])["glosses"])
    print("pose file read:", load_pose_file(sys.argv[2]).landmarks.shape)
    for needs_extract in (lambda: translate(str(EXAMPLE_VIDEO)), create_holistic):
        try:
            needs_extract()
        except ImportError as error:
            print("video:", error)
    try:
        import hub_scripts.space.app
    except ImportError as error:
        print("space:", error)
    """
)


def test_the_core_translates_poses_without_the_extras_and_names_them_for_video(tmp_path: Path) -> None:
    """What `pip install signattention` gives: MediaPipe, OpenCV and Gradio unimportable in a fresh process."""
    save_tiny_model(tmp_path / "model")
    completed = subprocess.run(
        [sys.executable, "-c", LIGHT_CORE, str(tmp_path / "model"), str(POSE_FILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("pose: ") and len(lines[0].split()) > 1
    assert lines[1].startswith("pose file read: (97,")
    video_messages = [line for line in lines if line.startswith("video: ")]
    assert len(video_messages) == 2
    assert all("pip install 'signattention[extract]'" in line for line in video_messages)
    assert any(line.startswith("space: ") and "pip install 'signattention[space]'" in line for line in lines)


def test_transformers_export_helper_splits_generation_into_prefill_and_decode() -> None:
    """transformers' own export path (``decompose_prefill_decode``) calls ``forward`` with what ``generate()`` passes,
    ``return_dict`` included; a ``forward`` that did not name it was rejected there."""
    exporters = pytest.importorskip(
        "transformers.exporters.utils", reason="this transformers has no export helpers"
    )
    model = tiny_model()
    inputs = {
        "input_features": torch.randn(2, 7, model.config.num_features),
        "attention_mask": torch.ones(2, 7, dtype=torch.long),
    }
    parts = exporters.decompose_prefill_decode(model, inputs)
    assert set(parts) == {"prefill", "decode"}
    with torch.no_grad():
        for module, captured in parts.values():
            assert captured["return_dict"] is True and CACHE_NAME in captured
            assert module(**captured).logits.shape == (2, 1, model.config.vocab_size)
